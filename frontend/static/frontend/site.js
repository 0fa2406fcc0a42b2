/* Sunlight — small behaviours shared by every page (no inline scripts or on*= handlers anywhere: the
 * Content-Security-Policy allows scripts from this site's own files only). */
(function () {
  "use strict";
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
