/* Store Monitor page: the live board of SPEC 10 — stores down or stale now, since when, kept up
 * to date without a reload. The list comes from GET /stores/status; GET /events (Server-Sent
 * Events) says when a store changes, and the list is read again then. Without an API key the
 * browser's EventSource follows the stream (it reconnects by itself, with Last-Event-ID); with a
 * key (EventSource cannot send headers) the same stream is read through fetch with the key. */
(function () {
  "use strict";

  var SM = window.SM = window.SM || {};
  var u = SM.util, api = SM.api;
  var els = {};
  var source = null, reader = null, lastEventId = "", refreshTimer = null, retryTimer = null;
  var REFRESH_EVERY_MS = 60000, RETRY_MS = 2000;

  function setState(text, live) {
    u.setText(els.liveState, text);
    els.liveState.classList.toggle("live-on", !!live);
  }

  function render(answer) {
    var stores = (answer && answer.stores) || [];
    var body = document.createDocumentFragment();
    stores.forEach(function (s) {
      var tr = u.el("tr");
      tr.dataset.storeId = s.store_id;
      tr.dataset.status = s.status;
      var id = u.el("td", "mono", s.store_id);
      id.dataset.label = "Store";
      var status = u.el("td");
      status.dataset.label = "Status";
      status.appendChild(u.el("span", "badge " + s.status, s.status));
      var since = u.el("td", "mono nowrap", s.since ? u.instantText(s.since) : "—");
      since.dataset.label = "Since";
      var last = u.el("td", "mono nowrap", s.last_poll ? u.instantText(s.last_poll) : "—");
      last.dataset.label = "Last poll";
      [id, status, since, last].forEach(function (td) { tr.appendChild(td); });
      body.appendChild(tr);
    });
    if (!stores.length) { body.appendChild(u.placeholderRow("No store is down or stale.", 4)); }
    els.liveRows.replaceChildren(body);
    var count = answer ? answer.count : 0;
    u.setText(els.liveCount, (count === 1 ? "1 store down or stale" :
      count + " stores down or stale" + (count > stores.length ? " (" + stores.length + " shown)" : "")) + ".");
  }

  function refresh() {
    return api.getJson("/stores/status?limit=200").then(function (result) {
      if (result.ok) {
        render(result.body);
        u.show(els.liveError, false);
      } else if (result.status !== 401 && result.status !== 403) {
        u.setText(els.liveError, api.message(result));
        u.show(els.liveError, true);
      }
    }).catch(function () { /* the service is away: the next event or tick tries again */ });
  }

  /* Many transitions at once (a load, a whole region closing) make one read of the list. */
  function refreshSoon() {
    if (refreshTimer) { return; }
    refreshTimer = setTimeout(function () { refreshTimer = null; refresh(); }, 250);
  }

  function onTransition(event) {
    if (event.lastEventId) { lastEventId = event.lastEventId; }
    u.setText(els.liveLast, event.type + " " + (function () {
      try { return JSON.parse(event.data).store_id; } catch (e) { return ""; }
    }()));
    refreshSoon();
  }

  var EVENTS = ["store.down", "store.up", "store.stale", "store.closed", "store.unknown"];

  function openEventSource() {
    source = new EventSource("/events");
    source.onopen = function () { setState("Live", true); refresh(); };
    source.onerror = function () { setState("Reconnecting…", false); };
    EVENTS.forEach(function (name) { source.addEventListener(name, onTransition); });
  }

  /* The SSE format, read from a fetch body: frames end with a blank line. */
  function parseFrames(buffer, emit) {
    var frames = buffer.split("\n\n");
    var rest = frames.pop();
    frames.forEach(function (frame) {
      var event = { type: "message", data: "", lastEventId: "" };
      frame.split("\n").forEach(function (line) {
        if (line.indexOf("event: ") === 0) { event.type = line.slice(7); }
        else if (line.indexOf("data: ") === 0) { event.data += line.slice(6); }
        else if (line.indexOf("id: ") === 0) { event.lastEventId = line.slice(4); }
      });
      if (event.data) { emit(event); }
    });
    return rest;
  }

  function openFetchStream() {
    var headers = { "Accept": "text/event-stream", "Authorization": "Bearer " + api.key() };
    if (lastEventId) { headers["Last-Event-ID"] = lastEventId; }
    var controller = new AbortController();
    reader = controller;
    fetch("/events", { headers: headers, cache: "no-store", signal: controller.signal }).then(function (response) {
      if (!response.ok || !response.body) { throw new Error("HTTP " + response.status); }
      setState("Live", true);
      refresh();
      var stream = response.body.getReader(), decoder = new TextDecoder(), buffer = "";
      function pump() {
        return stream.read().then(function (chunk) {
          if (chunk.done) { throw new Error("stream ended"); }
          buffer = parseFrames(buffer + decoder.decode(chunk.value, { stream: true }), onTransition);
          return pump();
        });
      }
      return pump();
    }).catch(function () {
      if (reader !== controller) { return; }  // closed on purpose
      setState("Reconnecting…", false);
      retryTimer = setTimeout(connect, RETRY_MS);
    });
  }

  function close() {
    if (source) { source.close(); source = null; }
    if (reader) { var r = reader; reader = null; r.abort(); }
    if (retryTimer) { clearTimeout(retryTimer); retryTimer = null; }
  }

  function connect() {
    close();
    setState("Connecting…", false);
    if (api.key()) { openFetchStream(); } else { openEventSource(); }
  }

  function init() {
    ["liveState", "liveRows", "liveCount", "liveError", "liveLast"].forEach(function (name) {
      els[name] = u.$(name.replace(/[A-Z]/g, function (c) { return "-" + c.toLowerCase(); }));
    });
    if (!els.liveRows) { return; }
    refresh();
    connect();
    setInterval(refresh, REFRESH_EVERY_MS);  // stale stores appear on the clock, events or not
  }

  SM.live = { init: init, connect: connect, refresh: refresh };
  document.addEventListener("DOMContentLoaded", init);
}());
