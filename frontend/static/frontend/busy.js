/* Feedback on long actions (verify, replay, export, archive): a form or link marked data-busy="text" shows
 * that text with a progress bar while the next page is being prepared, and its buttons are disabled so a
 * second click does not start the work twice. No inline script (the page policy forbids it). */
(function () {
  "use strict";
  function show(el) {
    var text = el.getAttribute("data-busy");
    var box = document.createElement("p");
    box.className = "busy";
    box.setAttribute("role", "status");
    box.setAttribute("aria-live", "polite");
    var bar = document.createElement("progress");  // indeterminate: the server does not stream progress
    bar.setAttribute("aria-label", text);
    box.appendChild(bar);
    box.appendChild(document.createTextNode(" " + text));
    el.insertAdjacentElement("afterend", box);
    el.setAttribute("data-busy-shown", "1");
    return box;
  }
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!form.hasAttribute || !form.hasAttribute("data-busy") || ev.defaultPrevented) return;
    show(form);
    form.querySelectorAll("button[type=submit], input[type=submit]").forEach(function (b) {
      setTimeout(function () { b.disabled = true; }, 0);  // after the browser has taken the button's value
    });
  });
  document.addEventListener("click", function (ev) {
    var link = ev.target.closest && ev.target.closest("a[data-busy]");
    if (!link || link.getAttribute("data-busy-shown")) return;
    var box = show(link);
    if (link.hasAttribute("download")) {  // a download leaves the page as it is: take the bar away again
      setTimeout(function () { box.remove(); link.removeAttribute("data-busy-shown"); }, 4000);
    }
  });
})();
