/* Store Monitor page: trigger a report, follow it, download it, list recent reports.
 * Plain JS, no build step. The CSP forbids inline scripts and styles, so everything is built
 * with DOM calls (never innerHTML with server data) and styled through classes. */
(function () {
  "use strict";

  var POLL_MS = 500;
  var RECENT_MS = 5000;
  var HEALTH_MS = 15000;
  var RECENT_LIMIT = 20;

  function $(id) { return document.getElementById(id); }

  var els = {};
  var tracking = null; // {id, timer} of the report being followed
  var recentTimer = null;
  var healthTimer = null;

  // ---------- helpers ----------

  function show(el, visible) { el.hidden = !visible; }

  function setText(el, text) { el.textContent = text == null ? "" : String(text); }

  function plural(n, word) { return n.toLocaleString() + " " + word + (n === 1 ? "" : "s"); }

  function formatLocal(iso) {
    if (!iso) { return "—"; }
    var d = new Date(iso);
    if (isNaN(d.getTime())) { return iso; }
    return d.toLocaleString(undefined, {
      year: "numeric", month: "short", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit"
    });
  }

  function formatDuration(seconds) {
    if (seconds == null || isNaN(seconds)) { return "—"; }
    if (seconds < 1) { return Math.round(seconds * 1000) + " ms"; }
    if (seconds < 60) { return seconds.toFixed(seconds < 10 ? 2 : 1) + " s"; }
    var m = Math.floor(seconds / 60);
    return m + " min " + Math.round(seconds - m * 60) + " s";
  }

  function downloadUrl(id) { return "/get_report?report_id=" + encodeURIComponent(id); }

  /* fetch JSON (with the API key, if any: api.js); resolves {ok, status, body}; rejects only on
   * network failure */
  function getJson(url, options) { return window.SM.api.request(url, options); }

  function apiMessage(result) { return window.SM.api.message(result); }

  /* A download link cannot send the API key's header: with a key, fetch the CSV instead. */
  function onDownloadClick(event) {
    var link = event.target.closest && event.target.closest("a[download][data-report-id]");
    if (!link || !window.SM.api.key()) { return; }
    event.preventDefault();
    window.SM.api.downloadWithKey(link.getAttribute("href"), link.getAttribute("download")).catch(function (err) {
      setText(els.reportError, "Download failed: " + err.message);
      show(els.reportError, true);
    });
  }

  // ---------- the form ----------

  function parseStoreIds(text) {
    return text.split(/[\n\r,]+/).map(function (s) { return s.trim(); }).filter(function (s) { return s !== ""; });
  }

  /* "2023-01-23T12:00" or "2023-01-23T12:00:05" (read as UTC) -> "2023-01-23T12:00:00Z" */
  function asOfToIso(value) {
    if (!value) { return null; }
    var m = /^(\d{4,}-\d{2}-\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?$/.exec(value);
    if (!m) { return undefined; }
    return m[1] + "T" + m[2] + ":" + m[3] + ":" + (m[4] || "00") + "Z";
  }

  function updateScope() {
    var ids = parseStoreIds(els.storeIds.value);
    setText(els.scope, ids.length ? "Scope: " + plural(ids.length, "store") : "Scope: all stores");
  }

  function updateAsOfPreview() {
    var iso = asOfToIso(els.asOf.value);
    if (els.asOf.validity && els.asOf.validity.badInput) {
      setText(els.asOfSent, "Incomplete date/time");
    } else {
      setText(els.asOfSent, iso ? "Will send as_of = " + iso : "");
    }
  }

  function showError(message) {
    setText(els.error, message);
    show(els.error, !!message);
  }

  function onSubmit(event) {
    event.preventDefault();
    showError("");
    var payload = {};
    var ids = parseStoreIds(els.storeIds.value);
    if (ids.length) { payload.store_id = ids; }
    if (els.asOf.validity && els.asOf.validity.badInput) {
      showError("As of: the date/time is incomplete; complete it or clear the field.");
      els.asOf.focus();
      return;
    }
    var asOf = asOfToIso(els.asOf.value);
    if (asOf === undefined) {
      showError("As of: cannot read “" + els.asOf.value + "” as a date and time.");
      els.asOf.focus();
      return;
    }
    if (asOf) { payload.as_of = asOf; }
    var range = [["from", els.rangeFrom], ["to", els.rangeTo]];
    for (var i = 0; i < range.length; i++) {
      var input = range[i][1];
      var iso = asOfToIso(input.value);
      if ((input.validity && input.validity.badInput) || iso === undefined) {
        showError(range[i][0] + ": the date/time is incomplete or unreadable; complete it or clear the field.");
        input.focus();
        return;
      }
      if (iso) { payload[range[i][0]] = iso; }
    }
    if (els.rangeLastHours.value.trim()) {
      var hours = Number(els.rangeLastHours.value.trim());
      if (!(Number.isInteger(hours) && hours >= 1 && hours <= 8784)) {
        showError("Last hours: enter a whole number of hours from 1 to 8784."); els.rangeLastHours.focus(); return;
      }
      payload.last_hours = hours;
    }

    els.trigger.disabled = true;
    setText(els.trigger, "Triggering…");
    getJson("/trigger_report", {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify(payload)
    }).then(function (result) {
      if (!result.ok || !result.body || !result.body.report_id) {
        showError("Could not trigger the report: " + apiMessage(result));
        return;
      }
      track(result.body.report_id);
      refreshRecent();
    }, function () {
      showError("Could not reach the server; check that it is running and try again.");
    }).then(function () {
      els.trigger.disabled = false;
      setText(els.trigger, "Trigger report");
    });
  }

  // ---------- following one report ----------

  function track(id) {
    if (tracking && tracking.timer) { clearTimeout(tracking.timer); }
    tracking = { id: id, timer: null, failures: 0 };
    try { history.replaceState(null, "", "#report=" + encodeURIComponent(id)); } catch (e) { /* ignore */ }
    show(els.currentEmpty, false);
    show(els.currentDetails, true);
    show(els.reportError, false);
    show(els.download, false);
    show(els.warnings, false);
    setText(els.reportId, id);
    renderCurrent({ status: "Running", progress: 0 });
    poll(tracking);
  }

  function poll(job) {
    getJson("/reports/" + encodeURIComponent(job.id)).then(function (result) {
      if (tracking !== job) { return; }
      if (!result.ok) {
        if (result.status === 404) {
          renderCurrent({ status: "Failed", error: "unknown report " + job.id });
          return;
        }
        job.failures += 1;
        setText(els.reportError, "Checking the report failed: " + apiMessage(result) + " (retrying)");
        show(els.reportError, true);
      } else {
        job.failures = 0;
        show(els.reportError, false);
        renderCurrent(result.body);
        if (result.body.status !== "Running") {
          refreshRecent();
          return;
        }
      }
      job.timer = setTimeout(function () { poll(job); }, POLL_MS * Math.min(1 + job.failures, 10));
    }, function () {
      if (tracking !== job) { return; }
      job.failures += 1;
      setText(els.reportError, "Cannot reach the server (retrying)…");
      show(els.reportError, true);
      job.timer = setTimeout(function () { poll(job); }, POLL_MS * Math.min(1 + job.failures, 10));
    });
  }

  function renderCurrent(report) {
    var status = report.status || "Running";
    setText(els.status, status);
    els.status.className = "badge " + status.toLowerCase();
    var fraction = status === "Complete" ? 1 : Math.max(0, Math.min(1, Number(report.progress) || 0));
    els.progress.value = fraction;
    setText(els.progressText, Math.round(fraction * 100) + "%");
    setText(els.reportNow, report.now || report.as_of || "—");
    setText(els.reportRows, report.row_count == null ? "—" : report.row_count.toLocaleString());
    setText(els.reportKind, report.kind === "range"
      ? "Range " + (report.from || "last " + report.last_hours + " h") + " → " + (report.to || report.now || "newest poll")
      : "Standard (last hour, day, week)");
    if (status === "Complete") {
      els.download.href = downloadUrl(tracking.id);
      els.download.setAttribute("download", "report_" + tracking.id + ".csv");
      els.download.dataset.reportId = tracking.id;
      show(els.download, true);
      if (!tracking.shown && report.report_id === tracking.id) {
        tracking.shown = true;
        window.SM.results.showReport(report, downloadUrl(tracking.id));
      }
    } else {
      show(els.download, false);
    }
    if (status === "Failed") {
      setText(els.reportError, "Report failed: " + (report.error || "unknown error"));
      show(els.reportError, true);
    }
    var warnings = report.warnings || [];
    els.warningList.replaceChildren.apply(els.warningList, warnings.map(function (w) {
      var li = document.createElement("li");
      setText(li, w);
      return li;
    }));
    show(els.warnings, warnings.length > 0);
  }

  // ---------- recent reports ----------

  function cell(row, text, className) {
    var td = document.createElement("td");
    if (className) { td.className = className; }
    if (text instanceof Node) { td.appendChild(text); } else { setText(td, text); }
    row.appendChild(td);
    return td;
  }

  function renderRecent(reports) {
    var body = els.recent.tBodies[0];
    var rows = document.createDocumentFragment();
    if (!reports.length) {
      var empty = document.createElement("tr");
      empty.className = "placeholder";
      var td = cell(empty, "No reports yet.", "muted");
      td.colSpan = 8;
      rows.appendChild(empty);
    }
    reports.forEach(function (r) {
      var tr = document.createElement("tr");
      tr.dataset.reportId = r.report_id;
      if (tracking && tracking.id === r.report_id) { tr.className = "tracked"; }
      cell(tr, formatLocal(r.created_at), "nowrap").dataset.label = "Created";

      var follow = document.createElement("button");
      follow.type = "button";
      follow.className = "link mono";
      follow.title = "Follow report " + r.report_id;
      setText(follow, r.report_id.slice(0, 10) + "…");
      follow.addEventListener("click", function () { track(r.report_id); window.scrollTo(0, 0); });
      cell(tr, follow).dataset.label = "Report";

      var scope = r.store_ids == null ? "All stores" : plural(r.store_ids.length, "store");
      var scopeCell = cell(tr, scope);
      scopeCell.dataset.label = "Scope";
      if (r.store_ids) { scopeCell.title = r.store_ids.slice(0, 20).join(", ") + (r.store_ids.length > 20 ? ", …" : ""); }

      cell(tr, r.now || r.as_of || "—", "mono nowrap").dataset.label = "Data as of";

      var badge = document.createElement("span");
      badge.className = "badge " + String(r.status).toLowerCase();
      setText(badge, r.status === "Running" ? "Running " + Math.round((r.progress || 0) * 100) + "%" : r.status);
      if (r.status === "Failed" && r.error) { badge.title = r.error; }
      cell(tr, badge).dataset.label = "Status";

      cell(tr, r.row_count == null ? "—" : r.row_count.toLocaleString(), "num").dataset.label = "Rows";
      cell(tr, formatDuration(r.duration_seconds), "num nowrap").dataset.label = "Duration";

      var link = document.createTextNode("");
      if (r.status === "Complete") {
        link = document.createElement("a");
        link.href = downloadUrl(r.report_id);
        link.setAttribute("download", "report_" + r.report_id + ".csv");
        link.className = "download-link";
        link.dataset.reportId = r.report_id;
        setText(link, "Download");
        link.setAttribute("aria-label", "Download report " + r.report_id);
      }
      cell(tr, link).dataset.label = "";
      rows.appendChild(tr);
    });
    body.replaceChildren(rows);
  }

  function refreshRecent() {
    if (recentTimer) { clearTimeout(recentTimer); }
    getJson("/reports?limit=" + RECENT_LIMIT).then(function (result) {
      if (result.ok && result.body && Array.isArray(result.body.reports)) {
        renderRecent(result.body.reports);
        setText(els.recentUpdated, "updated " + new Date().toLocaleTimeString());
      } else {
        setText(els.recentUpdated, "could not refresh: " + apiMessage(result));
      }
    }, function () {
      setText(els.recentUpdated, "could not reach the server");
    }).then(function () {
      recentTimer = setTimeout(refreshRecent, RECENT_MS);
    });
  }

  // ---------- health ----------

  function renderHealth(result) {
    var b = result.body || {};
    var parts = [];
    var state = "bad";
    if (b.status === "ok") {
      state = "ok";
      parts.push(plural(b.stores || 0, "store"));
      parts.push(plural(b.polls || 0, "poll"));
      setText(els.dataRange, b.oldest_poll ? "Data: " + window.SM.util.utcText(b.oldest_poll) + " → " +
        window.SM.util.utcText(b.newest_poll) : "Data: no polls yet");
      if (b.last_load) {
        var load = "last load " + formatLocal(b.last_load.finished_at) + " (" +
          plural(b.last_load.rows_loaded || 0, "row") + " loaded";
        if (b.last_load.rows_rejected) { load += ", " + b.last_load.rows_rejected.toLocaleString() + " rejected"; }
        parts.push(load + ")");
      } else {
        parts.push("no data loaded yet");
        state = "warn";
      }
      if (!b.polls && state === "ok") { state = "warn"; }
      if (b.reload && b.reload.running) { parts.push("loading…"); }
      if (b.reload && b.reload.last_error) { parts.push("last reload error: " + b.reload.last_error); state = "warn"; }
    } else {
      parts.push("Service unavailable: " + (b.error || "HTTP " + result.status));
    }
    setText(els.healthText, parts.join(" · "));
    els.health.className = "health " + state;
  }

  function refreshHealth() {
    if (healthTimer) { clearTimeout(healthTimer); }
    getJson("/health").then(renderHealth, function () {
      renderHealth({ status: 0, body: { error: "cannot reach the server" } });
    }).then(function () {
      healthTimer = setTimeout(refreshHealth, HEALTH_MS);
    });
  }

  // ---------- start ----------

  function init() {
    ["health", "health-text", "report-form", "store-ids", "scope", "as-of", "as-of-sent", "trigger", "error",
      "current-empty", "current-details", "report-id", "status", "progress", "progress-text", "report-now",
      "report-rows", "report-error", "download", "recent", "recent-updated", "range-from", "range-to",
      "range-last-hours", "report-kind", "warnings", "warning-list", "data-range"].forEach(function (id) {
      els[id.replace(/-([a-z])/g, function (_, c) { return c.toUpperCase(); })] = $(id);
    });
    els.form = els.reportForm;
    els.form.addEventListener("submit", onSubmit);
    els.form.addEventListener("reset", function () {
      setTimeout(function () { updateScope(); updateAsOfPreview(); showError(""); }, 0);
    });
    els.storeIds.addEventListener("input", updateScope);
    els.asOf.addEventListener("input", updateAsOfPreview);
    els.asOf.addEventListener("change", updateAsOfPreview);
    document.addEventListener("click", onDownloadClick);
    updateScope();
    updateAsOfPreview();
    window.SM.app = { track: track, refresh: function () {
      refreshHealth(); refreshRecent(); window.SM.schedules.refresh();
      if (tracking) { track(tracking.id); }
    } };
    window.SM.results.init();
    window.SM.schedules.init();
    window.SM.auth.init();
    refreshHealth();
    refreshRecent();
    var m = /^#report=([A-Za-z0-9_-]{1,64})$/.exec(location.hash);
    if (m) { track(m[1]); }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
