/* judgeloop: red teaming and live chats. While the server waits for the model, a form
 * says so and its buttons are disabled, so that a second click sends nothing twice.
 * The pages work without it. */
(function () {
  "use strict";
  var forms = document.querySelectorAll("form[data-wait-form]");

  function setBusy(form, busy, text) {
    form.setAttribute("data-busy", busy ? "1" : "");
    var status = form.querySelector("[data-wait-status]");
    if (status) status.textContent = busy ? text : "";
    Array.prototype.forEach.call(form.querySelectorAll("button"), function (b) {
      b.disabled = busy;
    });
  }

  Array.prototype.forEach.call(forms, function (form) {
    form.addEventListener("submit", function (event) {
      if (form.getAttribute("data-busy")) {
        event.preventDefault();
        return;
      }
      form.setAttribute("data-busy", "1");
      var button = event.submitter || form.querySelector("button[type=submit]");
      var text = (button && button.getAttribute("data-wait")) || "Please wait…";
      /* Disable after the browser has read the form (a disabled submitter is not sent). */
      window.setTimeout(function () {
        setBusy(form, true, text);
      }, 0);
    });
  });

  /* Back from the page cache (history navigation): make the forms usable again. */
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) return;
    Array.prototype.forEach.call(forms, function (form) {
      setBusy(form, false, "");
    });
  });
})();
