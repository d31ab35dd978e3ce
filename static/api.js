/* Store Monitor page: talking to the API, and the API key of SPEC 8.
 * Every request of the page goes through SM.request, which adds `Authorization: Bearer <key>`
 * when the operator gave a key (kept in this tab's sessionStorage only, never in localStorage or
 * a cookie), and tells the page about 401 (ask for a key) and 403 (the key may not do this). */
(function () {
  "use strict";

  var STORAGE = "store-monitor.api-key";
  var SM = window.SM = window.SM || {};
  var authListeners = [];

  function getKey() {
    try { return sessionStorage.getItem(STORAGE) || ""; } catch (e) { return ""; }
  }

  function setKey(key) {
    try { sessionStorage.setItem(STORAGE, key); } catch (e) { /* storage off: the key lasts this page */ }
    memoryKey = key;
  }

  function forgetKey() {
    try { sessionStorage.removeItem(STORAGE); } catch (e) { /* ignore */ }
    memoryKey = "";
  }

  var memoryKey = getKey();

  function currentKey() { return getKey() || memoryKey; }

  function headersWith(extra) {
    var headers = Object.assign({ "Accept": "application/json" }, extra || {});
    var key = currentKey();
    if (key) { headers.Authorization = "Bearer " + key; }
    return headers;
  }

  /* fetch; resolves {ok, status, body (parsed JSON or null), text, contentType};
   * rejects only on network failure. 401 and 403 are also announced to the auth listeners. */
  function request(url, options) {
    options = options || {};
    var init = Object.assign({ cache: "no-store" }, options, { headers: headersWith(options.headers) });
    return fetch(url, init).then(function (response) {
      return response.text().then(function (text) {
        var contentType = response.headers.get("Content-Type") || "";
        var body = null;
        if (contentType.indexOf("json") !== -1 || /^\s*[{[]/.test(text)) {
          try { body = text ? JSON.parse(text) : null; } catch (e) { body = null; }
        }
        var result = { ok: response.ok, status: response.status, body: body, text: text, contentType: contentType };
        if (response.status === 401 || response.status === 403) {
          authListeners.forEach(function (listener) { listener(result, url); });
        }
        return result;
      });
    });
  }

  function sendJson(method, url, payload) {
    return request(url, {
      method: method,
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(payload)
    });
  }

  function message(result) {
    if (result.body && typeof result.body.error === "string") { return result.body.error; }
    if (result.status === 401) { return "an API key is required (HTTP 401)"; }
    if (result.status === 403) { return "this API key is not allowed to do that (HTTP 403)"; }
    return "the server answered HTTP " + result.status;
  }

  /* Download a URL with the key's header (a plain link cannot send one): fetch it, then save
   * the body through a temporary blob URL under `filename`. */
  function downloadWithKey(url, filename) {
    return request(url, { headers: { "Accept": "text/csv, application/json" } }).then(function (result) {
      if (!result.ok || result.contentType.indexOf("text/csv") === -1) {
        throw new Error(message(result));
      }
      var blobUrl = URL.createObjectURL(new Blob([result.text], { type: "text/csv" }));
      var a = document.createElement("a");
      a.href = blobUrl;
      a.download = filename;
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(function () { URL.revokeObjectURL(blobUrl); }, 10000);
    });
  }

  SM.api = {
    request: request,
    getJson: function (url) { return request(url); },
    sendJson: sendJson,
    message: message,
    downloadWithKey: downloadWithKey,
    key: currentKey,
    setKey: setKey,
    forgetKey: forgetKey,
    onAuthProblem: function (listener) { authListeners.push(listener); }
  };

  /* helpers shared by the page's scripts */
  SM.util = {
    $: function (id) { return document.getElementById(id); },
    show: function (el, visible) { el.hidden = !visible; },
    setText: function (el, text) { el.textContent = text == null ? "" : String(text); },
    el: function (tag, className, text) {
      var node = document.createElement(tag);
      if (className) { node.className = className; }
      if (text != null) { node.textContent = String(text); }
      return node;
    },
    /* a table row saying that the table is empty */
    /* A table cell holding one small button (a row's remove/delete action). */
    buttonCell: function (label, ariaLabel, onClick) {
      var cell = SM.util.el("td");
      cell.dataset.label = "";
      var button = SM.util.el("button", "secondary small", label);
      button.type = "button";
      button.setAttribute("aria-label", ariaLabel);
      button.addEventListener("click", function () { onClick(button); });
      cell.appendChild(button);
      return cell;
    },
    placeholderRow: function (text, columns) {
      var row = SM.util.el("tr", "placeholder");
      var cell = SM.util.el("td", "muted", text);
      cell.colSpan = columns;
      row.appendChild(cell);
      return row;
    },
    /* "2023-01-23T12:00" or "…:05" typed in a datetime-local box, read as UTC -> "…:00Z";
     * "" -> null; unreadable -> undefined */
    inputToIso: function (value) {
      if (!value) { return null; }
      var m = /^(\d{4,}-\d{2}-\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?$/.exec(value);
      if (!m) { return undefined; }
      return m[1] + "T" + m[2] + ":" + m[3] + ":" + (m[4] || "00") + "Z";
    },
    /* "2023-01-23T15:00:00Z" -> "2023-01-23T15:00:00" for a datetime-local box (read as UTC) */
    isoToInput: function (iso) {
      var m = /^(\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})/.exec(iso || "");
      return m ? m[1] : "";
    },
    /* "2023-01-23T15:00:00Z" -> "2023-01-23 15:00 UTC" */
    utcText: function (iso) {
      var m = /^(\d{4,}-\d{2}-\d{2})T(\d{2}:\d{2})(:\d{2})?/.exec(iso || "");
      if (!m) { return iso || "—"; }
      return m[1] + " " + m[2] + (m[3] && m[3] !== ":00" ? m[3] : "") + " UTC";
    },
    /* any ISO-8601 instant (with an offset, or naive = UTC as the database keeps them) -> UTC text */
    instantText: function (iso) {
      if (!iso) { return "—"; }
      var t = Date.parse(/([zZ]|[+-]\d{2}:?\d{2})$/.test(iso) ? iso : iso + "Z");
      return isNaN(t) ? iso : SM.util.utcText(new Date(t).toISOString());
    },
    hours: function (h) {
      return h == null || isNaN(h) ? "—" : (Math.round(Number(h) * 100) / 100).toLocaleString(undefined, { maximumFractionDigits: 2 }) + " h";
    }
  };
})();
