/* Sunlight — the lists' small behaviours: <button data-print> prints the page (the print stylesheet,
 * css/lists-print.css, leaves out the navigation, forms and pagers). No inline scripts (CSP). */
(function () {
  "use strict";
  document.addEventListener("click", function (e) {
    const button = e.target.closest && e.target.closest("[data-print]");
    if (button) { e.preventDefault(); window.print(); }
  });
})();
