// The auditor's replay slider: draws the case's diagram (bpmn-js navigated viewer) and, for the
// chosen event, marks what had completed and what was active, from /audit/cases/N/at/SEQ.json.
(function () {
  "use strict";
  var marked = [];
  function show(box, slider, label) {
    if (typeof BpmnJS === "undefined") { box.textContent = box.dataset.error; return; }
    var viewer = new BpmnJS({ container: box });
    var canvas = null;
    function paint(seq) {
      fetch(box.dataset.state + seq + ".json", { credentials: "same-origin" })
        .then(function (answer) { return answer.json(); })
        .then(function (state) {
          marked.forEach(function (m) { canvas.removeMarker(m[0], m[1]); });
          marked = [];
          var registry = viewer.get("elementRegistry");
          (state.completed || []).forEach(function (id) {
            if (registry.get(id)) { canvas.addMarker(id, "shanyu-done"); marked.push([id, "shanyu-done"]); }
          });
          (state.active || []).forEach(function (id) {
            if (registry.get(id)) { canvas.addMarker(id, "shanyu-current"); marked.push([id, "shanyu-current"]); }
          });
          var e = state.event || {};
          label.textContent = state.ok ? "#" + e.seq + " " + e.at + " " + e.actor + " · " + e.type_zh : "#" + seq + " ✘ " + state.note;
          box.dataset.ready = String(seq);
          document.querySelectorAll("tr[data-seq]").forEach(function (row) {
            row.classList.toggle("chosen", row.dataset.seq === String(seq));
          });
        })
        .catch(function () { label.textContent = box.dataset.error; });
    }
    fetch(box.dataset.src, { credentials: "same-origin" })
      .then(function (answer) { if (!answer.ok) { throw new Error("HTTP " + answer.status); } return answer.text(); })
      .then(function (xml) { return viewer.importXML(xml); })
      .then(function () {
        canvas = viewer.get("canvas");
        canvas.zoom("fit-viewport");
        paint(slider.value);
        slider.addEventListener("input", function () { paint(slider.value); });
        document.querySelectorAll("a.seek").forEach(function (link) {
          link.addEventListener("click", function (event) {
            event.preventDefault();
            slider.value = link.dataset.seq;
            paint(slider.value);
            box.scrollIntoView({ behavior: "smooth", block: "center" });
          });
        });
      })
      .catch(function () { box.textContent = box.dataset.error; box.dataset.ready = "error"; });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var box = document.getElementById("diagram");
    var slider = document.getElementById("replay-slider");
    if (box && slider) { show(box, slider, document.getElementById("replay-label")); }
  });
})();
