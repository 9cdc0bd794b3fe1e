// Live recording page: poll for segments transcribed since the last one shown and append them
// (the player follows them through player.js); reload once the capture has been finalized so the
// page shows the archived file. Without JavaScript a reload shows the same.
(function () {
  "use strict";
  var status = document.getElementById("live-status");
  var list = document.getElementById("transcript");
  if (!status || !list) return;
  var after = parseInt(status.dataset.after || "-1", 10);
  var gapsShown = parseInt(status.dataset.gaps || "0", 10);
  var recordingPath = window.location.pathname;

  function stamp(seconds) {
    var total = Math.max(0, Math.floor(seconds));
    var h = Math.floor(total / 3600), m = Math.floor((total % 3600) / 60), s = total % 60;
    var ss = (s < 10 ? "0" : "") + s;
    if (h) return h + ":" + (m < 10 ? "0" : "") + m + ":" + ss;
    return m + ":" + ss;
  }

  function item(className, text) {
    var li = document.createElement("li");
    li.className = className;
    li.textContent = text;
    return li;
  }

  function appendGap(gap) {
    var text = status.dataset.gap.replace("{t}", stamp(gap.at)).replace("{l}", String(Math.round(gap.lost_s)));
    var li = item("gap", text);
    li.dataset.start = String(gap.at);
    list.appendChild(li);
  }

  function appendSegment(seg) {
    var li = document.createElement("li");
    li.id = "seg-" + seg.id;
    li.className = "seg";
    li.dataset.start = String(seg.start);
    li.dataset.end = String(seg.end);
    var link = document.createElement("a");
    link.className = "seek";
    link.href = recordingPath + "?t=" + Math.floor(seg.start) + "#seg-" + seg.id;
    link.setAttribute("aria-label", status.dataset.play.replace("{t}", stamp(seg.start)));
    link.textContent = stamp(seg.start);
    var text = document.createElement("span");
    text.className = "text";
    if (seg.language) text.lang = seg.language;
    text.textContent = seg.text;
    li.appendChild(link);
    li.appendChild(document.createTextNode(" "));
    li.appendChild(text);
    list.appendChild(li);
  }

  function poll() {
    fetch(status.dataset.liveUrl + "?after=" + after, { headers: { Accept: "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (data) {
        var empty = list.querySelector("li.empty");
        if (empty && data.segments.length) empty.remove();
        data.gaps.slice(gapsShown).forEach(appendGap);
        gapsShown = data.gaps.length;
        data.segments.forEach(function (seg) { appendSegment(seg); after = seg.idx; });
        if (data.segments.length) list.dispatchEvent(new CustomEvent("transcript:grew"));
        if (data.status !== "live") { window.location.reload(); return; }
        window.setTimeout(poll, 4000);
      })
      .catch(function () { window.setTimeout(poll, 10000); });
  }
  window.setTimeout(poll, 4000);
})();
