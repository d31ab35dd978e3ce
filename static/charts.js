/* Store Monitor page: the two charts of the per-store view, drawn as plain SVG.
 * Why SVG by hand: two simple charts do not justify a charting library, the page has no build
 * step and its CSP allows only its own scripts; SVG text stays sharp, is styled by style.css,
 * and each bar and incident is a DOM element with a <title> (a tooltip and an accessible name). */
(function () {
  "use strict";

  var NS = "http://www.w3.org/2000/svg";
  var SM = window.SM = window.SM || {};

  function svgEl(tag, attrs, className) {
    var node = document.createElementNS(NS, tag);
    Object.keys(attrs || {}).forEach(function (name) { node.setAttribute(name, attrs[name]); });
    if (className) { node.setAttribute("class", className); }
    return node;
  }

  function text(x, y, content, className, anchor) {
    var node = svgEl("text", { x: x, y: y, "text-anchor": anchor || "middle" }, className || "axis-label");
    node.textContent = content;
    return node;
  }

  function titled(node, content) {
    var title = svgEl("title");
    title.textContent = content;
    node.appendChild(title);
    return node;
  }

  function round2(x) { return Math.round(x * 100) / 100; }

  /* Stacked bars per local day: uptime (bottom) and downtime (top); the bar's full height is the
   * day's business hours, on a scale up to the largest day (24 h at most). */
  function drawDays(svgHolder, days) {
    var width = 860, height = 240, left = 44, right = 12, top = 14, bottom = 42;
    var plotW = width - left - right, plotH = height - top - bottom;
    var svg = svgEl("svg", { viewBox: "0 0 " + width + " " + height, role: "img",
      "aria-labelledby": "days-chart-title", preserveAspectRatio: "xMidYMid meet" }, "chart days-chart");
    var title = svgEl("title", { id: "days-chart-title" });
    title.textContent = "Business hours per local day: uptime and downtime, " + days.length + " days";
    svg.appendChild(title);

    var maxHours = days.reduce(function (m, d) { return Math.max(m, d.uptime_hours + d.downtime_hours, d.business_hours); }, 0);
    var scaleMax = maxHours <= 0 ? 1 : Math.min(24, Math.ceil(maxHours / 4) * 4 || 4);
    if (maxHours > scaleMax) { scaleMax = Math.ceil(maxHours); }
    function y(h) { return top + plotH - (h / scaleMax) * plotH; }

    // grid lines and hour labels
    var steps = 4;
    for (var i = 0; i <= steps; i++) {
      var h = scaleMax * i / steps;
      svg.appendChild(svgEl("line", { x1: left, x2: width - right, y1: y(h), y2: y(h) }, i === 0 ? "axis" : "grid"));
      svg.appendChild(text(left - 6, y(h) + 4, round2(h) + " h", "axis-label", "end"));
    }

    var n = Math.max(days.length, 1);
    var slot = plotW / n;
    var barW = Math.max(1, Math.min(48, slot * 0.7));
    var labelEvery = Math.max(1, Math.ceil(n / Math.floor(plotW / 70)));
    days.forEach(function (day, index) {
      var x = left + index * slot + (slot - barW) / 2;
      var group = svgEl("g", { "data-date": day.date }, "day");
      var up = day.uptime_hours, down = day.downtime_hours;
      var label = day.date + ": " + (day.business_hours > 0
        ? "up " + round2(up) + " h, down " + round2(down) + " h of " + round2(day.business_hours) + " business hours"
        : "closed");
      titled(group, label);
      // an invisible full-height target so the tooltip works on short bars too
      group.appendChild(svgEl("rect", { x: left + index * slot, y: top, width: slot, height: plotH }, "hit"));
      if (day.business_hours > 0) {
        var unknown = Math.max(0, day.business_hours - up - down);
        group.appendChild(svgEl("rect", { x: x, y: y(up), width: barW, height: y(0) - y(up), "data-hours": up }, "bar-up"));
        group.appendChild(svgEl("rect", { x: x, y: y(up + down), width: barW, height: y(up) - y(up + down), "data-hours": down }, "bar-down"));
        if (unknown > 0.005) {
          group.appendChild(svgEl("rect", { x: x, y: y(up + down + unknown), width: barW,
            height: y(up + down) - y(up + down + unknown) }, "bar-unknown"));
        }
      } else {
        group.appendChild(svgEl("rect", { x: x, y: y(0) - 2, width: barW, height: 2 }, "bar-closed"));
      }
      if (index % labelEvery === 0) {
        group.appendChild(text(left + index * slot + slot / 2, height - bottom + 16, day.date.slice(5), "axis-label"));
      }
      svg.appendChild(group);
    });
    svg.appendChild(text(left, height - 6, "local date of the store (MM-DD)", "axis-note", "start"));
    svgHolder.replaceChildren(svg);
  }

  /* The range [from, to) as a line; each planned closure (SPEC 9) a grey span and each incident
   * a red span on it, with UTC ticks. */
  function drawTimeline(svgHolder, fromIso, toIso, incidents, closures) {
    var width = 860, height = 92, left = 16, right = 16, barY = 22, barH = 26;
    var plotW = width - left - right;
    var t0 = Date.parse(fromIso), t1 = Date.parse(toIso);
    var span = Math.max(1, t1 - t0);
    function x(t) { return left + Math.max(0, Math.min(1, (t - t0) / span)) * plotW; }
    var svg = svgEl("svg", { viewBox: "0 0 " + width + " " + height, role: "img",
      "aria-labelledby": "timeline-title" }, "chart timeline-chart");
    var title = svgEl("title", { id: "timeline-title" });
    title.textContent = incidents.length + " incident" + (incidents.length === 1 ? "" : "s") + " between " + fromIso + " and " + toIso;
    svg.appendChild(title);
    svg.appendChild(svgEl("rect", { x: left, y: barY, width: plotW, height: barH, rx: 3 }, "timeline-track"));
    (closures || []).forEach(function (closure) {
      var a = x(Date.parse(closure.start)), b = x(Date.parse(closure.end));
      var rect = svgEl("rect", { x: a, y: barY, width: Math.max(2, b - a), height: barH,
        "data-start": closure.start, "data-end": closure.end }, "closure");
      titled(rect, "planned closure " + closure.start + " → " + closure.end + (closure.reason ? " (" + closure.reason + ")" : ""));
      svg.appendChild(rect);
    });
    incidents.forEach(function (incident) {
      var a = x(Date.parse(incident.start)), b = x(Date.parse(incident.end));
      var rect = svgEl("rect", { x: a, y: barY, width: Math.max(2, b - a), height: barH,
        "data-start": incident.start, "data-end": incident.end }, "incident");
      titled(rect, "down " + incident.start + " → " + incident.end + " (" + incident.minutes + " min)");
      svg.appendChild(rect);
    });
    // ticks: about six, on whole hours
    var hourMs = 3600 * 1000;
    var stepHours = [1, 2, 3, 6, 12, 24, 48, 24 * 7, 24 * 14, 24 * 30, 24 * 61].filter(function (s) { return span / (s * hourMs) <= 7; })[0] || 24 * 61;
    var step = stepHours * hourMs;
    for (var t = Math.ceil(t0 / step) * step; t <= t1; t += step) {
      var tx = x(t);
      svg.appendChild(svgEl("line", { x1: tx, x2: tx, y1: barY + barH, y2: barY + barH + 5 }, "axis"));
      var iso = new Date(t).toISOString();
      var label = stepHours >= 24 ? iso.slice(5, 10) : iso.slice(5, 10) + " " + iso.slice(11, 16);
      var anchor = tx < left + 30 ? "start" : (tx > width - right - 30 ? "end" : "middle");
      svg.appendChild(text(tx, barY + barH + 18, label, "axis-label", anchor));
    }
    svg.appendChild(text(left, height - 6, "UTC; red = inactive during business hours, grey = planned closure",
      "axis-note", "start"));
    svgHolder.replaceChildren(svg);
  }

  SM.charts = { drawDays: drawDays, drawTimeline: drawTimeline };
})();
