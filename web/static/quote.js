// Quoting a range. Without JavaScript the page still quotes: the From/To form reloads it with
// ?t=&end=, the quoted lines come highlighted and the media URL carries #t=START,END.
// With it: playback stops at END (recording page and embed), a range can be selected by dragging
// over transcript lines or clicking a word and shift-clicking another, and the permalink,
// citations, text and download links follow the selection; copy buttons appear.
(function () {
  "use strict";
  var player = document.getElementById("player");
  if (!player) return;

  // Stop at END once per pass: seeking back before END re-arms it, seeking past it disarms it.
  var armed = !!player.dataset.end;
  function endAt() { return parseFloat(player.dataset.end || "NaN"); }
  function check() {
    if (armed && player.currentTime >= endAt()) { armed = false; player.pause(); }
  }
  function loop() { check(); if (!player.paused) window.requestAnimationFrame(loop); }
  player.addEventListener("play", function () { window.requestAnimationFrame(loop); });
  player.addEventListener("timeupdate", check);
  player.addEventListener("seeked", function () {
    armed = !!player.dataset.end && player.currentTime < endAt() - 0.01;
  });
  var list = document.getElementById("transcript");
  if (!list) {
    // The embed page has no transcript (so no player.js): start at data-start here.
    var first = parseFloat(player.dataset.start || "0") || 0;
    var begin = function () { if (Math.abs(player.currentTime - first) > 0.25) player.currentTime = first; };
    if (first > 0) {
      if (player.readyState >= 1) begin(); else player.addEventListener("loadedmetadata", begin, { once: true });
    }
    return;
  }

  var box = document.getElementById("quote");
  if (!box) return;
  var rec = box.dataset.recording;
  var maxLength = parseFloat(box.dataset.max);
  function $(id) { return document.getElementById(id); }
  $("quote-how").hidden = false;

  function copyText(text, button) {
    var done = function () {
      var old = button.textContent;
      button.textContent = box.dataset.copied + " ✓";
      window.setTimeout(function () { button.textContent = old; }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, done);
    } else {
      var area = document.createElement("textarea");
      area.value = text; document.body.appendChild(area); area.select();
      try { document.execCommand("copy"); } catch (e) { /* nothing to copy to */ }
      document.body.removeChild(area); done();
    }
  }
  Array.prototype.forEach.call(box.querySelectorAll("button.copy"), function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { copyText($(button.dataset.target).value, button); });
  });

  // "Copy text" of one segment.
  var segments = Array.prototype.slice.call(list.querySelectorAll(".seg"));
  segments.forEach(function (seg) {
    var text = seg.querySelector(".text");
    if (!text) return;
    var button = document.createElement("button");
    button.type = "button"; button.className = "copy-seg"; button.textContent = box.dataset.copy;
    button.addEventListener("click", function () {
      var clone = text.cloneNode(true);
      Array.prototype.forEach.call(clone.querySelectorAll(".speaker, .reviewed"), function (n) { n.remove(); });
      copyText(clone.textContent.replace(/\s+/g, " ").trim(), button);
    });
    seg.appendChild(button);
  });

  function short(x) { return String(Math.round(x * 1000) / 1000); }

  function choose(start, end) {
    if (!(end > start)) return;
    $("range-t").value = short(start);
    $("range-end").value = short(end);
    segments.forEach(function (seg) {
      var hit = parseFloat(seg.dataset.end) > start && parseFloat(seg.dataset.start) < end;
      seg.classList.toggle("quoted", hit);
    });
    var query = "start=" + short(start) + "&end=" + short(end);
    fetch("/r/" + rec + "/quote.json?" + query, { headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (q) {
        $("quote-link").value = q.permalink;
        $("quote-cite").value = q.citation;
        $("quote-md").value = q.markdown;
        $("quote-text").value = q.text;
        $("quote-time").textContent = q.time_range;
        var tooLong = end - start > maxLength;
        $("quote-clips").hidden = tooLong;
        $("quote-long").hidden = !tooLong;
        Array.prototype.forEach.call(box.querySelectorAll("a.dl"), function (a) {
          var kind = a.dataset.kind;
          a.href = kind === "embed" ? "/embed/" + rec + "?t=" + short(start) + "&end=" + short(end)
            : "/r/" + rec + "/" + kind + "?" + query;
        });
        $("quote-result").hidden = false;
        history.replaceState(null, "", "/r/" + rec + "?t=" + short(start) + "&end=" + short(end));
      })
      .catch(function () { /* the form still works */ });
    player.dataset.end = short(end);
    player.currentTime = start;
  }

  function timesOf(node) {
    var el = node && (node.nodeType === 1 ? node : node.parentElement);
    if (!el || !list.contains(el)) return null;
    var word = el.closest(".w");
    var seg = el.closest(".seg");
    if (word) return [parseFloat(word.dataset.s), parseFloat(word.dataset.e)];
    if (seg) return [parseFloat(seg.dataset.start), parseFloat(seg.dataset.end)];
    return null;
  }

  // Drag over lines: the text selection's two ends give the range.
  list.addEventListener("mouseup", function (event) {
    if (event.shiftKey) return;
    var sel = window.getSelection();
    if (!sel || sel.isCollapsed) return;
    var a = timesOf(sel.anchorNode), b = timesOf(sel.focusNode);
    if (!a || !b) return;
    choose(Math.min(a[0], b[0]), Math.max(a[1], b[1]));
  });

  // Click a word, shift-click another.
  var anchor = null;
  list.addEventListener("click", function (event) {
    var word = event.target.closest(".w");
    if (!word) return;
    if (event.shiftKey && anchor) {
      var a = [parseFloat(anchor.dataset.s), parseFloat(anchor.dataset.e)];
      var b = [parseFloat(word.dataset.s), parseFloat(word.dataset.e)];
      anchor.classList.remove("anchor");
      anchor = null;
      var sel = window.getSelection();
      if (sel) sel.removeAllRanges();
      choose(Math.min(a[0], b[0]), Math.max(a[1], b[1]));
    } else if (window.getSelection().isCollapsed) {
      if (anchor) anchor.classList.remove("anchor");
      anchor = word;
      word.classList.add("anchor");
    }
  });
})();
