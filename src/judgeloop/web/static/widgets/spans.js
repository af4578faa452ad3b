/* Spans widget: labelled highlights in the prompt or an answer. Select a passage with the
 * mouse, or type it in the passage box (or give its character offsets), pick a label, add.
 * Offsets count Unicode code points, end exclusive, like the server. Keeps the hidden input
 * <slot>.spans = JSON [{target, start, end, label}]. Text is only ever set as textContent. */
(function () {
  "use strict";
  var JL = (window.JL = window.JL || {});
  JL.widgets = JL.widgets || {};
  var BIDI = /[\u202a-\u202e\u2066-\u2069]/;
  var STATES = new WeakMap();

  function q(slot, name) {
    return slot.querySelector("[data-span-" + name + "]");
  }

  function cpLength(s) {
    return Array.from(s).length;
  }

  function readSpans(input) {
    try {
      var data = JSON.parse(input.value || "[]");
      return Array.isArray(data) ? data.filter(function (s) { return s && typeof s === "object"; }) : [];
    } catch (err) {
      return [];
    }
  }

  function labelIndex(slot, value) {
    var options = Array.prototype.slice.call(q(slot, "label").options);
    for (var i = 0; i < options.length; i++) if (options[i].value === value) return i;
    return -1;
  }

  function labelText(slot, value) {
    var i = labelIndex(slot, value);
    return i < 0 ? value : q(slot, "label").options[i].textContent;
  }

  /* Append text to `parent`; bidi controls are shown as visible markers, kept in the text. */
  function appendText(parent, text) {
    var run = "";
    Array.from(text).forEach(function (ch) {
      if (!BIDI.test(ch)) {
        run += ch;
        return;
      }
      if (run) parent.appendChild(document.createTextNode(run));
      run = "";
      var marker = document.createElement("span");
      marker.className = "bidi-ctl";
      marker.dataset.cp = "U+" + ch.codePointAt(0).toString(16).toUpperCase().padStart(4, "0");
      marker.textContent = ch;
      parent.appendChild(marker);
    });
    if (run) parent.appendChild(document.createTextNode(run));
  }

  function render(slot, target) {
    var st = STATES.get(slot);
    var box = slot.querySelector('[data-span-text="' + CSS.escape(target) + '"]');
    var chars = st.chars[target];
    if (!box || !chars) return;
    var marks = st.spans.filter(function (s) { return s.target === target; });
    if (st.pending && st.pending.target === target) marks = marks.concat([st.pending]);
    var cuts = new Set([0, chars.length]);
    marks.forEach(function (s) { cuts.add(s.start); cuts.add(s.end); });
    var points = Array.from(cuts).filter(function (n) { return n >= 0 && n <= chars.length; });
    points.sort(function (a, b) { return a - b; });
    box.textContent = "";
    for (var i = 0; i + 1 < points.length; i++) {
      var a = points[i];
      var b = points[i + 1];
      var text = chars.slice(a, b).join("");
      var over = marks.filter(function (s) { return s.start <= a && s.end >= b; });
      if (!over.length) {
        appendText(box, text);
        continue;
      }
      var mark = document.createElement("mark");
      var top = over[over.length - 1];
      mark.className = top.pending ? "pending" : "swatch-" + (labelIndex(slot, top.label) % 6);
      mark.title = top.pending ? "selected" : labelText(slot, top.label);
      appendText(mark, text);
      box.appendChild(mark);
    }
  }

  function overlaps(st, cand) {
    return st.spans.some(function (s) {
      return s.target === cand.target && cand.start < s.end && s.start < cand.end;
    });
  }

  function status(slot, text) {
    q(slot, "status").textContent = text;
  }

  function excerpt(st, span) {
    var text = st.chars[span.target].slice(span.start, span.end).join("");
    return text.length > 80 ? text.slice(0, 77) + "…" : text;
  }

  function setPending(slot, start, end, quiet) {
    var st = STATES.get(slot);
    var chars = st.chars[st.target] || [];
    if (!(start >= 0 && end > start && end <= chars.length)) {
      st.pending = null;
      if (!quiet) status(slot, "Choose a passage: from must be before to, within " + chars.length + " characters.");
    } else {
      st.pending = { target: st.target, start: start, end: end, pending: true };
      q(slot, "start").value = String(start);
      q(slot, "end").value = String(end);
      status(slot, "Selected “" + excerpt(st, st.pending) + "” (characters " + start + "–" + end + "). Pick a label and add it.");
    }
    render(slot, st.target);
  }

  function findPassage(slot) {
    var st = STATES.get(slot);
    var needle = q(slot, "find").value;
    var text = st.texts[st.target] || "";
    if (!needle) {
      setPending(slot, -1, -1, true);
      status(slot, "");
      return;
    }
    var from = 0;
    for (;;) {
      var at = text.indexOf(needle, from);
      if (at < 0) {
        st.pending = null;
        render(slot, st.target);
        status(slot, "“" + needle + "” is not in this text" + (from ? " (outside the highlights)." : "."));
        return;
      }
      var start = cpLength(text.slice(0, at));
      var cand = { target: st.target, start: start, end: start + cpLength(needle) };
      if (st.allowOverlap || !overlaps(st, cand)) {
        setPending(slot, cand.start, cand.end);
        return;
      }
      from = at + 1;
    }
  }

  function offsetIn(box, node, offset) {
    var range = document.createRange();
    range.setStart(box, 0);
    range.setEnd(node, offset);
    return cpLength(range.toString());
  }

  function fromSelection(slot, box) {
    var selection = window.getSelection();
    if (!selection || selection.isCollapsed || !selection.rangeCount) return;
    var range = selection.getRangeAt(0);
    if (!box.contains(range.startContainer) || !box.contains(range.endContainer)) return;
    var st = STATES.get(slot);
    st.target = box.dataset.spanText;
    var start = offsetIn(box, range.startContainer, range.startOffset);
    var end = offsetIn(box, range.endContainer, range.endOffset);
    selection.removeAllRanges();
    setPending(slot, Math.min(start, end), Math.max(start, end));
    q(slot, "label").focus();
  }

  function sync(slot) {
    var st = STATES.get(slot);
    if (!st) return;
    st.input.value = JSON.stringify(st.spans.map(function (s) {
      return { target: s.target, start: s.start, end: s.end, label: s.label };
    }));
  }

  function renderList(slot) {
    var st = STATES.get(slot);
    var list = q(slot, "list");
    list.textContent = "";
    st.spans.forEach(function (span, i) {
      var li = document.createElement("li");
      var label = document.createElement("strong");
      label.textContent = labelText(slot, span.label);
      li.appendChild(label);
      li.appendChild(document.createTextNode(": “" + excerpt(st, span) + "” (" + span.start + "–" + span.end + ")"));
      var remove = document.createElement("button");
      remove.type = "button";
      remove.className = "secondary small-button";
      remove.textContent = "Remove";
      remove.setAttribute("aria-label", "Remove highlight " + (i + 1));
      remove.addEventListener("click", function () { removeSpan(slot, i); });
      li.appendChild(remove);
      list.appendChild(li);
    });
    q(slot, "empty").hidden = st.spans.length > 0;
  }

  function refresh(slot) {
    var st = STATES.get(slot);
    sync(slot);
    renderList(slot);
    Object.keys(st.chars).forEach(function (t) { render(slot, t); });
  }

  function removeSpan(slot, i) {
    var st = STATES.get(slot);
    st.spans.splice(i, 1);
    refresh(slot);
    status(slot, "Highlight removed.");
    var buttons = q(slot, "list").querySelectorAll("button");
    (buttons[Math.min(i, buttons.length - 1)] || q(slot, "find")).focus();
  }

  function addSpan(slot) {
    var st = STATES.get(slot);
    var start = parseInt(q(slot, "start").value, 10);
    var end = parseInt(q(slot, "end").value, 10);
    var chars = st.chars[st.target] || [];
    if (!(start >= 0 && end > start && end <= chars.length)) {
      status(slot, "Choose a passage first: select it, type it, or give from and to.");
      return;
    }
    var span = { target: st.target, start: start, end: end, label: q(slot, "label").value };
    if (!st.allowOverlap && overlaps(st, span)) {
      status(slot, "That passage overlaps a highlight; highlights may not overlap here.");
      return;
    }
    st.spans.push(span);
    st.spans.sort(function (a, b) { return a.target < b.target ? -1 : a.target > b.target ? 1 : a.start - b.start; });
    st.pending = null;
    q(slot, "find").value = "";
    q(slot, "start").value = "";
    q(slot, "end").value = "";
    refresh(slot);
    status(slot, "Added “" + excerpt(st, span) + "” as " + labelText(slot, span.label) + ".");
    q(slot, "find").focus();
  }

  function listen(slot) {
    var st = STATES.get(slot);
    slot.querySelectorAll("[data-span-text]").forEach(function (box) {
      box.addEventListener("mouseup", function () { fromSelection(slot, box); });
    });
    var find = q(slot, "find");
    find.addEventListener("input", function () { findPassage(slot); });
    find.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && !e.ctrlKey && !e.metaKey) {
        e.preventDefault();
        addSpan(slot);
      }
    });
    ["start", "end"].forEach(function (name) {
      q(slot, name).addEventListener("input", function () {
        setPending(slot, parseInt(q(slot, "start").value, 10), parseInt(q(slot, "end").value, 10), true);
      });
    });
    q(slot, "add").addEventListener("click", function () { addSpan(slot); });
    var choose = q(slot, "choose");
    if (choose) {
      choose.addEventListener("change", function () {
        st.target = choose.value;
        st.pending = null;
        slot.querySelectorAll("[data-span-target]").forEach(function (el) {
          el.hidden = el.dataset.spanTarget !== st.target;
        });
        findPassage(slot);
      });
    }
  }

  function init(slot) {
    var texts = JL.texts || {};
    var st = { input: q(slot, "input"), texts: {}, chars: {}, spans: [], pending: null, target: "" };
    st.allowOverlap = slot.querySelector("[data-spans-ui]").dataset.allowOverlap === "true";
    slot.querySelectorAll("[data-span-text]").forEach(function (box) {
      var key = box.dataset.spanText;
      if (typeof texts[key] !== "string") return;
      st.texts[key] = texts[key];
      st.chars[key] = Array.from(texts[key]);
      if (!st.target) st.target = key;
    });
    st.spans = readSpans(st.input).filter(function (s) { return st.chars[s.target]; });
    STATES.set(slot, st);
    slot.querySelector("[data-spans-ui]").hidden = false;
    listen(slot);
    refresh(slot);
  }

  JL.widgets.spans = { init: init, sync: sync };
})();
