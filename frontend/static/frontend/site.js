/* Sunlight — small behaviours shared by every page (no inline scripts or on*= handlers anywhere: the
 * Content-Security-Policy allows scripts from this site's own files only). */
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  const gettext = window.gettext ? window.gettext : function (text) { return text; };
  const tr = function (text) { return gettext(text); };

  // One time format on every page, in Beijing time (the same as the `local` template filter)
  const beijing = new Intl.DateTimeFormat("en-CA", {
    timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", hour12: false,
  });
  const formatTime = function (value) {
    const d = value instanceof Date ? value : new Date(value);
    if (isNaN(d.getTime())) { return String(value || "—"); }
    const p = {};
    beijing.formatToParts(d).forEach(function (x) { p[x.type] = x.value; });
    return p.year + "-" + p.month + "-" + p.day + " " + (p.hour === "24" ? "00" : p.hour) + ":" + p.minute;
  };
  const formatSeconds = function (value) {  // a clock time (auction history), Beijing time, with seconds
    const d = value instanceof Date ? value : new Date(value);
    if (isNaN(d.getTime())) { return String(value || ""); }
    return d.toLocaleTimeString("en-GB", { timeZone: "Asia/Shanghai", hour12: false });
  };
  window.sunlight = { formatTime: formatTime, formatSeconds: formatSeconds, tr: tr };

  // the header's menu button (phones): opens and closes the menu
  const menuButton = document.getElementById("menu-button");
  if (menuButton) {
    menuButton.addEventListener("click", function () {
      const header = document.getElementById("top");
      const open = header.classList.toggle("open");
      menuButton.setAttribute("aria-expanded", open ? "true" : "false");
    });
  }

  // <button data-copy="…">: copies a long value (a hash, a key) shown truncated
  document.addEventListener("click", function (e) {
    const button = e.target.closest && e.target.closest("button[data-copy]");
    if (!button || !navigator.clipboard) { return; }
    navigator.clipboard.writeText(button.getAttribute("data-copy")).then(function () {
      button.textContent = gettext("Copied");
    });
  });
  // <a data-back href="…">: go back in history (the href is where it goes without history)
  document.addEventListener("click", function (e) {
    const link = e.target.closest && e.target.closest("a[data-back]");
    if (link && window.history.length > 1) { e.preventDefault(); window.history.back(); }
  });
  // the supervisor's replay slider (audit/console.html): shows the moment, replays it when let go
  const slider = document.getElementById("slider");
  if (slider && slider.list) {
    const option = function () { return slider.list.options[slider.value]; };
    slider.addEventListener("input", function () {
      document.getElementById("slider-at").textContent = option().label;
    });
    slider.addEventListener("change", function () {
      window.location.search = "at=" + encodeURIComponent(option().value);
    });
  }
})();
