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
