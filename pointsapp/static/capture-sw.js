/* Service worker of the capture pages (served as /capture/sw.js with scope "/").
   It keeps the capture start page, the capture pages of today's activities (each holds the roster
   of the worker's groups) and their script and styles, so capture opens without signal.
   Ticks and queued submits are not kept here: the page keeps them in localStorage, which also
   works where no service worker is allowed (plain http on a village LAN).
   The server fills in VERSION and ASSETS (the versioned static URLs). */
"use strict";
var VERSION = "__VERSION__";
var ASSETS = __ASSETS__;
var PAGES = "pa-pages-v1";
var STATIC = "pa-static-" + VERSION;
var PAGE = /^\/(capture|activities\/\d+\/capture)$/;
var NETWORK_WAIT_MS = 5000;

self.addEventListener("install", function (ev) {
  ev.waitUntil(caches.open(STATIC).then(function (c) { return c.addAll(ASSETS); })
    .then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (ev) {
  ev.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k.indexOf("pa-static-") === 0 && k !== STATIC; })
      .map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

function keep(path, res) {
  // Only a real page of a signed-in worker: not a redirect to the sign-in page, not an error.
  // The body is read to its end first and the kept copy replaced only by a whole page: a signal lost
  // halfway through the download leaves the copy kept earlier in place.
  if (res && res.ok && !res.redirected && res.type === "basic") {
    var copy = res.clone();
    return copy.blob().then(function (body) {
      var kept = new Response(body, { status: copy.status, statusText: copy.statusText, headers: copy.headers });
      return caches.open(PAGES).then(function (c) { return c.put(path, kept); });
    }).then(function () { return res; });  // a body that broke off: the caller falls back to the kept copy
  }
  return Promise.resolve(res);
}

function page(req, path) {
  var network = fetch(req).then(function (res) { return keep(path, res); });
  var cached = caches.open(PAGES).then(function (c) { return c.match(path); });
  return new Promise(function (resolve, reject) {
    var done = false;
    function fallback() {
      cached.then(function (hit) {
        if (hit && !done) { done = true; resolve(hit); }
      });
    }
    var timer = setTimeout(fallback, NETWORK_WAIT_MS);  // a crawling signal: show the kept copy
    network.then(function (res) {
      clearTimeout(timer);
      if (!done) { done = true; resolve(res); }
    }, function (err) {
      clearTimeout(timer);
      cached.then(function (hit) {
        if (done) { return; }
        done = true;
        if (hit) { resolve(hit); } else { reject(err); }
      });
    });
  });
}

self.addEventListener("fetch", function (ev) {
  var req = ev.request;
  if (req.method !== "GET") { return; }
  var url = new URL(req.url);
  if (url.origin !== self.location.origin) { return; }
  if (url.pathname === "/login") {  // signed out or expired: forget the kept rosters
    caches.delete(PAGES);
    return;
  }
  if (url.pathname.indexOf("/static/") === 0 && url.search) {
    ev.respondWith(caches.match(req).then(function (hit) {
      return hit || fetch(req).then(function (res) {
        if (res.ok) {
          var copy = res.clone();
          caches.open(STATIC).then(function (c) { c.put(req, copy); });
        }
        return res;
      });
    }));
    return;
  }
  if (PAGE.test(url.pathname)) { ev.respondWith(page(req, url.pathname)); }
});

self.addEventListener("message", function (ev) {
  var data = ev.data || {};
  if (data.type === "keep-static" && data.urls) {  // versioned static files (the QR decoder)
    var statics = data.urls.filter(function (u) { return u.indexOf("/static/") === 0 && u.indexOf("?v=") > 0; });
    var kept = caches.open(STATIC).then(function (c) {
      return Promise.all(statics.map(function (u) {
        return c.match(u).then(function (hit) { return hit || c.add(u); }).catch(function () { return null; });
      }));
    });
    if (ev.waitUntil) { ev.waitUntil(kept); }
    return;
  }
  if (data.type !== "keep" || !data.urls) { return; }
  var paths = data.urls.filter(function (u) { return PAGE.test(u); });
  var work = Promise.all(paths.map(function (path) {
    return fetch(path, { credentials: "same-origin" }).then(function (res) { return keep(path, res); })
      .catch(function () { return null; });
  })).then(function () {
    if (ev.source && ev.source.postMessage) { ev.source.postMessage({ type: "kept", urls: paths }); }
  });
  if (ev.waitUntil) { ev.waitUntil(work); }
});
