/* Text widget: a character counter, and for rewrites a live word diff between the model's
 * answer and the rewrite (a hand-written LCS over words, after trimming the common start and
 * end). The diff is built from text nodes, <del> and <ins>; nothing is parsed as HTML. */
(function () {
  "use strict";
  var JL = (window.JL = window.JL || {});
  JL.widgets = JL.widgets || {};
  var MAX_CELLS = 4000000; // beyond this the changed middle is shown as one replacement

  function words(text) {
    return text.match(/\s+|[^\s]+/g) || [];
  }

  /* Returns [[op, text]] with op "=", "-" or "+". */
  function diffWords(before, after) {
    var a = words(before);
    var b = words(after);
    var start = 0;
    while (start < a.length && start < b.length && a[start] === b[start]) start++;
    var endA = a.length;
    var endB = b.length;
    while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
      endA--;
      endB--;
    }
    var ops = [];
    if (start) ops.push(["=", a.slice(0, start).join("")]);
    var midA = a.slice(start, endA);
    var midB = b.slice(start, endB);
    if ((midA.length + 1) * (midB.length + 1) > MAX_CELLS) {
      if (midA.length) ops.push(["-", midA.join("")]);
      if (midB.length) ops.push(["+", midB.join("")]);
    } else {
      ops = ops.concat(lcsOps(midA, midB));
    }
    if (endA < a.length) ops.push(["=", a.slice(endA).join("")]);
    return merge(ops);
  }

  function lcsOps(a, b) {
    var n = a.length;
    var m = b.length;
    var width = m + 1;
    var table = new Uint32Array((n + 1) * width);
    for (var i = n - 1; i >= 0; i--) {
      for (var j = m - 1; j >= 0; j--) {
        table[i * width + j] = a[i] === b[j]
          ? table[(i + 1) * width + j + 1] + 1
          : Math.max(table[(i + 1) * width + j], table[i * width + j + 1]);
      }
    }
    var ops = [];
    var x = 0;
    var y = 0;
    while (x < n && y < m) {
      if (a[x] === b[y]) {
        ops.push(["=", a[x]]);
        x++;
        y++;
      } else if (table[(x + 1) * width + y] >= table[x * width + y + 1]) {
        ops.push(["-", a[x++]]);
      } else {
        ops.push(["+", b[y++]]);
      }
    }
    while (x < n) ops.push(["-", a[x++]]);
    while (y < m) ops.push(["+", b[y++]]);
    return ops;
  }

  function merge(ops) {
    var out = [];
    ops.forEach(function (op) {
      var last = out[out.length - 1];
      if (last && last[0] === op[0]) last[1] += op[1];
      else out.push([op[0], op[1]]);
    });
    return out;
  }

  function renderDiff(output, ops) {
    output.textContent = "";
    var changed = ops.some(function (op) { return op[0] !== "="; });
    if (!changed) {
      var p = document.createElement("p");
      p.className = "muted";
      p.textContent = "No changes yet.";
      output.appendChild(p);
      return;
    }
    ops.forEach(function (op) {
      if (op[0] === "=") {
        output.appendChild(document.createTextNode(op[1]));
        return;
      }
      var el = document.createElement(op[0] === "-" ? "del" : "ins");
      el.textContent = op[1];
      output.appendChild(el);
    });
  }

  function init(slot) {
    var area = slot.querySelector("[data-text]");
    var counter = slot.querySelector("[data-counter]");
    if (!area) return;
    var max = area.maxLength > 0 ? area.maxLength : 0;
    var source = area.dataset.diffSource ? (JL.texts || {})[area.dataset.diffSource] : null;
    if (typeof source === "string") source = source.replace(/\r\n?/g, "\n");
    var output = slot.querySelector("[data-diff-output]");
    var timer = 0;
    function count() {
      if (counter) counter.textContent = area.value.length + (max ? " of " + max : "") + " characters";
    }
    function diff() {
      if (typeof source === "string" && output) renderDiff(output, diffWords(source, area.value));
    }
    area.addEventListener("input", function () {
      count();
      clearTimeout(timer);
      timer = setTimeout(diff, 120);
    });
    count();
    diff();
  }

  JL.diffWords = diffWords;
  JL.widgets.text = { init: init };
})();
