/* The auction room's live price curve: Chart.js (vendor/chart.umd.min.js, served by the platform).
 * auction.js calls SunlightAuctionChart.update(points) after every applied event, with the accepted bids
 * in order as {t: milliseconds since the epoch, fen: whole fen}; the curve is a step line in yuan against
 * Beijing time. No data of its own: it draws what the room already shows in its history table. */
(function (global) {
  "use strict";
  var BEIJING = { timeZone: "Asia/Shanghai", hour12: false };
  var chart = null;

  function canvas() { return global.document && global.document.getElementById("auction-curve"); }

  function update(points) {
    var el = canvas();
    if (!el || typeof global.Chart === "undefined") return;
    var data = points.map(function (p) { return { x: p.t, y: p.fen / 100 }; });
    if (chart === null) {
      chart = new global.Chart(el, {
        type: "line",
        data: { datasets: [{ label: el.dataset.label || "", data: data, stepped: true, borderColor: "#b3261e",
                             backgroundColor: "#b3261e", pointRadius: 2 }] },
        options: {
          animation: false, responsive: true, maintainAspectRatio: false, parsing: false,
          scales: {
            x: { type: "linear", ticks: { maxTicksLimit: 6, callback: function (v) {
              return new Date(v).toLocaleTimeString("zh-CN", BEIJING);
            } } },
            y: { ticks: { callback: function (v) { return "¥" + Number(v).toLocaleString("zh-CN"); } } }
          },
          plugins: { legend: { display: false }, tooltip: { callbacks: { title: function (items) {
            return items.length ? new Date(items[0].parsed.x).toLocaleTimeString("zh-CN", BEIJING) : "";
          } } } }
        }
      });
    } else {
      chart.data.datasets[0].data = data;
      chart.update("none");
    }
    el.dataset.points = String(points.length);
  }

  global.SunlightAuctionChart = { update: update };
})(typeof window !== "undefined" ? window : globalThis);
