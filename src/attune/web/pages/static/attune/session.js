/* The dosing-session page's live parts (the page works without them).
 *
 * - Ticks the session clock ([data-since]) and the countdowns ([data-until]) every second between
 *   polls, against the server's clock (data-server-now on #live), not the device's.
 * - Never lets a poll replace the live section while someone is typing in it (an acknowledgement
 *   note), and never swaps in anything but the live section (e.g. a login page once the login
 *   has expired): live updates then pause and say so.
 * - Stops polling after 25 minutes without a key press or click, so an unattended screen does not
 *   keep the login alive (logins expire after 30 minutes of inactivity).
 */
(function () {
  "use strict";
  var skew = 0;
  var lastActivity = Date.now();
  var IDLE_MS = 25 * 60 * 1000;

  function readSkew() {
    var live = document.getElementById("live");
    var server = live && Date.parse(live.getAttribute("data-server-now"));
    if (server) { skew = server - Date.now(); }
  }

  function span(seconds) {
    var total = Math.max(0, Math.round(seconds));
    var h = Math.floor(total / 3600);
    var m = Math.floor((total % 3600) / 60);
    var s = total % 60;
    return (h ? h + " h " : "") + m + " min " + (s < 10 ? "0" : "") + s + " s";
  }

  function tick() {
    var now = Date.now() + skew;
    document.querySelectorAll("[data-since]").forEach(function (el) {
      el.textContent = span((now - Date.parse(el.getAttribute("data-since"))) / 1000);
    });
    document.querySelectorAll("[data-until]").forEach(function (el) {
      var left = (Date.parse(el.getAttribute("data-until")) - now) / 1000;
      el.textContent = left > 0 ? "in " + span(left) : (el.getAttribute("data-then") || "now");
    });
  }

  function pause(reason) {
    var note = document.getElementById("live-paused");
    if (note) { note.textContent = reason; note.hidden = false; }
  }

  function typing(section) {
    if (section.contains(document.activeElement) && document.activeElement.matches("input, textarea, select")) {
      return true;
    }
    return Array.prototype.some.call(section.querySelectorAll("input:not([type=hidden]), textarea"), function (field) {
      return field.value !== "";
    });
  }

  ["keydown", "pointerdown"].forEach(function (name) {
    document.addEventListener(name, function () { lastActivity = Date.now(); }, true);
  });

  document.addEventListener("htmx:beforeRequest", function (event) {
    if (event.detail.elt.id === "live" && Date.now() - lastActivity > IDLE_MS) {
      event.preventDefault();
      pause("Live updates paused after 25 minutes without activity: reload the page.");
    }
  });

  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.target.id !== "live") { return; }
    var text = event.detail.serverResponse || "";
    if (text.indexOf('id="live"') === -1) {
      event.detail.shouldSwap = false;
      pause("Live updates paused: reload the page (you may need to log in again).");
    } else if (typing(event.detail.target)) {
      event.detail.shouldSwap = false;  // the next poll brings the news once the note is sent
    }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target.id === "live" || event.detail.elt.id === "live") { readSkew(); tick(); }
  });

  document.addEventListener("DOMContentLoaded", function () { readSkew(); tick(); setInterval(tick, 1000); });
}());
