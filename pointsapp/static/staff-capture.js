/* Capture screen helpers: search by name or pinyin, one tap for a whole household, a live count.
   The page works without this script: people are ticked one by one. */
(function () {
  "use strict";
  var form = document.querySelector("form.capture-form");
  if (!form) { return; }
  var find = document.getElementById("find");
  var count = document.getElementById("marked-count");
  Array.prototype.forEach.call(document.querySelectorAll("[data-js-only]"), function (el) { el.hidden = false; });

  function boxes(scope, sel) { return Array.prototype.slice.call(scope.querySelectorAll(sel)); }

  function refreshCount() {
    if (count) { count.textContent = String(boxes(form, "input.mark-box:checked").length); }
    boxes(form, "fieldset.hh").forEach(function (hh) {
      var toggle = hh.querySelector("input[data-household]");
      if (!toggle) { return; }
      var members = boxes(hh, "input.mark-box:not(:disabled)");
      var ticked = members.filter(function (b) { return b.checked; }).length;
      toggle.checked = members.length > 0 && ticked === members.length;
      toggle.indeterminate = ticked > 0 && ticked < members.length;
    });
  }

  form.addEventListener("change", function (ev) {
    var t = ev.target;
    if (t.hasAttribute && t.hasAttribute("data-household")) {
      var hh = t.closest("fieldset.hh");
      boxes(hh, "input.mark-box:not(:disabled)").forEach(function (b) { b.checked = t.checked; });
    }
    refreshCount();
  });

  function matches(keys, q) {
    if (!q) { return true; }
    return keys.toLowerCase().split(/\s+/).some(function (k) { return k.indexOf(q) !== -1; });
  }

  if (find) {
    find.addEventListener("input", function () {
      var q = find.value.trim().toLowerCase();
      boxes(form, "fieldset.hh").forEach(function (hh) {
        var people = boxes(hh, "[data-person]");
        var any = false;
        if (people.length) {
          people.forEach(function (p) {
            var ok = matches(p.getAttribute("data-keys") || "", q);
            p.hidden = !ok;
            any = any || ok;
          });
        } else {
          any = matches(hh.getAttribute("data-keys") || "", q);
        }
        hh.hidden = !any;
      });
    });
  }
  refreshCount();
})();
