// Statistics charts: Chart.js (served from the platform) over the JSON in <script id="stats-data">.
(function () {
  "use strict";
  var node = document.getElementById("stats-data");
  if (!node || typeof Chart === "undefined") return;
  var data = JSON.parse(node.textContent);
  var zh = (document.documentElement.lang || "zh-hans").indexOf("zh") === 0;
  var labels = JSON.parse((document.getElementById("status-labels") || {}).textContent || "{}");
  function label(family, code) { return (labels[family] || {})[code] || code; }
  var colours = ["#1565c0", "#2e7d32", "#ef6c00", "#6a1b9a", "#c62828", "#00838f"];
  function kindSets(field) {
    return Object.keys(data.kinds).map(function (k, i) {
      var kind = data.kinds[k];
      return { label: zh ? kind.label : kind.label_en, data: kind[field], backgroundColor: colours[i % colours.length] };
    });
  }
  function draw(id, config) {
    var canvas = document.getElementById(id);
    if (!canvas) return;
    config.options = Object.assign({ animation: false, responsive: true }, config.options || {});
    canvas.chart = new Chart(canvas, config);
    canvas.setAttribute("data-rendered", "1");
  }
  draw("chart-lots", { type: "bar", data: { labels: data.months, datasets: kindSets("lots") },
                       options: { scales: { x: { stacked: true }, y: { stacked: true } } } });
  draw("chart-value", { type: "bar", data: { labels: data.months, datasets: kindSets("value_yuan") },
                        options: { scales: { x: { stacked: true }, y: { stacked: true } } } });
  if (data.alerts) {
    var rules = Object.keys(data.alerts);
    var statuses = ["new", "acknowledged", "dismissed", "escalated"];
    draw("chart-alerts", { type: "bar", data: { labels: rules, datasets: statuses.map(function (s, i) {
      return { label: label("alert", s), data: rules.map(function (r) { return data.alerts[r][s] || 0; }), backgroundColor: colours[i] };
    }) }, options: { indexAxis: "y", scales: { x: { stacked: true }, y: { stacked: true } } } });
  }
  if (data.lot) {
    var prices = data.lot.prices_yuan;
    draw("chart-lot", { type: "scatter", data: { datasets: [{ label: gettext("valid prices (yuan)"),
      data: prices.map(function (p, i) { return { x: p, y: i + 1 }; }), backgroundColor: colours[0] }] } });
  }
  if (data.auction) {
    draw("chart-auction", { type: "line", data: { labels: data.auction.series.map(function (p) { return window.sunlight ? window.sunlight.formatSeconds(p[0]) : p[0]; }),
      datasets: [{ label: gettext("bid (yuan)"), data: data.auction.series.map(function (p) { return p[1]; }),
                   borderColor: colours[2], stepped: true }] } });
  }
})();
