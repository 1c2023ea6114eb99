// Mailroom console: keyboard navigation of the thread list. Served from this server only
// (the page's Content-Security-Policy allows no inline or remote script).
(function () {
  "use strict";
  // The SSE extension asks htmx.createEventSource for its connection when that is defined
  // (this script runs before the extension): mark the page live while the stream is open,
  // so the header shows it and tests know when updates will arrive.
  //
  // A page left for another keeps its stream open while the browser holds it in the
  // back/forward cache, and a browser opens at most six HTTP/1.1 connections to one server:
  // six pages visited would leave none for the next page. Streams close when the page is
  // hidden; a page shown again from the cache reloads, to be current and live again.
  var streams = [];
  if (window.htmx && !htmx.createEventSource) {
    htmx.createEventSource = function (url) {
      var es = new EventSource(url, { withCredentials: true });
      var root = document.documentElement;
      es.addEventListener("open", function () { root.dataset.live = "open"; });
      es.addEventListener("error", function () { root.dataset.live = "reconnecting"; });
      streams.push(es);
      return es;
    };
  }
  window.addEventListener("pagehide", function () {
    streams.forEach(function (es) { es.close(); });
    streams = [];
    delete document.documentElement.dataset.live;
  });
  window.addEventListener("pageshow", function (e) {
    if (e.persisted) location.reload();
  });
  function rows() {
    var list = document.querySelector("[data-keynav]");
    return list ? Array.prototype.slice.call(list.querySelectorAll("a.row")) : [];
  }
  function typing(el) {
    return el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT" || el.isContentEditable);
  }
  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey || typing(document.activeElement)) return;
    var all = rows();
    if (e.key === "/") {
      var q = document.getElementById("q");
      if (q) { e.preventDefault(); q.focus(); }
      return;
    }
    if (!all.length) return;
    var i = all.indexOf(document.activeElement);
    if (e.key === "j" || e.key === "ArrowDown") {
      e.preventDefault();
      all[Math.min(i + 1, all.length - 1)].focus();
    } else if (e.key === "k" || e.key === "ArrowUp") {
      e.preventDefault();
      all[Math.max(i - 1, 0)].focus();
    } else if (e.key === "o" && i >= 0) {
      all[i].click();
    }
  });
})();
