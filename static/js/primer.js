// Primer's page behaviour, kept in one static file so the Content Security Policy needs no inline script or eval.
(function () {
  "use strict";

  // Today: 1–4 pick an option or a rating; Space/Enter keep the suggested rating; U undoes. Typing in a field is left alone.
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || event.target.matches("input, textarea")) return;
    var session = document.getElementById("session");
    if (!session) return;
    var target = null;
    if (/^[1-4]$/.test(event.key)) target = session.querySelector('[data-key="' + event.key + '"]');
    else if ((event.key === " " || event.key === "Enter") && !event.target.matches("button, a")) target = session.querySelector("[data-proposed]");
    else if (event.key === "u" || event.key === "U") target = session.querySelector("[data-undo]");
    if (target && !target.disabled) { event.preventDefault(); target.click(); }
  });

  document.addEventListener("click", function (event) {
    // A link that opens a <details> panel (the lesson's "Ask the tutor about this").
    var opener = event.target.closest("[data-opens]");
    if (opener) {
      var panel = document.getElementById(opener.getAttribute("data-opens"));
      if (panel) panel.open = true;
    }
    // An invite link is selected whole on click, ready to copy.
    if (event.target.matches("input.invite-link")) event.target.select();
  });

  // A tutor question box empties once its question was accepted, not when the request failed.
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    if (event.detail.successful && form && form.matches && form.matches("form[data-clear-on-success]") && form.question) {
      form.question.value = "";
    }
  });
})();
