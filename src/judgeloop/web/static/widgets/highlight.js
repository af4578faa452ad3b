/* A tiny code highlighter: comments, strings, numbers and common keywords get a class.
 * It only splits text nodes and wraps pieces in <span>; it never parses HTML. */
(function () {
  "use strict";
  var JL = (window.JL = window.JL || {});
  var MAX_CHARS = 50000;
  var KEYWORDS = new Set(
    ("and as async await break case catch class const continue def default del do elif else " +
      "enum except export extends false False finally fn for from func function if impl import " +
      "in interface is lambda let match mut new nil None not null or package pass private " +
      "protected pub public raise return self static struct super switch this throw true True " +
      "try type typeof undefined use var void while with yield").split(" ")
  );
  // comment | string | number | word
  var TOKEN = /(#[^\n]*|\/\/[^\n]*|\/\*[\s\S]*?\*\/)|("(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'|`(?:\\.|[^`\\])*`)|(\b\d[\d_]*(?:\.\d+)?(?:e[+-]?\d+)?\b)|([A-Za-z_][A-Za-z0-9_]*)/g;

  function piece(text, cls) {
    if (!cls) return document.createTextNode(text);
    var span = document.createElement("span");
    span.className = cls;
    span.textContent = text;
    return span;
  }

  function highlight(code) {
    var text = code.textContent || "";
    if (!text || text.length > MAX_CHARS || code.dataset.highlighted) return;
    var out = document.createDocumentFragment();
    var last = 0;
    var match;
    TOKEN.lastIndex = 0;
    while ((match = TOKEN.exec(text)) !== null) {
      var cls = match[1] ? "tok-c" : match[2] ? "tok-s" : match[3] ? "tok-n" : KEYWORDS.has(match[4]) ? "tok-k" : "";
      if (!cls) continue;
      if (match.index > last) out.appendChild(piece(text.slice(last, match.index), ""));
      out.appendChild(piece(match[0], cls));
      last = TOKEN.lastIndex;
    }
    if (last < text.length) out.appendChild(piece(text.slice(last), ""));
    code.textContent = "";
    code.appendChild(out);
    code.dataset.highlighted = "1";
  }

  JL.highlightAll = function (root) {
    root.querySelectorAll(".md pre > code, code[data-highlight]").forEach(highlight);
  };
})();
