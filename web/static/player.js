// Recording page: start at ?t=, follow playback in the transcript, seek on click.
// Without JavaScript the page still works: links carry ?t= and the media URL a #t= fragment.
(function () {
  "use strict";
  var player = document.getElementById("player");
  var list = document.getElementById("transcript");
  if (!player || !list) return;
  var segments = Array.prototype.slice.call(list.querySelectorAll(".seg"));
  var start = parseFloat(player.dataset.start || "0") || 0;
  var current = list.querySelector(".seg.current");

  function mark(seg, scroll) {
    if (seg === current) return;
    if (current) { current.classList.remove("current"); current.removeAttribute("aria-current"); }
    current = seg;
    if (!seg) return;
    seg.classList.add("current");
    seg.setAttribute("aria-current", "true");
    if (scroll) seg.scrollIntoView({ block: "nearest" });
  }

  function segmentAt(time) {
    var found = null;
    for (var i = 0; i < segments.length; i++) {
      if (parseFloat(segments[i].dataset.start) <= time + 0.05) found = segments[i]; else break;
    }
    return found;
  }

  function seek(time) {
    player.currentTime = time;
    mark(segmentAt(time), true);
  }

  if (start > 0) {
    if (player.readyState >= 1) { if (Math.abs(player.currentTime - start) > 0.5) seek(start); }
    else player.addEventListener("loadedmetadata", function () {
      if (Math.abs(player.currentTime - start) > 0.5) seek(start);
    }, { once: true });
  }
  if (current) current.scrollIntoView({ block: "center" });

  player.addEventListener("timeupdate", function () { mark(segmentAt(player.currentTime), true); });

  list.addEventListener("click", function (event) {
    var link = event.target.closest("a.seek");
    if (!link) return;
    var seg = link.closest(".seg");
    event.preventDefault();
    var time = parseFloat(seg.dataset.start);
    seek(time);
    var url = new URL(window.location.href);
    url.searchParams.set("t", String(Math.floor(time)));
    url.hash = seg.id;
    history.replaceState(null, "", url);
    player.play().catch(function () { /* autoplay may be refused; the position is set */ });
  });
})();
