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
          var planes = window.ShanyuPlanes;
          function mark(id, marker) {
            if (registry.get(id) && !canvas.hasMarker(id, "shanyu-current")) {
              canvas.addMarker(id, marker);
              marked.push([id, marker]);
            }
          }
          // active first: a collapsed subprocess holding an active element reads as active
          (state.active || []).forEach(function (id) {
            mark(id, "shanyu-current");
            planes.holders(registry, id).forEach(function (h) { mark(h, "shanyu-current"); });
          });
          (state.completed || []).forEach(function (id) {
            mark(id, "shanyu-done");
            planes.holders(registry, id).forEach(function (h) { mark(h, "shanyu-done"); });
          });
          var e = state.event || {};
          // follow the step's element (or the first active one) to the plane that draws it
          var follow = [e.bpmn_id].concat(state.active || []).filter(function (id) { return id && registry.get(id); });
          if (follow.length) { planes.openPlaneOf(canvas, registry, follow[0]); }
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
        window.ShanyuPlanes.fit(canvas);
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
