// Recording page: start at ?t=, follow playback in the transcript, seek on click, copy a link at
// the current time, find as you type. Without JavaScript the page still works: links carry ?t=,
// the media URL a #t= fragment, and "Find" is a plain form.
(function () {
  "use strict";
  var player = document.getElementById("player");
  var list = document.getElementById("transcript");
  if (!player || !list) return;
  var segments = Array.prototype.slice.call(list.querySelectorAll(".seg"));
  var start = parseFloat(player.dataset.start || "0") || 0;
  var current = list.querySelector(".seg.current");
  var follow = true; // auto-scroll; stops when the reader scrolls the transcript themselves
  var followButton = document.getElementById("follow");
  var programmaticScroll = 0;

  function scrollTo(seg) {
    if (!follow || !seg) return;
    programmaticScroll = Date.now();
    seg.scrollIntoView({ block: "nearest" });
  }

  function mark(seg, scroll) {
    if (seg === current) return;
    if (current) { current.classList.remove("current"); current.removeAttribute("aria-current"); }
    current = seg;
    if (!seg) return;
    seg.classList.add("current");
    seg.setAttribute("aria-current", "true");
    if (scroll) scrollTo(seg);
  }

  function segmentAt(time) {
    // The last segment begun; in the pause before a segment, the one about to play (as the page).
    var found = null;
    for (var i = 0; i < segments.length; i++) {
      var begins = parseFloat(segments[i].dataset.start);
      if (begins <= time + 0.05) { found = segments[i]; continue; }
      var ended = !found || parseFloat(found.dataset.end) < time;
      if (ended && begins - time <= 2) found = segments[i];
      break;
    }
    return found;
  }

  function seek(time) {
    player.currentTime = time;
    mark(segmentAt(time), true);
  }

  function setFollow(on) {
    follow = on;
    if (followButton) followButton.hidden = on;
    if (on) scrollTo(current);
  }

  if (start > 0) {
    var begin = function () { if (Math.abs(player.currentTime - start) > 0.5) seek(start); };
    if (player.readyState >= 1) begin(); else player.addEventListener("loadedmetadata", begin, { once: true });
  }
  if (current) current.scrollIntoView({ block: "center" });

  player.addEventListener("timeupdate", function () { mark(segmentAt(player.currentTime), true); });
  // live.js appends segments while a broadcast is captured.
  list.addEventListener("transcript:grew", function () {
    segments = Array.prototype.slice.call(list.querySelectorAll(".seg"));
  });

  list.addEventListener("scroll", function () {
    if (Date.now() - programmaticScroll > 300 && !player.paused) setFollow(false);
  });
  if (followButton) followButton.addEventListener("click", function () { setFollow(true); });

  list.addEventListener("click", function (event) {
    var link = event.target.closest("a.seek");
    if (!link) return;
    var seg = link.closest(".seg");
    event.preventDefault();
    setFollow(true);
    seek(parseFloat(seg.dataset.start));
    var url = new URL(window.location.href);
    url.searchParams.set("t", String(Math.floor(parseFloat(seg.dataset.start))));
    url.hash = seg.id;
    history.replaceState(null, "", url);
    player.play().catch(function () { /* autoplay may be refused; the position is set */ });
  });

  // "Copy link at current time": the link itself works without JavaScript (?t= of the page).
  var here = document.getElementById("link-here");
  var copy = document.getElementById("copy-link");
  var status = document.getElementById("copy-status");
  function linkNow() { return here.dataset.base + "?t=" + Math.floor(player.currentTime); }
  if (here && copy) {
    copy.hidden = false;
    player.addEventListener("timeupdate", function () { here.href = linkNow(); });
    copy.addEventListener("click", function () {
      var url = linkNow();
      here.href = url;
      var done = function () { status.textContent = copy.dataset.copied + ": " + url; };
      if (navigator.clipboard) navigator.clipboard.writeText(url).then(done, done); else done();
    });
  }

  // Find as you type: mark the segments that contain the words (case-insensitive).
  var find = document.getElementById("find");
  var findStatus = document.getElementById("find-status");
  if (find) find.addEventListener("input", function () {
    var needle = find.value.trim().toLowerCase();
    var count = 0, first = null;
    segments.forEach(function (seg) {
      var hit = needle !== "" && seg.textContent.toLowerCase().indexOf(needle) >= 0;
      seg.classList.toggle("found", hit);
      if (hit) { count++; first = first || seg; }
    });
    if (findStatus) findStatus.textContent = needle ? String(count) + " ✓" : "";
    if (first) { setFollow(false); first.scrollIntoView({ block: "center" }); }
  });
})();
