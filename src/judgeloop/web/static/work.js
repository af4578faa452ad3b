/* judgeloop workbench: keyboard, timer, heartbeats, dialogs and layout of the task page.
 * Hand-written, no dependencies. Widgets (static/widgets/*.js) register themselves in
 * JL.widgets[kind] = {init(slot), key(slot, event) -> handled?, sync(slot)} and are loaded
 * before this file. Data comes from data-* attributes and the JSON block #jl-texts. */
(function () {
  "use strict";
  var JL = (window.JL = window.JL || {});
  JL.widgets = JL.widgets || {};
  document.documentElement.classList.add("js");

  var form = document.getElementById("task-form");
  var task = document.getElementById("task");
  var submitting = false;

  function isTyping(el) {
    if (!el || !el.tagName) return false;
    if (el.isContentEditable) return true;
    if (el.tagName === "TEXTAREA" || el.tagName === "SELECT") return true;
    if (el.tagName !== "INPUT") return false;
    return !/^(radio|checkbox|button|submit|reset|range|color|file|image|hidden)$/i.test(el.type);
  }

  function pick(input) {
    if (!input || input.disabled) return false;
    input.checked = input.type === "checkbox" ? !input.checked : true;
    input.focus();
    input.dispatchEvent(new Event("change", { bubbles: true }));
    return true;
  }

  function nth(slot, e, selector) {
    if (!/^[1-9]$/.test(e.key)) return false;
    var inputs = slot.querySelectorAll(selector);
    return pick(inputs[Number(e.key) - 1]);
  }

  /* Keys per question kind, for the question (slot) in focus. */
  var KIND_KEYS = {
    rating: function (slot, e) {
      if (!/^[0-9]$/.test(e.key)) return false;
      var radio = slot.querySelector('input[type="radio"][value="' + e.key + '"]');
      if (!radio && e.key === "0") radio = slot.querySelector('input[type="radio"][value="10"]');
      return pick(radio);
    },
    choice: function (slot, e) {
      return nth(slot, e, ".options input");
    },
    code_run: function (slot, e) {
      return nth(slot, e, ".options input");
    },
    preference: function (slot, e) {
      var k = e.key.toLowerCase();
      if (/^[a-z]$/.test(k)) {
        var radio = slot.querySelector('input[data-key-letter="' + k + '"]');
        return radio ? pick(radio) : false;
      }
      if (/^[0-9]$/.test(k)) {
        return pick(slot.querySelector('input[name$=".strength"][value="' + k + '"]'));
      }
      return false;
    },
  };

  /* Dialogs: guidelines (g) and keys (?). Esc closes them (native <dialog>). */
  function toggleDialog(id) {
    var dialog = document.getElementById(id);
    if (!dialog || typeof dialog.showModal !== "function") return;
    if (dialog.open) {
      dialog.close();
      return;
    }
    document.querySelectorAll("dialog[open]").forEach(function (d) {
      d.close();
    });
    dialog.showModal();
  }

  function submitForm() {
    if (!form || submitting) return;
    if (typeof form.requestSubmit === "function") form.requestSubmit();
    else form.submit();
  }

  function onKey(e) {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      if (form && !document.querySelector("dialog[open]")) {
        e.preventDefault();
        submitForm();
      }
      return;
    }
    if (e.defaultPrevented || e.isComposing) return;
    var target = e.target;
    if (e.key === "Enter" && target.tagName === "INPUT" && form && form.contains(target)) {
      if (!/^(submit|button|image)$/i.test(target.type)) e.preventDefault(); // no submit by accident
      return;
    }
    if (isTyping(target) || e.ctrlKey || e.metaKey) return;
    var slot = target.closest ? target.closest("[data-slot]") : null;
    if (slot) {
      var widget = JL.widgets[slot.dataset.widget];
      if (widget && widget.key && widget.key(slot, e)) {
        e.preventDefault();
        return;
      }
      var keys = KIND_KEYS[slot.dataset.kind];
      if (!e.altKey && keys && keys(slot, e)) {
        e.preventDefault();
        return;
      }
    }
    if (e.altKey) return;
    if (e.key === "?") {
      e.preventDefault();
      toggleDialog("help-dialog");
    } else if (e.key === "g" || e.key === "G") {
      e.preventDefault();
      toggleDialog("guidelines-dialog");
    }
  }

  /* Active time: counts only while the tab is visible; posted as seconds_spent. */
  var clock = { active: 0, last: Date.now(), running: !document.hidden, sent: 0 };

  function accumulate() {
    var now = Date.now();
    if (clock.running) clock.active += (now - clock.last) / 1000;
    clock.last = now;
  }

  function formatTime(total) {
    var s = Math.floor(total);
    var h = Math.floor(s / 3600);
    var m = Math.floor((s % 3600) / 60);
    var sec = s % 60;
    var mm = h ? String(m).padStart(2, "0") : String(m);
    return (h ? h + ":" : "") + mm + ":" + String(sec).padStart(2, "0");
  }

  function showTime() {
    accumulate();
    var display = document.querySelector("[data-timer]");
    var field = form && form.querySelector("[data-seconds]");
    if (display) display.textContent = formatTime(clock.active);
    if (field) field.value = clock.active.toFixed(1);
  }

  function leaseLost(message) {
    var alert = document.querySelector("[data-lease-alert]");
    if (!alert) return;
    alert.textContent = message;
    alert.hidden = false;
  }

  function heartbeat() {
    if (!task || !form) return Promise.resolve(null);
    accumulate();
    var token = form.querySelector('input[name="csrf_token"]');
    return fetch(task.dataset.heartbeatUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": token ? token.value : "" },
      body: JSON.stringify({ active_seconds: Math.round(clock.active) }),
    })
      .then(function (response) {
        if (response.ok) {
          clock.sent = clock.active;
          return response.json();
        }
        if (response.status === 404 || response.status === 409) {
          leaseLost("This task is no longer reserved for you: it was closed or its time ran out. " +
            "What you enter now may not be saved; open the next task.");
        }
        return null;
      })
      .catch(function () {
        return null; // offline for a moment: the next beat tries again
      });
  }
  JL.heartbeat = heartbeat;

  function startClock() {
    clock.active = parseFloat(form.dataset.activeSeconds) || 0;
    clock.sent = clock.active;
    document.addEventListener("visibilitychange", function () {
      accumulate();
      clock.running = !document.hidden;
    });
    showTime();
    setInterval(showTime, 1000);
    setInterval(function () {
      accumulate();
      if (clock.active - clock.sent >= 1) heartbeat(); // an idle hidden tab holds no lease
    }, Number(task.dataset.heartbeatMs) || 60000);
  }

  function onSubmit(e) {
    if (submitting) {
      e.preventDefault();
      return;
    }
    document.querySelectorAll("[data-widget]").forEach(function (slot) {
      var widget = JL.widgets[slot.dataset.widget];
      if (widget && widget.sync) widget.sync(slot);
    });
    showTime();
    submitting = true;
    var button = form.querySelector("[data-submit]");
    setTimeout(function () {
      if (!button) return;
      button.disabled = true;
      button.textContent = "Saving…";
    }, 0);
  }

  /* Candidates side by side or stacked; the choice is remembered in this browser. */
  function setupLayout() {
    var box = document.querySelector("[data-candidates]");
    var button = document.querySelector("[data-layout-toggle]");
    if (!box || !button) return;
    function apply(layout) {
      var side = layout === "side";
      box.classList.toggle("layout-side", side);
      box.classList.toggle("layout-stacked", !side);
      button.setAttribute("aria-pressed", String(side));
    }
    var stored = null;
    try {
      stored = window.localStorage.getItem("judgeloop.layout");
    } catch (err) {
      stored = null;
    }
    apply(stored === "side" || stored === "stacked" ? stored : box.dataset.defaultLayout);
    button.hidden = false;
    button.addEventListener("click", function () {
      var layout = box.classList.contains("layout-side") ? "stacked" : "side";
      apply(layout);
      try {
        window.localStorage.setItem("judgeloop.layout", layout);
      } catch (err) {
        /* private mode: the choice lasts for this page only */
      }
    });
  }

  function setupDialogs() {
    document.querySelectorAll("[data-open]").forEach(function (button) {
      button.addEventListener("click", function () {
        toggleDialog(button.dataset.open);
      });
    });
    document.querySelectorAll("dialog").forEach(function (dialog) {
      dialog.addEventListener("click", function (e) {
        if (e.target === dialog) dialog.close(); // a click on the backdrop
      });
    });
  }

  function readTexts() {
    var block = document.getElementById("jl-texts");
    try {
      return block ? JSON.parse(block.textContent || "{}") : {};
    } catch (err) {
      return {};
    }
  }

  function init() {
    JL.texts = readTexts();
    document.addEventListener("keydown", onKey);
    setupDialogs();
    setupLayout();
    if (JL.highlightAll) JL.highlightAll(document);
    document.querySelectorAll("[data-widget]").forEach(function (slot) {
      var widget = JL.widgets[slot.dataset.widget];
      if (widget && widget.init) widget.init(slot);
    });
    if (form && task) {
      form.addEventListener("submit", onSubmit);
      startClock();
    }
    var problems = document.getElementById("problems");
    if (problems) problems.focus();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
