/* Store Monitor page: the schedules of SPEC 7 — list (next and last run), create, delete. */
(function () {
  "use strict";

  var SM = window.SM = window.SM || {};
  var u = SM.util, api = SM.api;
  var els = {};

  function formError(message) {
    u.setText(els.scheduleError, message);
    u.show(els.scheduleError, !!message);
  }

  function listError(message) {
    u.setText(els.schedulesError, message);
    u.show(els.schedulesError, !!message);
  }

  function paramsText(params) {
    var keys = Object.keys(params || {}).filter(function (k) { return params[k] != null; });
    if (!keys.length) { return "all stores, standard report"; }
    return keys.map(function (k) {
      var v = params[k];
      return k + "=" + (Array.isArray(v) ? v.join(",") : String(v));
    }).join("; ");
  }

  function lastRunCell(detail) {
    var td = u.el("td");
    td.dataset.label = "Last run";
    var last = detail && detail.last_run;
    if (!last) { u.setText(td, "—"); return td; }
    td.appendChild(u.el("span", "mono nowrap", u.instantText(last.due_at)));
    if (last.report_id) {
      td.appendChild(document.createTextNode(" "));
      var a = u.el("a", "download-link", "report (" + (last.status || "?") + ")");
      a.href = "#report=" + encodeURIComponent(last.report_id);
      a.addEventListener("click", function (event) {
        event.preventDefault();
        if (SM.app) { SM.app.track(last.report_id); window.scrollTo(0, 0); }
      });
      td.appendChild(a);
    }
    return td;
  }

  function render(schedules, details) {
    var fragment = document.createDocumentFragment();
    schedules.forEach(function (s, i) {
      var tr = u.el("tr");
      tr.dataset.scheduleId = s.schedule_id;
      tr.appendChild(u.el("td", "mono", s.cron)).dataset.label = "Cron";
      tr.appendChild(u.el("td", "", s.timezone)).dataset.label = "Zone";
      tr.appendChild(u.el("td", "", paramsText(s.params) + (s.webhook_url ? " · webhook " + s.webhook_url : ""))).dataset.label = "Report";
      tr.appendChild(u.el("td", "mono nowrap", u.instantText(s.next_run))).dataset.label = "Next run";
      tr.appendChild(lastRunCell(details[i]));
      tr.appendChild(u.buttonCell("Delete", "Delete schedule " + s.cron + " (" + s.timezone + ")",
                                  function (button) { remove(s, button); }));
      fragment.appendChild(tr);
    });
    if (!schedules.length) {
      fragment.appendChild(u.placeholderRow("No schedules yet.", 6));
    }
    els.schedules.tBodies[0].replaceChildren(fragment);
  }

  function refresh() {
    return api.getJson("/schedules").then(function (result) {
      if (!result.ok || !result.body || !Array.isArray(result.body.schedules)) {
        listError("Could not list schedules: " + api.message(result));
        return;
      }
      listError("");
      var schedules = result.body.schedules;
      // the list has no last run; each schedule's own page has it (a handful of schedules)
      return Promise.all(schedules.map(function (s) {
        return api.getJson("/schedules/" + encodeURIComponent(s.schedule_id)).then(function (r) {
          return r.ok ? r.body : null;
        }, function () { return null; });
      })).then(function (details) { render(schedules, details); });
    }, function () { listError("Could not reach the server to list schedules."); });
  }

  function remove(schedule, button) {
    button.disabled = true;
    api.request("/schedules/" + encodeURIComponent(schedule.schedule_id), { method: "DELETE" }).then(function (result) {
      if (!result.ok && result.status !== 404) {
        listError("Could not delete the schedule: " + api.message(result));
        button.disabled = false;
        return;
      }
      listError("");
      u.setText(els.scheduleStatus, "Deleted schedule " + schedule.cron + " (" + schedule.timezone + ").");
      refresh();
    }, function () { listError("Could not reach the server."); button.disabled = false; });
  }

  function onCreate(event) {
    event.preventDefault();
    formError("");
    var payload = { cron: els.scheduleCron.value.trim(), timezone: els.scheduleZone.value.trim() || "UTC" };
    var paramsText = els.scheduleParams.value.trim();
    if (paramsText) {
      try { payload.params = JSON.parse(paramsText); } catch (e) {
        formError("Parameters: not valid JSON (" + e.message + "). Example: {\"last_hours\": 24, \"store_id\": [\"s1\"]}");
        els.scheduleParams.focus();
        return;
      }
    }
    if (els.scheduleWebhook.value.trim()) { payload.webhook_url = els.scheduleWebhook.value.trim(); }
    els.scheduleCreate.disabled = true;
    api.sendJson("POST", "/schedules", payload).then(function (result) {
      if (!result.ok || !result.body || !result.body.schedule_id) {
        formError("Could not create the schedule: " + api.message(result));
        return;
      }
      u.setText(els.scheduleStatus, "Created schedule " + payload.cron + " (" + payload.timezone + ").");
      els.scheduleForm.reset();
      return refresh();
    }, function () { formError("Could not reach the server; try again."); })
      .then(function () { els.scheduleCreate.disabled = false; });
  }

  function init() {
    ["schedules", "schedules-error", "schedule-form", "schedule-cron", "schedule-zone", "schedule-params",
      "schedule-webhook", "schedule-create", "schedule-error", "schedule-status"].forEach(function (id) {
      els[id.replace(/-([a-z])/g, function (_, c) { return c.toUpperCase(); })] = u.$(id);
    });
    els.scheduleForm.addEventListener("submit", onCreate);
    refresh();
  }

  SM.schedules = { init: init, refresh: refresh };
})();
