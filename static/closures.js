/* Store Monitor page: the planned closures of the store shown in the per-store view (SPEC 9).
 * Lists the closures overlapping the shown range (GET /stores/<id>/closures), adds one in the
 * store's local time (POST, a time without a zone is the store's local time) and removes one
 * (DELETE); after a change the store view is loaded again, so its numbers and charts show the
 * new business time at once. */
(function () {
  "use strict";

  var SM = window.SM = window.SM || {};
  var api, u;
  var els = {};
  var current = null; // {storeId, from, to} of the store view

  function closuresUrl(storeId) {
    return "/stores/" + encodeURIComponent(storeId) + "/closures";
  }

  function error(message) {
    u.setText(els.closureError, message);
    u.show(els.closureError, !!message);
  }

  function status(message) { u.setText(els.closureStatus, message); }

  /* "2023-12-25T00:00:00" (the API's local text) -> "2023-12-25 00:00" */
  function localText(text) {
    var m = /^(\d{4,}-\d{2}-\d{2})T(\d{2}:\d{2})(:\d{2})?/.exec(text || "");
    return m ? m[1] + " " + m[2] + (m[3] && m[3] !== ":00" ? m[3] : "") : (text || "—");
  }

  function show(storeId, fromIso, toIso) {
    current = { storeId: storeId, from: fromIso, to: toIso };
    error("");
    var query = "?from=" + encodeURIComponent(fromIso) + "&to=" + encodeURIComponent(toIso);
    api.getJson(closuresUrl(storeId) + query).then(function (result) {
      if (!result.ok || !result.body) {
        error("Could not list the closures of " + storeId + ": " + api.message(result));
        render([], null);
        return;
      }
      render(result.body.closures, result.body.timezone);
    }, function () {
      error("Could not reach the server to list the closures.");
    });
  }

  function render(closures, zone) {
    u.setText(els.closuresTitle, "Planned closures" + (zone ? " (" + zone + ")" : ""));
    var fragment = document.createDocumentFragment();
    closures.forEach(function (closure) {
      var tr = u.el("tr");
      tr.dataset.closureId = closure.closure_id;
      tr.appendChild(u.el("td", "mono nowrap", localText(closure.start_local))).dataset.label = "Start";
      tr.appendChild(u.el("td", "mono nowrap", localText(closure.end_local))).dataset.label = "End";
      tr.appendChild(u.el("td", "", closure.reason || "—")).dataset.label = "Reason";
      tr.appendChild(u.el("td", "", closure.source === "csv" ? "closures.csv" : "API")).dataset.label = "From";
      tr.appendChild(u.buttonCell("Remove", "Remove the closure from " + localText(closure.start_local),
                                  function (button) { removeClosure(closure, button); }));
      fragment.appendChild(tr);
    });
    if (!closures.length) {
      fragment.appendChild(u.placeholderRow("No planned closure in this range.", 5));
    }
    els.closures.tBodies[0].replaceChildren(fragment);
  }

  function reloadStore(message) {
    status(message);
    if (SM.results && SM.results.reloadStore) { SM.results.reloadStore(); }
  }

  function removeClosure(closure, button) {
    if (!current) { return; }
    button.disabled = true;
    error("");
    api.request(closuresUrl(current.storeId) + "/" + encodeURIComponent(closure.closure_id), { method: "DELETE" })
      .then(function (result) {
        if (result.status !== 204) {
          error("Could not remove the closure: " + api.message(result));
          button.disabled = false;
          return;
        }
        reloadStore("Closure from " + localText(closure.start_local) + " removed.");
      }, function () {
        error("Could not reach the server; the closure was not removed.");
        button.disabled = false;
      });
  }

  /* A datetime-local value ("2023-12-25T09:00" or with seconds) sent as is: no zone, so the
   * server reads it in the store's own zone. */
  function localValue(input, name) {
    if (input.validity && input.validity.badInput) { return { error: name + ": the date/time is incomplete." }; }
    var m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?)(?:\.\d+)?$/.exec(input.value || "");
    if (!m) { return { error: name + ": enter a date and a time." }; }
    return { value: m[1] };
  }

  function addClosure(event) {
    event.preventDefault();
    error("");
    status("");
    if (!current) { error("Show a store first."); return; }
    var start = localValue(els.closureStart, "Closed from");
    var end = localValue(els.closureEnd, "Until");
    var problem = start.error || end.error;
    if (problem) { error(problem); (start.error ? els.closureStart : els.closureEnd).focus(); return; }
    var payload = { start: start.value, end: end.value };
    var reason = els.closureReason.value.trim();
    if (reason) { payload.reason = reason; }
    els.closureAdd.disabled = true;
    api.sendJson("POST", closuresUrl(current.storeId), payload).then(function (result) {
      if (result.status !== 201) {
        error("Could not add the closure: " + api.message(result));
        return;
      }
      els.closureForm.reset();
      reloadStore("Closure added (" + result.body.start + " → " + result.body.end + ").");
    }, function () {
      error("Could not reach the server; the closure was not added.");
    }).then(function () { els.closureAdd.disabled = false; });
  }

  function init() {
    api = SM.api;
    u = SM.util;
    ["closures", "closures-title", "closure-form", "closure-start", "closure-end", "closure-reason", "closure-add",
      "closure-error", "closure-status"].forEach(function (id) {
      els[id.replace(/-([a-z])/g, function (_, c) { return c.toUpperCase(); })] = u.$(id);
    });
    els.closureForm.addEventListener("submit", addClosure);
  }

  SM.closures = { init: init, show: show };
})();
