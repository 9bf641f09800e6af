/* Small page helpers, loaded on every page (no inline script: the CSP forbids it).
   - a button with data-print prints the page (it stays hidden without JavaScript);
   - a checkbox with data-tick-all="NAME" ticks or clears every checkbox named NAME. */
(function () {
  "use strict";
  Array.prototype.forEach.call(document.querySelectorAll("[data-print]"), function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });
  Array.prototype.forEach.call(document.querySelectorAll("input[data-tick-all]"), function (all) {
    all.addEventListener("click", function () {
      var name = all.getAttribute("data-tick-all");
      Array.prototype.forEach.call(document.querySelectorAll("input[type=checkbox]"), function (box) {
        if (box.name === name) { box.checked = all.checked; }
      });
    });
  });
}());
