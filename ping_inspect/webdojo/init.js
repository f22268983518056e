// Added to every page of a sample before the page's own scripts run.
// 1. Math.random is seeded (per sample) and the clock (Date) stands still (at the
//    environment's FIXED_TIME), so that pages which draw random ids or show the time look
//    the same on every run of a task. Timers still run in real time.
// 2. Tabs the page opens are counted (window.__pingPopups), so that the environment can
//    wait for a new tab after a click and follow it.
// 3. Pending fetches, XHRs and short timeouts are counted, so that the environment can
//    wait until a page has finished its own work after an action (window.__pingSettle).
// 4. Links and forms leading to javascript: URLs are not followed, service workers are
//    not registered, and both are reported.
//
// A tab opened by window.open starts with an empty document whose window the opened page
// then reuses, without running this script again: everything tied to a document is
// re-attached when the document has changed (watchDocument).
(() => {
  let state = __SEED__ >>> 0;
  Math.random = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };

  const RealDate = Date;
  const fixed = RealDate.parse("__FIXED_TIME__");
  function FixedDate(...args) {
    if (!new.target) return new RealDate(fixed).toString();
    return args.length ? new RealDate(...args) : new RealDate(fixed);
  }
  FixedDate.prototype = RealDate.prototype;
  FixedDate.now = () => fixed;
  FixedDate.parse = RealDate.parse;
  FixedDate.UTC = RealDate.UTC;
  window.Date = FixedDate;

  const SHORT_MS = 1500;
  const realSetTimeout = window.setTimeout.bind(window);
  const realClearTimeout = window.clearTimeout.bind(window);
  const timers = new Set();
  let requests = 0;
  let popups = 0;
  let leaving = false;
  let lastActivity = performance.now();
  const touch = () => (lastActivity = performance.now());

  // Document-bound watchers: DOM changes, clicks on links that open a tab.
  const observer = new MutationObserver(touch);
  const countTargetLinks = (event) => {
    const link = event.target instanceof Element && event.target.closest("a[target]");
    if (link && !["_self", "_top", "_parent"].includes(link.target)) popups += 1;
  };
  let watched = null;
  const watchDocument = () => {
    if (watched === document) return;
    watched = document;
    leaving = false;
    touch();
    observer.disconnect();
    observer.observe(document, {
      subtree: true, childList: true, attributes: true, characterData: true,
    });
    document.addEventListener("click", countTargetLinks, true);
  };
  watchDocument();

  // A document that is being left must not be read: the page to read is the next one.
  window.addEventListener("beforeunload", () => (leaving = true));
  if (window.navigation) {
    window.navigation.addEventListener("navigate", (event) => {
      if (!event.destination.sameDocument && !event.downloadRequest) leaving = true;
    });
  }

  window.setTimeout = function (handler, delay, ...args) {
    if (typeof handler !== "function" || Number(delay || 0) > SHORT_MS) {
      return realSetTimeout(handler, delay, ...args);
    }
    const id = realSetTimeout(() => {
      timers.delete(id);
      touch();
      handler(...args);
    }, delay);
    timers.add(id);
    return id;
  };
  window.clearTimeout = function (id) {
    timers.delete(id);
    return realClearTimeout(id);
  };

  const realFetch = window.fetch.bind(window);
  window.fetch = function (...args) {
    requests += 1;
    return realFetch(...args).finally(() => {
      requests -= 1;
      touch();
    });
  };
  // Reading a response's body is part of the request: pages update the DOM right after.
  for (const name of ["json", "text", "arrayBuffer", "blob", "formData"]) {
    const read = Response.prototype[name];
    Response.prototype[name] = function (...args) {
      requests += 1;
      return read.apply(this, args).finally(() => {
        requests -= 1;
        touch();
      });
    };
  }
  const realSend = XMLHttpRequest.prototype.send;
  XMLHttpRequest.prototype.send = function (...args) {
    requests += 1;
    this.addEventListener("loadend", () => {
      requests -= 1;
      touch();
    }, { once: true });
    return realSend.apply(this, args);
  };

  // Links and forms that lead to a javascript: URL are not followed, and no service
  // worker is registered (Playwright blocks them too): the environment counts these, from
  // this console message, as blocked.
  const report = console.error.bind(console);
  const refuseScriptUrl = (event, url) => {
    if (!/^javascript:/i.test(url || "")) return;
    event.preventDefault();  // the page's own click handlers still run
    report("__REFUSED_MESSAGE__" + url);
  };
  if (navigator.serviceWorker) {
    navigator.serviceWorker.register = (url) => {
      let href = String(url);
      try { href = new URL(url, location.href).href; } catch {}
      report("__REFUSED_MESSAGE__" + href);
      return Promise.reject(new DOMException("Service workers are blocked", "SecurityError"));
    };
  }
  // No peer-to-peer connections: WebRTC (STUN/TURN over UDP) and WebTransport (QUIC)
  // would bypass the proxy. Each attempt is refused and reported (the browser also runs
  // under a seccomp filter that gives it no UDP socket at all).
  for (const name of ["RTCPeerConnection", "webkitRTCPeerConnection", "RTCDataChannel",
                      "RTCRtpSender", "RTCRtpReceiver", "RTCIceTransport", "RTCDtlsTransport",
                      "RTCSctpTransport", "RTCIceCandidate", "WebTransport"]) {
    if (!(name in window)) continue;
    const refused = function (config) {
      let servers = "";
      try { servers = JSON.stringify((config && (config.iceServers || config)) || ""); } catch {}
      report("__REFUSED_MESSAGE__" + name.toLowerCase() + ":" + servers);
      throw new DOMException(name + " is blocked", "NotSupportedError");
    };
    try {
      Object.defineProperty(window, name, {value: refused, writable: false, configurable: false});
    } catch {}
  }
  window.addEventListener("click", (event) => {
    const link = event.target instanceof Element && event.target.closest("a[href], area[href]");
    if (link) refuseScriptUrl(event, link.href);
  }, true);
  window.addEventListener("submit", (event) => {
    refuseScriptUrl(event, event.target instanceof HTMLFormElement && event.target.action);
  }, true);

  const realOpen = window.open;
  window.open = function (...args) {
    popups += 1;
    return realOpen.apply(window, args);
  };
  window.__pingPopups = () => popups;

  window.__pingBusy = () => {
    watchDocument();
    return { requests, timers: timers.size, leaving, idleMs: performance.now() - lastActivity };
  };

  // Resolves once the page is loaded, has no pending request or short timer, is not being
  // left, and nothing has happened for quietMs (DOM change, request end, timer); or after
  // maxMs. (When the document is left meanwhile, the caller's evaluation fails and it
  // reads the next document.)
  window.__pingSettle = (quietMs, maxMs) =>
    new Promise((resolve) => {
      watchDocument();
      const start = performance.now();
      const check = () => {
        const now = performance.now();
        const idle = requests === 0 && timers.size === 0 && !leaving &&
          document.readyState === "complete";
        if ((idle && now - lastActivity >= quietMs) || now - start >= maxMs) {
          resolve(now - start);
        } else {
          realSetTimeout(check, 5);
        }
      };
      check();
    });
})();
