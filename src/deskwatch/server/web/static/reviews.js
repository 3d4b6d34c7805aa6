// The review queue's bulk form: a count of the selected events, "select all", and the
// note made required while a disputed event is selected (confirming one needs a note;
// the server refuses it without one either way).
(function () {
  "use strict";
  var form = document.getElementById("bulk");
  if (!form) return;
  var picks = Array.prototype.slice.call(document.querySelectorAll('input[name="event_id"][form="bulk"]'));
  var all = document.getElementById("select-all");
  var note = document.getElementById("bulk-note");
  var count = document.getElementById("bulk-count");
  function update() {
    var chosen = picks.filter(function (p) { return p.checked; });
    var disputed = chosen.some(function (p) { return p.hasAttribute("data-disputed"); });
    note.required = disputed;
    note.setAttribute("aria-required", disputed ? "true" : "false");
    count.textContent = chosen.length + " selected" + (disputed ? ", disputed among them: a note is needed to confirm" : "");
    all.checked = chosen.length > 0 && chosen.length === picks.length;
  }
  picks.forEach(function (p) { p.addEventListener("change", update); });
  all.addEventListener("change", function () {
    picks.forEach(function (p) { p.checked = all.checked; });
    update();
  });
  update();
})();
