/* Store Monitor page: a finished report's stores as a sortable, filterable table, and the
 * per-store view (totals, days chart, incidents) from GET /stores/<id>/availability. */
(function () {
  "use strict";

  var SM = window.SM = window.SM || {};
  var u = SM.util, api = SM.api;
  var MAX_ROWS = 500; // more rows than anyone reads; the filter narrows the rest

  // label, kind, unit of every column either report kind may have
  var COLUMNS = {
    store_id: ["Store", "text"],
    uptime_pct: ["Uptime % (week)", "num"],
    uptime_last_hour: ["Up last hour (min)", "num"],
    uptime_last_day: ["Up last day (h)", "num"],
    uptime_last_week: ["Up last week (h)", "num"],
    downtime_last_hour: ["Down last hour (min)", "num"],
    downtime_last_day: ["Down last day (h)", "num"],
    downtime_last_week: ["Down last week (h)", "num"],
    uptime_percent: ["Uptime %", "num"],
    business_hours: ["Business (h)", "num"],
    uptime_hours: ["Up (h)", "num"],
    downtime_hours: ["Down (h)", "num"],
    incidents: ["Incidents", "num"]
  };

  var state = { report: null, columns: [], rows: [], sortKey: null, sortAsc: true, filter: "" };
  var els = {};

  /* RFC 4180: quoted fields may hold commas, quotes ("") and line breaks */
  function parseCsv(text) {
    var rows = [], row = [], field = "", i = 0, quoted = false;
    for (; i < text.length; i++) {
      var c = text[i];
      if (quoted) {
        if (c === "\"") {
          if (text[i + 1] === "\"") { field += "\""; i++; } else { quoted = false; }
        } else { field += c; }
      } else if (c === "\"") { quoted = true; }
      else if (c === ",") { row.push(field); field = ""; }
      else if (c === "\n" || c === "\r") {
        if (c === "\r" && text[i + 1] === "\n") { i++; }
        row.push(field); rows.push(row); row = []; field = "";
      } else { field += c; }
    }
    if (field !== "" || row.length) { row.push(field); rows.push(row); }
    return rows;
  }

  function toNumber(s) { return s === "" || s == null ? null : Number(s); }

  /* rows as objects; the standard report gets a derived week uptime % to sort worst-first by */
  function readReport(text) {
    var table = parseCsv(text);
    var header = table.shift() || [];
    var rows = table.filter(function (r) { return r.length === header.length; }).map(function (r) {
      var row = {};
      header.forEach(function (name, i) { row[name] = name === "store_id" ? r[i] : toNumber(r[i]); });
      return row;
    });
    var columns = header.slice();
    var sortKey = "uptime_percent";
    if (header.indexOf("uptime_last_week") !== -1) {
      rows.forEach(function (row) {
        var total = row.uptime_last_week + row.downtime_last_week;
        row.uptime_pct = total > 0 ? 100 * row.uptime_last_week / total : null;
      });
      columns.splice(1, 0, "uptime_pct");
      sortKey = "uptime_pct";
    }
    return { columns: columns, rows: rows, sortKey: columns.indexOf(sortKey) !== -1 ? sortKey : "store_id" };
  }

  function compare(key, asc) {
    return function (a, b) {
      var x = a[key], y = b[key];
      if (x !== y) {
        if (x == null) { return 1; } // empty values last, whichever the direction
        if (y == null) { return -1; }
        if (x < y) { return asc ? -1 : 1; }
        if (x > y) { return asc ? 1 : -1; }
      }
      return a.store_id < b.store_id ? -1 : (a.store_id > b.store_id ? 1 : 0);
    };
  }

  function formatCell(key, value) {
    if (value == null) { return "—"; }
    if (key === "store_id") { return value; }
    if (key === "incidents") { return value.toLocaleString(); }
    return value.toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  }

  function renderHead() {
    var tr = u.el("tr");
    state.columns.forEach(function (key) {
      var spec = COLUMNS[key] || [key, "num"];
      var th = u.el("th", spec[1] === "num" ? "num" : "");
      th.scope = "col";
      var sorted = state.sortKey === key;
      th.setAttribute("aria-sort", sorted ? (state.sortAsc ? "ascending" : "descending") : "none");
      var button = u.el("button", "sort", spec[0]);
      button.type = "button";
      button.dataset.key = key;
      button.appendChild(u.el("span", "sort-mark", sorted ? (state.sortAsc ? " ▲" : " ▼") : ""));
      button.addEventListener("click", function () {
        if (state.sortKey === key) { state.sortAsc = !state.sortAsc; } else { state.sortKey = key; state.sortAsc = true; }
        renderHead();
        renderBody();
        els.resultsTable.querySelector("button[data-key='" + key + "']").focus();
      });
      th.appendChild(button);
      tr.appendChild(th);
    });
    els.resultsTable.tHead.replaceChildren(tr);
  }

  function renderBody() {
    var needle = state.filter.trim().toLowerCase();
    var rows = state.rows.filter(function (r) { return !needle || r.store_id.toLowerCase().indexOf(needle) !== -1; });
    rows.sort(compare(state.sortKey, state.sortAsc));
    var fragment = document.createDocumentFragment();
    rows.slice(0, MAX_ROWS).forEach(function (row) {
      var tr = u.el("tr");
      tr.dataset.storeId = row.store_id;
      state.columns.forEach(function (key) {
        var spec = COLUMNS[key] || [key, "num"];
        var td = u.el("td", spec[1] === "num" ? "num" : "");
        td.dataset.label = spec[0];
        if (key === "store_id") {
          var open = u.el("button", "link mono", row.store_id);
          open.type = "button";
          open.title = "Show store " + row.store_id + " over a range";
          open.addEventListener("click", function () { openStore(row.store_id); });
          td.appendChild(open);
        } else {
          u.setText(td, formatCell(key, row[key]));
          if ((key === "uptime_pct" || key === "uptime_percent") && row[key] != null && row[key] < 90) { td.className += " low"; }
        }
        tr.appendChild(td);
      });
      fragment.appendChild(tr);
    });
    if (!rows.length) {
      var empty = u.el("tr", "placeholder");
      var td = u.el("td", "muted", state.rows.length ? "No store matches the filter." : "The report has no stores.");
      td.colSpan = state.columns.length;
      empty.appendChild(td);
      fragment.appendChild(empty);
    }
    els.resultsTable.tBodies[0].replaceChildren(fragment);
    var shown = Math.min(rows.length, MAX_ROWS);
    u.setText(els.resultsCount, (needle ? rows.length + " of " + state.rows.length : state.rows.length) + " stores" +
      (rows.length > MAX_ROWS ? "; showing the first " + shown + " (filter to narrow)" : ""));
  }

  /* Called by app.js when the followed report is Complete. */
  function showReport(report, csvUrl) {
    state.report = report;
    u.show(els.results, true);
    u.setText(els.resultsTitle, report.kind === "range"
      ? "Stores of range report " + report.report_id.slice(0, 10) + "… (" + u.utcText(report.from) + " → " + u.utcText(report.to || report.now) + ")"
      : "Stores of report " + report.report_id.slice(0, 10) + "… (as of " + u.utcText(report.now) + ")");
    u.setText(els.resultsCount, "Loading…");
    u.show(els.resultsError, false);
    api.request(csvUrl, { headers: { "Accept": "text/csv, application/json" } }).then(function (result) {
      if (state.report !== report) { return; }
      if (!result.ok || result.contentType.indexOf("text/csv") === -1) {
        u.setText(els.resultsError, "Could not read the report's CSV: " + api.message(result));
        u.show(els.resultsError, true);
        return;
      }
      var parsed = readReport(result.text);
      state.columns = parsed.columns;
      state.rows = parsed.rows;
      state.sortKey = parsed.sortKey;
      state.sortAsc = true;
      renderHead();
      renderBody();
    }, function () {
      u.setText(els.resultsError, "Could not reach the server to read the report.");
      u.show(els.resultsError, true);
    });
  }

  // ---------- the per-store view ----------

  function openStore(storeId) {
    var report = state.report;
    els.storeId.value = storeId;
    els.storeLastHours.value = "";
    if (report && report.kind === "range") {
      els.storeFrom.value = u.isoToInput(report.from);
      els.storeTo.value = u.isoToInput(report.to || report.now);
      if (!report.from && report.last_hours) { els.storeFrom.value = ""; els.storeLastHours.value = report.last_hours; }
    } else if (report) {
      els.storeFrom.value = ""; // the server's default: the week before `to`
      els.storeTo.value = u.isoToInput(report.now);
    }
    els.storeView.scrollIntoView({ block: "start" });
    loadStore();
  }

  function storeError(message) {
    u.setText(els.storeError, message);
    u.show(els.storeError, !!message);
  }

  function loadStore(event) {
    if (event) { event.preventDefault(); }
    storeError("");
    var storeId = els.storeId.value.trim();
    if (!storeId) { storeError("Store id: enter the id of a store (or click one in the report's table)."); els.storeId.focus(); return; }
    var query = [];
    var fields = [["from", els.storeFrom], ["to", els.storeTo]];
    for (var i = 0; i < fields.length; i++) {
      var input = fields[i][1];
      if (input.validity && input.validity.badInput) { storeError(fields[i][0] + ": the date/time is incomplete."); input.focus(); return; }
      var iso = u.inputToIso(input.value);
      if (iso === undefined) { storeError(fields[i][0] + ": cannot read “" + input.value + "”."); input.focus(); return; }
      if (iso) { query.push(fields[i][0] + "=" + encodeURIComponent(iso)); }
    }
    if (els.storeLastHours.value.trim()) { query.push("last_hours=" + encodeURIComponent(els.storeLastHours.value.trim())); }
    var url = "/stores/" + encodeURIComponent(storeId) + "/availability" + (query.length ? "?" + query.join("&") : "");
    els.storeShow.disabled = true;
    api.getJson(url).then(function (result) {
      if (!result.ok || !result.body) {
        storeError("Could not show store " + storeId + ": " + api.message(result));
        u.show(els.storeResult, false);
        return;
      }
      renderStore(result.body);
    }, function () {
      storeError("Could not reach the server; check that it is running and try again.");
    }).then(function () { els.storeShow.disabled = false; });
  }

  function renderStore(a) {
    u.show(els.storeResult, true);
    u.setText(els.storeHeading, a.store_id + " · " + a.timezone + " · " + u.utcText(a.from) + " → " + u.utcText(a.to));
    u.setText(els.storeUptime, a.uptime_percent == null ? "— (no observation)" : (Math.round(a.uptime_percent * 100) / 100) + " %");
    u.setText(els.storeBusiness, u.hours(a.business_hours));
    u.setText(els.storeUp, u.hours(a.uptime_hours));
    u.setText(els.storeDown, u.hours(a.downtime_hours));
    u.setText(els.storeIncidentCount, a.incidents.length);
    u.setText(els.storeClosed, u.hours(a.closed_hours || 0));
    SM.charts.drawDays(els.daysChart, a.days);
    SM.charts.drawTimeline(els.timeline, a.from, a.to, a.incidents, a.closures || []);
    if (SM.closures) { SM.closures.show(a.store_id, a.from, a.to); }
    var fragment = document.createDocumentFragment();
    a.incidents.forEach(function (incident) {
      var tr = u.el("tr");
      tr.appendChild(u.el("td", "mono nowrap", u.utcText(incident.start))).dataset.label = "Start";
      tr.appendChild(u.el("td", "mono nowrap", u.utcText(incident.end))).dataset.label = "End";
      tr.appendChild(u.el("td", "num", incident.minutes.toLocaleString())).dataset.label = "Minutes";
      fragment.appendChild(tr);
    });
    if (!a.incidents.length) {
      fragment.appendChild(u.placeholderRow("No incident in this range.", 3));
    }
    els.incidents.tBodies[0].replaceChildren(fragment);
  }

  function init() {
    ["results", "results-title", "results-count", "results-error", "results-filter", "results-table",
      "store-view", "store-form", "store-id", "store-from", "store-to", "store-last-hours", "store-show", "store-error",
      "store-result", "store-heading", "store-uptime", "store-business", "store-up", "store-down",
      "store-incident-count", "store-closed", "days-chart", "timeline", "incidents"].forEach(function (id) {
      els[id.replace(/-([a-z])/g, function (_, c) { return c.toUpperCase(); })] = u.$(id);
    });
    els.resultsFilter.addEventListener("input", function () { state.filter = els.resultsFilter.value; renderBody(); });
    els.storeForm.addEventListener("submit", loadStore);
    if (SM.closures) { SM.closures.init(); }
  }

  SM.results = { showReport: showReport, openStore: openStore, init: init, reloadStore: function () { loadStore(); } };
})();
