/* judgeloop assessments: the countdown of a running attempt. At zero the current form is
 * posted as it is; the server scores what was answered in time. Widgets' hidden fields are
 * synced before every post (work.js handles keys and widgets; it posts no heartbeats here). */
(function () {
  "use strict";
  var JL = (window.JL = window.JL || {});
  var form = document.querySelector("[data-assessment-form]");
  var display = document.getElementById("countdown");
  if (!form || !display) return;
  var end = Date.now() + (Number(display.dataset.secondsLeft) || 0) * 1000;
  var sent = false;

  function syncWidgets() {
    var widgets = JL.widgets || {};
    document.querySelectorAll("[data-widget]").forEach(function (slot) {
      var widget = widgets[slot.dataset.widget];
      if (widget && widget.sync) widget.sync(slot);
    });
  }

  function format(seconds) {
    var m = Math.floor(seconds / 60);
    var s = seconds % 60;
    return m + ":" + String(s).padStart(2, "0");
  }

  function post() {
    if (sent) return;
    sent = true;
    syncWidgets();
    form.submit(); // no submit event: the guard below does not stop it
  }

  function tick() {
    var left = Math.max(0, Math.ceil((end - Date.now()) / 1000));
    display.textContent = format(left);
    display.classList.toggle("low", left <= 60);
    if (left === 60) display.setAttribute("aria-live", "polite");
    if (left === 0) {
      var alert = document.getElementById("time-up");
      if (alert) alert.hidden = false;
      clearInterval(timer);
      post();
    }
  }

  form.addEventListener("submit", function (e) {
    if (sent) {
      e.preventDefault();
      return;
    }
    sent = true;
    syncWidgets();
    var button = form.querySelector("[data-submit]");
    setTimeout(function () {
      if (button) button.disabled = true;
    }, 0);
  });

  var timer = setInterval(tick, 1000);
  tick();
})();
