/* Claims widget: one row per claim (claim text, verdict, source link, note). Keeps the
 * hidden input <slot>.claims = JSON [{claim, verdict, source, note}]; empty rows are left out. */
(function () {
  "use strict";
  var JL = (window.JL = window.JL || {});
  JL.widgets = JL.widgets || {};
  var FIELDS = ["claim", "verdict", "source", "note"];
  var counter = 0;

  function rows(slot) {
    return Array.prototype.slice.call(slot.querySelectorAll("[data-claim-list] > li"));
  }

  function sync(slot) {
    var data = rows(slot)
      .map(function (row) {
        var claim = {};
        FIELDS.forEach(function (name) {
          claim[name] = row.querySelector('[data-field="' + name + '"]').value.trim();
        });
        return claim;
      })
      .filter(function (claim) {
        return FIELDS.some(function (name) { return claim[name]; });
      });
    slot.querySelector("[data-claims-input]").value = JSON.stringify(data);
  }

  function renumber(slot) {
    rows(slot).forEach(function (row, i) {
      row.querySelector("[data-n]").textContent = String(i + 1);
      row.querySelector("[data-claim-remove]").setAttribute("aria-label", "Remove claim " + (i + 1));
    });
  }

  function addRow(slot, claim) {
    var template = slot.querySelector("[data-claim-template]");
    var row = template.content.firstElementChild.cloneNode(true);
    counter += 1;
    FIELDS.forEach(function (name) {
      var field = row.querySelector('[data-field="' + name + '"]');
      var id = slot.id + "-claim-" + counter + "-" + name;
      field.id = id;
      row.querySelector('[data-for="' + name + '"]').setAttribute("for", id);
      var value = claim && typeof claim[name] === "string" ? claim[name] : "";
      if (field.tagName === "SELECT" && value && !Array.prototype.some.call(field.options, function (o) { return o.value === value; })) {
        value = "";
      }
      field.value = value;
      field.addEventListener("input", function () { sync(slot); });
      field.addEventListener("change", function () { sync(slot); });
    });
    row.querySelector("[data-claim-remove]").addEventListener("click", function () {
      var index = rows(slot).indexOf(row);
      row.remove();
      if (!rows(slot).length) addRow(slot, null);
      renumber(slot);
      sync(slot);
      var left = rows(slot);
      left[Math.min(index, left.length - 1)].querySelector('[data-field="claim"]').focus();
    });
    slot.querySelector("[data-claim-list]").appendChild(row);
    renumber(slot);
    return row;
  }

  function init(slot) {
    var input = slot.querySelector("[data-claims-input]");
    var claims = [];
    try {
      claims = JSON.parse(input.value || "[]");
    } catch (err) {
      claims = [];
    }
    if (!Array.isArray(claims) || !claims.length) claims = [null];
    claims.forEach(function (claim) { addRow(slot, claim && typeof claim === "object" ? claim : null); });
    slot.querySelector("[data-claims-ui]").hidden = false;
    slot.querySelector("[data-claim-add]").addEventListener("click", function () {
      addRow(slot, null).querySelector('[data-field="claim"]').focus();
    });
    sync(slot);
  }

  JL.widgets.claims = { init: init, sync: sync };
})();
