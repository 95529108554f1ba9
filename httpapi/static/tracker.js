// Kith's tracker: page views (history navigations too), clicks on elements
// marked data-kith-track, scroll depth, engaged time, form interactions (field
// names, never values) and dataLayer events, sent in batches to Kith's
// Segment-compatible events API. No dependencies. The snippet:
//
//   <script>
//     window.kith = window.kith || function () { (kith.q = kith.q || []).push(arguments); };
//     kith("init", { host: "https://kith.example.com", writeKey: "…",
//                    dataLayerEvents: ["view_item", "add_to_cart", "purchase"], requireConsent: false });
//   </script>
//   <script async src="https://kith.example.com/static/tracker.js"></script>
//
// kith("track", name, properties), kith("identify", traits), kith("page"),
// kith("consent", true|false): false stops tracking and forgets what is queued.
(function () {
  "use strict";
  if (window.kith && window.kith.loaded) return;
  var queued = (window.kith && window.kith.q) || [];
  var cfg = { host: "", writeKey: "", dataLayerEvents: [], requireConsent: false, flushEvery: 2000, batchSize: 20, pingEvery: 15000 };
  var consent = null, queue = [], sending = false, backoff = 0, started = false;
  var anonymousID = visitorID();

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return "k" + Date.now().toString(36) + Math.random().toString(36).slice(2) + Math.random().toString(36).slice(2);
  }
  // The first-party visitor id the hosted forms use too.
  function visitorID() {
    var m = document.cookie.match(/(?:^|; )kith_aid=([^;]+)/);
    if (m) return decodeURIComponent(m[1]);
    var id = uuid();
    document.cookie = "kith_aid=" + encodeURIComponent(id) + "; max-age=31536000; path=/; SameSite=Lax";
    return id;
  }
  function allowed() { return consent === true || (consent === null && !cfg.requireConsent); }
  function context() {
    var c = { page: { path: location.pathname, url: location.href, title: document.title, referrer: document.referrer, search: location.search },
      userAgent: navigator.userAgent, locale: navigator.language, library: { name: "kith-tracker", version: "1" } };
    try { c.timezone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) {}
    var q = new URLSearchParams(location.search), campaign = {};
    ["source", "medium", "campaign", "term", "content"].forEach(function (k) {
      var v = q.get("utm_" + k);
      if (v) campaign[k === "campaign" ? "name" : k] = v;
    });
    if (Object.keys(campaign).length) c.campaign = campaign;
    return c;
  }
  function enqueue(msg) {
    if (!allowed()) return;
    msg.messageId = uuid();
    msg.anonymousId = anonymousID;
    msg.timestamp = new Date().toISOString();
    msg.context = context();
    queue.push(msg);
    if (queue.length >= cfg.batchSize) flush(false);
  }
  function body(batch) { return JSON.stringify({ writeKey: cfg.writeKey, sentAt: new Date().toISOString(), batch: batch }); }
  // flush sends what is queued; on page hide with sendBeacon (it outlives the
  // page). A failed send is retried with backoff; the messageIds make a retry
  // harmless.
  function flush(leaving) {
    if (!queue.length || !cfg.host || !allowed()) return;
    var url = cfg.host + "/v1/batch";
    if (leaving && navigator.sendBeacon) {
      var batch = queue.splice(0, 100);
      if (!navigator.sendBeacon(url, new Blob([body(batch)], { type: "text/plain" }))) queue = batch.concat(queue);
      return;
    }
    if (sending) return;
    sending = true;
    var batch = queue.splice(0, 100);
    fetch(url, { method: "POST", body: body(batch), headers: { "Content-Type": "text/plain" }, keepalive: true, credentials: "omit" })
      .then(function (r) {
        if (r.status >= 500 || r.status === 429) throw new Error("retry");
        backoff = 0; // 2xx, or a 4xx no retry can fix
      })
      .catch(function () {
        queue = batch.concat(queue);
        backoff = Math.min(backoff ? backoff * 2 : 1000, 60000);
      })
      .then(function () {
        sending = false;
        if (queue.length) setTimeout(function () { flush(false); }, backoff || 0);
      });
  }

  // Page views, including single-page-app navigations.
  var lastPath = null;
  function page() {
    var here = location.origin + location.pathname + location.search; // a #fragment is no new page
    if (here === lastPath) return;
    lastPath = here;
    resetPage();
    enqueue({ type: "page", name: document.title, properties: { path: location.pathname, url: location.href, title: document.title, referrer: document.referrer } });
  }
  ["pushState", "replaceState"].forEach(function (fn) {
    var orig = history[fn];
    history[fn] = function () { var r = orig.apply(this, arguments); setTimeout(page, 0); return r; };
  });
  window.addEventListener("popstate", page);

  // Clicks on marked elements: data-kith-track names the event, other
  // data-kith-* attributes are its properties.
  document.addEventListener("click", function (e) {
    var el = e.target && e.target.closest && e.target.closest("[data-kith-track]");
    if (!el) return;
    var props = { text: (el.textContent || "").trim().slice(0, 100) };
    if (el.href) props.href = el.href;
    Object.keys(el.dataset).forEach(function (k) {
      if (k !== "kithTrack" && k.indexOf("kith") === 0) props[k.charAt(4).toLowerCase() + k.slice(5)] = el.dataset[k];
    });
    enqueue({ type: "track", event: el.dataset.kithTrack, properties: props });
  }, true);

  // Scroll depth: 25, 50, 75 and 100 %, once each per page.
  var depths = {};
  function scrolled() {
    var doc = document.documentElement, max = Math.max(doc.scrollHeight - window.innerHeight, 1);
    var pct = Math.min(100, Math.round(100 * (window.scrollY || doc.scrollTop) / max));
    [25, 50, 75, 100].forEach(function (d) {
      if (pct >= d && !depths[d]) {
        depths[d] = true;
        enqueue({ type: "track", event: "Scroll Depth", properties: { percent: d, path: location.pathname } });
      }
    });
  }
  window.addEventListener("scroll", scrolled, { passive: true });

  // Engaged time: counted only while the page is visible and the visitor did
  // something in the last 30 s; sent as pings.
  var engaged = 0, lastActive = Date.now(), lastTick = Date.now(), unsent = 0;
  ["mousemove", "keydown", "scroll", "touchstart", "click"].forEach(function (t) {
    window.addEventListener(t, function () { lastActive = Date.now(); }, { passive: true });
  });
  function tick() {
    var now = Date.now();
    if (document.visibilityState === "visible" && now - lastActive < 30000) {
      engaged += now - lastTick;
      unsent += now - lastTick;
    }
    lastTick = now;
  }
  function ping() {
    tick();
    if (unsent >= 1000) {
      enqueue({ type: "track", event: "Engaged Time", properties: { seconds: Math.round(unsent / 1000), total_seconds: Math.round(engaged / 1000), path: location.pathname } });
      unsent = 0;
    }
  }
  function resetPage() { depths = {}; tick(); engaged = 0; unsent = 0; }

  // Form interactions: a field started (its name only), a form abandoned.
  var started_ = {}, submitted = {};
  function formName(f) { return (f && (f.getAttribute("name") || f.id)) || "form"; }
  document.addEventListener("input", function (e) {
    var el = e.target, f = el && el.form;
    if (!f || !el.name) return;
    var key = formName(f) + "/" + el.name;
    if (started_[key]) return;
    started_[key] = true;
    enqueue({ type: "track", event: "Form Field Started", properties: { form: formName(f), field: el.name } });
  }, true);
  document.addEventListener("submit", function (e) { submitted[formName(e.target)] = true; }, true);
  function abandoned() {
    var forms = {};
    Object.keys(started_).forEach(function (k) {
      var name = k.split("/")[0];
      if (!submitted[name]) (forms[name] = forms[name] || []).push(k.slice(name.length + 1));
    });
    Object.keys(forms).forEach(function (name) {
      enqueue({ type: "track", event: "Form Abandoned", properties: { form: name, fields: forms[name] } });
    });
    started_ = {};
  }

  // dataLayer: past and future pushes whose event is configured become track
  // events (the rest of the object is their properties).
  function fromDataLayer(obj) {
    if (!obj || typeof obj !== "object" || !obj.event || cfg.dataLayerEvents.indexOf(obj.event) < 0) return;
    var props = {};
    Object.keys(obj).forEach(function (k) { if (k !== "event" && k.indexOf("gtm.") !== 0) props[k] = obj[k]; });
    enqueue({ type: "track", event: obj.event, properties: props });
  }
  function listenDataLayer() {
    var dl = window.dataLayer = window.dataLayer || [];
    dl.forEach(fromDataLayer);
    var push = dl.push;
    dl.push = function () {
      var r = push.apply(dl, arguments);
      for (var i = 0; i < arguments.length; i++) fromDataLayer(arguments[i]);
      return r;
    };
  }

  function start() {
    if (started || !allowed()) return;
    started = true;
    page();
    listenDataLayer();
    setInterval(function () { flush(false); }, cfg.flushEvery);
    setInterval(ping, cfg.pingEvery);
  }
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") { ping(); abandoned(); flush(true); }
    else { lastTick = Date.now(); }
  });
  window.addEventListener("pagehide", function () { flush(true); });

  function api(cmd) {
    var a = Array.prototype.slice.call(arguments, 1);
    switch (cmd) {
      case "init":
        for (var k in a[0] || {}) cfg[k] = a[0][k];
        cfg.host = String(cfg.host || "").replace(/\/$/, "");
        start();
        break;
      case "consent":
        consent = !!a[0];
        if (!consent) { queue = []; return; }
        start();
        break;
      case "track":
        enqueue({ type: "track", event: String(a[0]), properties: a[1] || {} });
        break;
      case "identify":
        enqueue({ type: "identify", traits: a[0] || {} });
        flush(false);
        break;
      case "page":
        lastPath = null;
        page();
        break;
      case "flush":
        flush(false);
        break;
    }
  }
  window.kith = api;
  window.kith.loaded = true;
  queued.forEach(function (args) { api.apply(null, args); });
})();
