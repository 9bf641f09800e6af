/* Capture in the courtyard, with or without signal.
   - Ticks are saved on the phone (localStorage) as they are made; Back, refresh or a closed tab lose none.
   - Submit puts the batch in a queue on the phone with its idempotency key and sends it; without
     signal it stays queued and is sent again (same key: recorded once) when signal returns.
   - A service worker (HTTPS or localhost only) keeps the capture pages for opening without signal;
     on plain http (a village LAN) the queue and the retry loop still work, only opening needs signal.
   - Search by name or pinyin, one tap for a whole household, a live count, QR card scanning.
   The page works without this script: people are ticked and submitted as a plain form. */
(function () {
  "use strict";
  var form = document.querySelector("form.capture-form");
  var home = document.getElementById("capture-home");
  var root = form || home;
  if (!root) { return; }
  var user = root.getAttribute("data-user") || "0";
  var PREFIX = "pa1:" + user + ":";
  var QKEY = PREFIX + "queue";
  var RETRY_MS = 15000;
  var statusEl = document.getElementById("sync");
  var memory = {};
  var store = (function () {
    try {
      var s = window.localStorage;
      s.setItem("pa1:probe", "1");
      s.removeItem("pa1:probe");
      return s;
    } catch (e) { return null; }
  }());

  function t(name) { return root.getAttribute("data-t-" + name) || ""; }
  function all(sel, scope) { return Array.prototype.slice.call((scope || document).querySelectorAll(sel)); }
  function load(k, dflt) {
    var raw = store ? store.getItem(k) : memory[k];
    if (!raw) { return dflt; }
    try { return JSON.parse(raw); } catch (e) { return dflt; }
  }
  function save(k, v) {
    var raw = v === null ? null : JSON.stringify(v);
    try {
      if (!store) { if (raw === null) { delete memory[k]; } else { memory[k] = raw; } return true; }
      if (raw === null) { store.removeItem(k); } else { store.setItem(k, raw); }
      return true;
    } catch (e) { return false; }  // full
  }
  function newKey() {
    var a = new Uint8Array(16);
    (window.crypto || window.msCrypto).getRandomValues(a);
    return Array.prototype.map.call(a, function (b) { return (b < 16 ? "0" : "") + b.toString(16); }).join("");
  }
  function queue() { return load(QKEY, []); }
  function setQueue(q) { return save(QKEY, q.length ? q : null); }

  // --- the status line: what is waiting on this phone --------------------------------------
  var needLogin = false;
  var lastError = "";
  function showStatus() {
    if (!statusEl) { return; }
    var q = queue();
    var waiting = q.filter(function (i) { return !i.f; }).length;
    var parts = [];
    if (lastError) { parts.push(t("failed") + " " + lastError); }
    q.forEach(function (i) { if (i.f && (!form || String(i.a) !== form.getAttribute("data-activity"))) { parts.push(t("failed") + " " + i.f); } });
    if (waiting) { parts.push((needLogin ? t("login") : t("wait")).replace("{n}", String(waiting))); }
    statusEl.textContent = parts.join(" ");
    statusEl.hidden = !parts.length;
    statusEl.setAttribute("data-waiting", String(waiting));
  }

  // --- sending the queue ---------------------------------------------------------------------
  function csrfToken() {
    var el = document.querySelector("input[name=csrf_token]");
    return (el && el.value) || (home && home.getAttribute("data-csrf")) || "";
  }
  function dataUrlBlob(url) {
    var parts = url.split(",");
    var bin = atob(parts[1]);
    var buf = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) { buf[i] = bin.charCodeAt(i); }
    return new Blob([buf], { type: "image/jpeg" });
  }
  function post(item, token) {
    var fd = new FormData();
    fd.append("csrf_token", token || csrfToken() || item.c || "");
    fd.append("key", item.k);
    item.p.forEach(function (id) { fd.append("p", id); });
    item.h.forEach(function (id) { fd.append("h", id); });
    Object.keys(item.q).forEach(function (ref) { fd.append("q-" + ref, item.q[ref]); });
    if (item.n) { fd.append("note", item.n); }
    if (item.ph) { fd.append("photo", dataUrlBlob(item.ph), "photo.jpg"); }
    return fetch(item.u, { method: "POST", body: fd, credentials: "same-origin", redirect: "manual",
                           headers: { "X-Capture": "1" } }).then(function (res) {
      if (res.type === "opaqueredirect" || res.status === 401 || res.status === 403) { return { stop: "login" }; }
      var type = res.headers.get("Content-Type") || "";
      if (type.indexOf("application/json") === -1) { return { stop: "server" }; }
      return res.json().then(function (body) {
        if (body.ok) { return { done: body.url }; }
        if (body.csrf && !token) {  // the session's token changed: take a fresh one and try once more
          return fetch(item.u, { credentials: "same-origin" }).then(function (r) { return r.text(); }).then(function (html) {
            var m = /name="csrf_token" type="hidden" value="([^"]+)"/.exec(html);
            return m ? post(item, m[1]) : { stop: "login" };
          });
        }
        return { failed: (body.errors || []).join(" ") };
      });
    });
  }
  function dropItem(key, failed) {
    var q = queue().filter(function (i) {
      if (i.k !== key) { return true; }
      if (failed) { i.f = failed; i.ph = null; return true; }
      return false;
    });
    setQueue(q);
  }
  var sending = null;
  function flush(wantKey) {
    if (sending) { return sending.then(function () { return flush(wantKey); }); }
    if (!window.fetch) { return Promise.resolve(null); }
    var items = queue().filter(function (i) { return !i.f; });
    var goTo = null;
    if (!items.length) { showStatus(); return Promise.resolve(null); }
    function next(n) {
      if (n >= items.length) { return Promise.resolve(); }
      var item = items[n];
      return post(item).then(function (out) {
        if (out.stop) { needLogin = out.stop === "login"; return null; }
        needLogin = false;
        if (out.done) {
          dropItem(item.k);
          settled(item, true);
          if (item.k === wantKey) { goTo = out.done; }
        } else {
          item.f = out.failed || "?";
          dropItem(item.k, item.f);
          settled(item, false);
        }
        return next(n + 1);
      }, function () { return null; });  // no signal: keep it for the next try
    }
    sending = next(0).then(function () {
      sending = null;
      showStatus();
      return goTo;
    });
    return sending;
  }
  window.addEventListener("online", function () { flush(); });
  setInterval(function () { if (queue().length) { flush(); } }, RETRY_MS);

  // --- the service worker: open capture without signal --------------------------------------
  if ("serviceWorker" in navigator && root.getAttribute("data-sw")) {
    navigator.serviceWorker.register(root.getAttribute("data-sw"), { scope: "/" }).then(function () {
      return navigator.serviceWorker.ready;
    }).then(function (reg) {
      var keep = home ? (home.getAttribute("data-keep") || "").split(" ").filter(Boolean) : [];
      if (!navigator.serviceWorker.controller) { keep.push(location.pathname); }  // this load did not pass it
      if (keep.length && reg.active) { reg.active.postMessage({ type: "keep", urls: keep }); }
      var lib = form && form.getAttribute("data-qr-lib");
      if (lib && reg.active && !("BarcodeDetector" in window)) {  // scanning offline needs the decoder kept too
        reg.active.postMessage({ type: "keep-static", urls: [lib] });
      }
    }).catch(function () { /* no worker (plain http): the queue still works */ });
  }

  var settled = function () {};
  if (!form) { showStatus(); flush(); return; }

  // --- the marking form -----------------------------------------------------------------------
  var aid = form.getAttribute("data-activity");
  var SKEY = PREFIX + "a" + aid;
  var keyInput = form.querySelector("input[name=key]");
  var note = form.querySelector("[name=note]");
  var photo = form.querySelector("input[name=photo]");
  var find = document.getElementById("find");
  var count = document.getElementById("marked-count");
  var state = null;
  all("[data-js-only]").forEach(function (el) { el.hidden = false; });

  function marks() { return all("input[name=p],input[name=h]", form); }
  function box(name, id) { return form.querySelector("input[name=" + name + "][value=\"" + id + "\"]"); }
  function row(el) { return el.closest("[data-person]") || el.closest("legend") || el.parentNode; }
  function qtyOf(el) { var r = row(el); return r ? r.querySelector("input.qty") : null; }

  function collect() {
    var st = { k: state.k, p: [], h: [], q: {}, n: note ? note.value : "" };
    marks().forEach(function (b) {
      if (b.disabled || !b.checked) { return; }
      st[b.name].push(b.value);
      var qty = qtyOf(b);
      if (qty && qty.value) { st.q[(b.name === "h" ? "h" : "") + b.value] = qty.value; }
    });
    return st;
  }
  function persist() {
    state = collect();
    save(SKEY, state);
    refreshCount();
  }
  function tag(b, text, cls) {
    var label = b.closest("label");
    var old = label.querySelector("b.tag");
    if (!old) { old = document.createElement("b"); old.className = "tag"; label.appendChild(old); }
    old.textContent = text;
    old.className = "tag " + (cls || "");
  }
  function markQueued() {
    queue().forEach(function (item) {
      if (String(item.a) !== aid || item.f) { return; }
      ["p", "h"].forEach(function (name) {
        item[name].forEach(function (id) {
          var b = box(name, id);
          if (!b) { return; }
          b.checked = true;
          b.disabled = true;
          tag(b, t("queued"), "queued");
        });
      });
    });
  }
  settled = function (item, ok) {
    if (String(item.a) !== aid) { return; }
    ["p", "h"].forEach(function (name) {
      item[name].forEach(function (id) {
        var b = box(name, id);
        if (!b) { return; }
        if (ok) { tag(b, t("done"), "done"); } else { b.disabled = false; tag(b, "", "gone"); }
      });
    });
    if (!ok) {  // refused by the server: the ticks come back to the form, with the reason
      restore({ p: item.p, h: item.h, q: item.q, n: item.n });
      lastError = item.f || "";
      dropItem(item.k);
      persist();
    }
    refreshCount();
  };

  function household(toggle) {  // its members here and those listed at the top ("came before")
    return all("[data-hh=\"" + toggle.closest("fieldset").getAttribute("data-hh") + "\"] input[name=p]:not(:disabled)", form);
  }
  function refreshCount() {
    if (count) { count.textContent = String(marks().filter(function (b) { return b.checked && !b.disabled; }).length); }
    all("input[data-household]", form).forEach(function (toggle) {
      var members = household(toggle);
      var ticked = members.filter(function (b) { return b.checked; }).length;
      toggle.checked = members.length > 0 && ticked === members.length;
      toggle.indeterminate = ticked > 0 && ticked < members.length;
    });
  }
  function restore(st) {
    ["p", "h"].forEach(function (name) {
      (st[name] || []).forEach(function (id) {
        var b = box(name, id);
        if (b && !b.disabled) { b.checked = true; }
      });
    });
    Object.keys(st.q || {}).forEach(function (ref) {
      var b = ref.charAt(0) === "h" ? box("h", ref.slice(1)) : box("p", ref);
      var qty = b && qtyOf(b);
      if (qty && !qty.value) { qty.value = st.q[ref]; }
    });
    if (note && st.n && !note.value) { note.value = st.n; }
  }
  function start() {
    state = load(SKEY, null);
    if (!state || !state.k) { state = { k: newKey(), p: [], h: [], q: {}, n: "" }; }
    keyInput.value = state.k;
    // a batch the server refused (sent in the background): its ticks come back to the form
    queue().forEach(function (item) {
      if (String(item.a) === aid && item.f) { restore(item); lastError = item.f; dropItem(item.k); }
    });
    restore(state);
    markQueued();
    persist();
    showStatus();
  }

  // one tap for a whole household (per-person rules)
  all("fieldset.hh", form).forEach(function (fs) {
    var legend = fs.querySelector("legend");
    if (!legend || legend.querySelector("input") || !fs.querySelector("input[name=p]")) { return; }
    var label = document.createElement("label");
    label.className = "mark all";
    var cb = document.createElement("input");
    cb.type = "checkbox";
    cb.setAttribute("data-household", "");
    label.appendChild(cb);
    label.appendChild(document.createTextNode(t("all")));
    legend.appendChild(label);
  });

  form.addEventListener("change", function (ev) {
    var el = ev.target;
    if (el.hasAttribute && el.hasAttribute("data-household")) {
      household(el).forEach(function (b) { b.checked = el.checked; });
    }
    persist();
  });
  form.addEventListener("input", function (ev) {
    var el = ev.target;
    if (el.classList && el.classList.contains("qty") && el.value && Number(el.value) > 0) {
      var b = row(el).querySelector("input[name=p],input[name=h]");
      if (b && !b.disabled) { b.checked = true; }  // typing 3 hours ticks the person
    }
    if (el !== find && el.type !== "checkbox") { persist(); }  // checkboxes: see "change"
  });

  function matches(keys, q) {
    return !q || keys.toLowerCase().split(/\s+/).some(function (k) { return k.indexOf(q) !== -1; });
  }
  function filter(test) {
    all("[data-person]", form).forEach(function (p) { p.hidden = !test(p); });
    all("fieldset.hh", form).forEach(function (fs) {
      var people = all("[data-person]", fs);
      fs.hidden = people.length ? people.every(function (p) { return p.hidden; }) : !test(fs);
    });
  }
  if (find) {
    find.addEventListener("input", function () {
      var q = find.value.trim().toLowerCase();
      filter(function (el) { return matches(el.getAttribute("data-keys") || "", q); });
    });
  }

  function withPhoto(item, done) {
    var file = photo && photo.files && photo.files[0];
    if (!file || !window.FileReader) { done(); return; }
    var reader = new FileReader();
    reader.onload = function () {
      var img = new Image();
      img.onload = function () {  // keep it small enough for the phone's storage
        var scale = Math.min(1, 1600 / Math.max(img.width, img.height));
        var c = document.createElement("canvas");
        c.width = Math.round(img.width * scale);
        c.height = Math.round(img.height * scale);
        c.getContext("2d").drawImage(img, 0, 0, c.width, c.height);
        try { item.ph = c.toDataURL("image/jpeg", 0.8); } catch (e) { item.ph = null; }
        done();
      };
      img.onerror = function () { done(); };
      img.src = reader.result;
    };
    reader.onerror = function () { done(); };
    reader.readAsDataURL(file);
  }

  form.addEventListener("submit", function (ev) {
    if (!window.fetch || !window.FormData || !window.Promise) { return; }  // a plain post
    ev.preventDefault();
    var st = collect();
    lastError = "";
    if (!st.p.length && !st.h.length) {
      var just = queue().some(function (i) { return String(i.a) === aid && Date.now() - i.t < 3000; });
      if (!just) { lastError = t("none"); showStatus(); }  // (a double tap's second submit says nothing)
      return;
    }
    var item = { k: st.k, a: aid, u: location.pathname, p: st.p, h: st.h, q: st.q, n: st.n, c: csrfToken(),
                 t: Date.now() };
    withPhoto(item, function () {
      var q = queue();
      q.push(item);
      if (!setQueue(q)) { item.ph = null; setQueue(q); }  // storage full: keep the marks, not the photo
      state = { k: newKey(), p: [], h: [], q: {}, n: "" };  // the next batch gets a new key
      keyInput.value = state.k;
      marks().forEach(function (b) { if (!b.disabled) { b.checked = false; } });
      all("input.qty", form).forEach(function (el) { el.value = ""; });
      if (note) { note.value = ""; }
      if (photo) { photo.value = ""; }
      markQueued();
      persist();
      showStatus();
      flush(item.k).then(function (url) { if (url) { location.href = url; } });
    });
  });
  window.addEventListener("pageshow", function (ev) { if (ev.persisted) { start(); } });

  // --- scanning household QR cards ------------------------------------------------------------
  var scanBtn = document.getElementById("scan");
  var scanner = document.getElementById("scanner");
  var video = document.getElementById("scan-video");
  var scanMsg = document.getElementById("scan-msg");
  var stream = null;
  var seen = {};
  function fnv(s) {  // the same hash as staff/services.py card_hash
    var h = 0x811c9dc5;
    for (var i = 0; i < s.length; i++) { h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0; }
    return ("0000000" + h.toString(16)).slice(-8);
  }
  function loadScript(src) {
    return new Promise(function (resolve, reject) {
      var s = document.createElement("script");
      s.src = src;
      s.onload = resolve;
      s.onerror = reject;
      document.head.appendChild(s);
    });
  }
  function decoder() {
    var canvas = document.createElement("canvas");
    var ctx = canvas.getContext("2d", { willReadFrequently: true });
    function bundled() {
      return loadScript(form.getAttribute("data-qr-lib")).then(function () {
        return function () {
          var w = video.videoWidth, h = video.videoHeight;
          if (!w || !h) { return Promise.resolve(null); }
          var scale = Math.min(1, 640 / Math.max(w, h));
          canvas.width = Math.round(w * scale);
          canvas.height = Math.round(h * scale);
          ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
          var img = ctx.getImageData(0, 0, canvas.width, canvas.height);
          var code = window.jsQR(img.data, img.width, img.height, { inversionAttempts: "dontInvert" });
          return Promise.resolve(code ? code.data : null);
        };
      });
    }
    if (!("BarcodeDetector" in window) || !window.BarcodeDetector.getSupportedFormats) { return bundled(); }
    return window.BarcodeDetector.getSupportedFormats().then(function (formats) {
      if (formats.indexOf("qr_code") === -1) { return bundled(); }
      var det = new window.BarcodeDetector({ formats: ["qr_code"] });
      return function () {
        return det.detect(video).then(function (codes) { return codes.length ? codes[0].rawValue : null; });
      };
    }, bundled);
  }
  function onCode(text) {
    var m = /\/h\/([A-Za-z0-9_-]{8,})/.exec(text || "");
    var hits = m ? all("[data-qr=\"" + fnv(m[1]) + "\"]", form) : [];
    if (!hits.length) { scanMsg.textContent = t("scan-none"); return; }
    if (find) { find.value = ""; }
    filter(function (el) {  // show just this household
      return hits.indexOf(el) !== -1 || hits.indexOf(el.closest("fieldset.hh")) !== -1;
    });
    var open = [];
    hits.forEach(function (el) {
      all("input[name=p],input[name=h]", el).forEach(function (b) { if (!b.disabled && open.indexOf(b) === -1) { open.push(b); } });
    });
    var first = hits[0].querySelector("legend") || hits[0];
    scanMsg.textContent = first.textContent.trim();
    if (open.length === 1 || (open.length && open[0].name === "h")) { open[0].checked = true; persist(); }
  }
  function stopScan() {
    if (stream) { stream.getTracks().forEach(function (tr) { tr.stop(); }); }
    stream = null;
    scanner.hidden = true;
  }
  function scanLoop(detect) {
    if (!stream) { return; }
    detect().then(function (text) {
      if (text && !seen[text]) {
        seen[text] = true;
        onCode(text);
        setTimeout(function () { delete seen[text]; }, 4000);
      }
    }, function () { return null; }).then(function () { setTimeout(function () { scanLoop(detect); }, 200); });
  }
  if (scanBtn) {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || !window.Promise) {
      scanBtn.parentNode.hidden = true;  // browsers give the camera only to https pages (and localhost)
    }
    scanBtn.addEventListener("click", function () {
      scanner.hidden = false;
      scanMsg.textContent = "";
      navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false }).then(function (s) {
        stream = s;
        video.srcObject = s;
        video.play();
        return decoder().then(scanLoop);
      }).catch(function () { scanMsg.textContent = t("camera"); });
    });
    document.getElementById("scan-stop").addEventListener("click", stopScan);
  }

  start();
  flush();
}());
