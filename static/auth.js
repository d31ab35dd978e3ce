/* Store Monitor page: asking for an API key when the service answers 401 (SPEC 8), saying
 * clearly when a key is refused (401) or not allowed (403), and forgetting the key. */
(function () {
  "use strict";

  var SM = window.SM = window.SM || {};
  var u = SM.util, api = SM.api;
  var els = {};

  function renderKeyState() {
    var hasKey = !!api.key();
    u.show(els.keyState, hasKey);
  }

  function ask(message) {
    u.setText(els.authMessage, message);
    if (els.auth.hidden) {
      u.show(els.auth, true);
      els.apiKey.focus(); // once, when it appears: the page's periodic refreshes must not steal focus
    }
  }

  function onProblem(result, url) {
    var detail = result.body && result.body.error ? result.body.error : "";
    if (result.status === 401) {
      ask(api.key()
        ? "The service refused this API key (HTTP 401" + (detail ? ": " + detail : "") + "). Enter another key."
        : "This service requires an API key (HTTP 401). Enter your key to continue.");
    } else {
      u.setText(els.forbiddenText, "Not allowed with this API key (HTTP 403" + (detail ? ": " + detail : "") + ") — " +
        url.split("?")[0]);
      u.show(els.forbidden, true);
    }
  }

  function onSubmit(event) {
    event.preventDefault();
    var key = els.apiKey.value.trim();
    if (!key) { u.setText(els.authMessage, "Enter a key, as printed by `flask --app app api-key create`."); els.apiKey.focus(); return; }
    api.setKey(key);
    els.apiKey.value = "";
    u.show(els.auth, false);
    u.show(els.forbidden, false);
    renderKeyState();
    SM.app.refresh();
    if (SM.live) { SM.live.connect(); }  // the event stream again, with the key
  }

  function forget() {
    api.forgetKey();
    u.show(els.forbidden, false);
    renderKeyState();
    SM.app.refresh();
    if (SM.live) { SM.live.connect(); }
  }

  function init() {
    ["auth", "auth-form", "auth-message", "api-key", "key-state", "forget-key", "forbidden", "forbidden-text",
      "forbidden-close"].forEach(function (id) {
      els[id.replace(/-([a-z])/g, function (_, c) { return c.toUpperCase(); })] = u.$(id);
    });
    els.authForm.addEventListener("submit", onSubmit);
    els.forgetKey.addEventListener("click", forget);
    els.forbiddenClose.addEventListener("click", function () { u.show(els.forbidden, false); });
    api.onAuthProblem(onProblem);
    renderKeyState();
  }

  SM.auth = { init: init };
})();
