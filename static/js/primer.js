// A failed htmx request (an error answer, no network, a timeout) must not look like nothing happened: show
// a message with a "Try again" button that sends the same request once more. A rating carries its
// idempotency key in the form, so a retry that reaches the server twice still counts once.
(function () {
  "use strict";
  let failed = null;

  function notice() {
    return document.getElementById("request-failed");
  }

  function show(detail, kind) {
    const box = notice();
    const config = detail.requestConfig;
    if (!box || !config) {
      return;
    }
    failed = {
      verb: config.verb,
      path: config.path,
      source: detail.elt,
      target: detail.target,
      values: config.formData ? Object.fromEntries(config.formData) : {},
    };
    box.querySelector("[data-message]").textContent = box.dataset[kind];
    box.hidden = false;
  }

  function hide() {
    const box = notice();
    if (box) {
      box.hidden = true;
    }
    failed = null;
  }

  document.addEventListener("htmx:responseError", function (event) { show(event.detail, "server"); });
  document.addEventListener("htmx:sendError", function (event) { show(event.detail, "network"); });
  document.addEventListener("htmx:timeout", function (event) { show(event.detail, "network"); });
  document.addEventListener("htmx:afterRequest", function (event) {
    if (event.detail.successful && failed) {
      hide();
    }
  });
  document.addEventListener("click", function (event) {
    if (!event.target.closest("#request-failed [data-retry]") || !failed) {
      return;
    }
    const request = failed;
    notice().querySelector("[data-message]").textContent = notice().dataset.retrying;
    const source = request.source && request.source.isConnected ? request.source : document.body;
    htmx.ajax(request.verb.toUpperCase(), request.path, {
      source: source,
      target: request.target && request.target.isConnected ? request.target : undefined,
      values: request.values,
    });
  });
})();

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

  // A plain form whose work takes a while (an upload, creating a course's cards) shows its progress indicator
  // on submit, with the same class htmx sets on its own requests; the button is disabled against a second send.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches("form[data-busy]") || form.hasAttribute("hx-post")) return;
    form.classList.add("htmx-request");
    // Disabled after the browser has collected the form, so the button's own name and value are still sent.
    setTimeout(function () { form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; }); }, 0);
  });
  // Back to a page kept in the browser's cache: the form is idle again.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-busy].htmx-request").forEach(function (form) {
      form.classList.remove("htmx-request");
      form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = false; });
    });
  });

  // A tutor question box empties once its question was accepted, not when the request failed.
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    if (event.detail.successful && form && form.matches && form.matches("form[data-clear-on-success]") && form.question) {
      form.question.value = "";
    }
  });
})();
