// Supervisor console: alerts pushed over the websocket are added to (or updated in) the table.
(function () {
  "use strict";
  var table = document.getElementById("alerts");
  if (!table) return;
  var body = table.tBodies[0];
  var status = document.getElementById("live-status");
  var detail = table.getAttribute("data-detail");
  var labels = JSON.parse((document.getElementById("status-labels") || {}).textContent || "{}");
  var english = (document.documentElement.lang || "").indexOf("en") === 0;
  function label(family, code) { return (labels[family] || {})[code] || code; }
  function when(iso) { return window.sunlight ? window.sunlight.formatTime(iso) : iso; }

  function cell(row, text) { var td = document.createElement("td"); td.textContent = text == null ? "—" : text; row.appendChild(td); return td; }

  function render(a) {
    var row = document.createElement("tr");
    row.setAttribute("data-alert", a.id);
    row.className = "sev-" + a.severity + " fresh";
    var t = document.createElement("time"); t.setAttribute("datetime", a.raised_at); t.textContent = when(a.raised_at);
    var td = document.createElement("td"); td.appendChild(t); row.appendChild(td);
    var sev = cell(row, ""); var badge = document.createElement("span"); badge.className = "badge sev-" + a.severity; badge.textContent = label("severity", a.severity); sev.appendChild(badge);
    cell(row, label("alert_kind", a.kind));
    var title = cell(row, ""); var link = document.createElement("a"); link.href = detail.replace(/0\/$/, a.id + "/"); link.textContent = english ? a.title_en : a.title; title.appendChild(link);
    cell(row, a.project);
    var st = cell(row, label("alert", a.status)); st.className = "status";
    return row;
  }

  function upsert(a) {
    var old = body.querySelector('tr[data-alert="' + a.id + '"]');
    var row = render(a);
    if (old) { body.replaceChild(row, old); return; }
    var empty = body.querySelector("tr.empty"); if (empty) empty.remove();
    body.insertBefore(row, body.firstChild);
  }

  function connect() {
    var proto = location.protocol === "https:" ? "wss://" : "ws://";
    var ws = new WebSocket(proto + location.host + table.getAttribute("data-ws"));
    ws.onopen = function () { status.setAttribute("data-state", "live"); status.textContent = "● " + gettext("live"); };
    ws.onclose = function () { status.setAttribute("data-state", "closed"); status.textContent = "○"; setTimeout(connect, 3000); };
    ws.onmessage = function (e) { var m = JSON.parse(e.data); if (m.type === "alert") upsert(m.alert); };
  }
  connect();
})();
