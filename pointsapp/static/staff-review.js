/* Review queue: one box ticks every row shown. (The bulk confirmation is the server's: approving more
   than the limit at once shows a summary by capture batch and asks again, with or without this script.) */
(function () {
  "use strict";
  var all = document.getElementById("tick-all");
  if (!all) { return; }
  all.addEventListener("change", function () {
    Array.prototype.forEach.call(document.querySelectorAll("input[name=sub]"), function (b) { b.checked = all.checked; });
  });
}());
