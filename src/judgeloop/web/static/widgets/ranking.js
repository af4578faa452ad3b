/* Ranking widget: order the answers best first by dragging, or from the keyboard
 * (focus an answer; Alt+Up/Down or u/d moves it; Up/Down moves the focus). Keeps the hidden
 * input <slot>.order = "B,A,C"; it stays empty until the worker ranks or confirms. */
(function () {
  "use strict";
  var JL = (window.JL = window.JL || {});
  JL.widgets = JL.widgets || {};

  function parts(slot) {
    return {
      list: slot.querySelector("[data-rank-list]"),
      order: slot.querySelector("[data-rank-order]"),
      status: slot.querySelector("[data-rank-status]"),
      confirm: slot.querySelector("[data-rank-confirm]"),
    };
  }

  function items(list) {
    return Array.prototype.slice.call(list.querySelectorAll(".rank-item"));
  }

  function update(slot, ranked) {
    var p = parts(slot);
    var all = items(p.list);
    p.order.value = ranked ? all.map(function (li) { return li.dataset.key; }).join(",") : "";
    all.forEach(function (li, i) {
      li.setAttribute("aria-label", li.dataset.label + ", place " + (i + 1) + " of " + all.length);
    });
    var labels = all.map(function (li) { return li.dataset.label; }).join(", ");
    p.status.textContent = ranked
      ? "Your ranking, best first: " + labels + "."
      : "Not ranked yet: move the answers, or confirm the order shown.";
    p.status.classList.toggle("unranked", !ranked);
  }

  function setFocus(list, li) {
    items(list).forEach(function (other) { other.tabIndex = other === li ? 0 : -1; });
    li.focus();
  }

  function move(slot, li, delta) {
    var list = li.parentNode;
    if (delta < 0 && li.previousElementSibling) list.insertBefore(li, li.previousElementSibling);
    else if (delta > 0 && li.nextElementSibling) list.insertBefore(li.nextElementSibling, li);
    setFocus(list, li);
    update(slot, true);
  }

  function setupDrag(slot, list) {
    var dragged = null;
    list.addEventListener("dragstart", function (e) {
      dragged = e.target.closest(".rank-item");
      if (!dragged) return;
      dragged.classList.add("dragging");
      e.dataTransfer.effectAllowed = "move";
      e.dataTransfer.setData("text/plain", dragged.dataset.key);
    });
    list.addEventListener("dragover", function (e) {
      if (!dragged) return;
      e.preventDefault();
      var over = e.target.closest(".rank-item");
      if (!over || over === dragged) return;
      var box = over.getBoundingClientRect();
      list.insertBefore(dragged, e.clientY > box.top + box.height / 2 ? over.nextSibling : over);
    });
    list.addEventListener("drop", function (e) { e.preventDefault(); });
    list.addEventListener("dragend", function () {
      if (!dragged) return;
      dragged.classList.remove("dragging");
      setFocus(list, dragged);
      dragged = null;
      update(slot, true);
    });
  }

  function init(slot) {
    var p = parts(slot);
    var saved = p.order.value ? p.order.value.split(",") : [];
    saved.forEach(function (key) {
      var li = items(p.list).filter(function (el) { return el.dataset.key === key; })[0];
      if (li) p.list.appendChild(li);
    });
    items(p.list).forEach(function (li, i) {
      li.tabIndex = i === 0 ? 0 : -1;
      li.draggable = true;
      var select = li.querySelector("select");
      if (select) select.disabled = true; // the order input speaks for the page
    });
    p.list.addEventListener("click", function (e) {
      var button = e.target.closest("[data-move]");
      if (button) move(slot, button.closest(".rank-item"), Number(button.dataset.move));
    });
    p.list.addEventListener("focusin", function (e) {
      var li = e.target.closest(".rank-item");
      if (li && e.target === li) setFocus(p.list, li);
    });
    p.confirm.hidden = false;
    p.confirm.addEventListener("click", function () { update(slot, true); });
    setupDrag(slot, p.list);
    update(slot, saved.length > 0);
  }

  function key(slot, e) {
    var li = e.target.closest && e.target.closest(".rank-item");
    if (!li || e.target !== li) return false;
    var k = e.key;
    var up = (e.altKey && k === "ArrowUp") || (!e.altKey && (k === "u" || k === "U"));
    var down = (e.altKey && k === "ArrowDown") || (!e.altKey && (k === "d" || k === "D"));
    if (up || down) {
      move(slot, li, up ? -1 : 1);
      return true;
    }
    if (!e.altKey && (k === "ArrowUp" || k === "ArrowDown")) {
      var next = k === "ArrowUp" ? li.previousElementSibling : li.nextElementSibling;
      if (next) setFocus(li.parentNode, next);
      return true;
    }
    if (!e.altKey && (k === "Enter" || k === " ")) {
      update(slot, true);
      return true;
    }
    return false;
  }

  function sync(slot) {
    var p = parts(slot);
    if (p.order.value) update(slot, true);
  }

  JL.widgets.ranking = { init: init, key: key, sync: sync };
})();
