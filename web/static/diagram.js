// Shows a case's diagram with bpmn-js's navigated viewer (drag to move, Ctrl + wheel to zoom)
// and marks the current task; a large diagram opens around the current task. A task inside a
// collapsed subprocess is on that subprocess's own plane: the viewer opens that plane and marks the
// collapsed subprocess(es) holding it on the planes above, so the breadcrumbs lead back to it.
// The element #diagram carries data-src (the BPMN XML's address) and data-current (the element id).
(function () {
  "use strict";
  function show(box) {
    if (typeof BpmnJS === "undefined") { box.textContent = box.dataset.error; return; }
    var viewer = new BpmnJS({ container: box });
    fetch(box.dataset.src, { credentials: "same-origin" })
      .then(function (answer) {
        if (!answer.ok) { throw new Error("HTTP " + answer.status); }
        return answer.text();
      })
      .then(function (xml) { return viewer.importXML(xml); })
      .then(function () {
        var canvas = viewer.get("canvas");
        var registry = viewer.get("elementRegistry");
        var current = box.dataset.current;
        var element = current && registry.get(current);
        var planes = window.ShanyuPlanes;
        planes.fit(canvas);
        if (element) {
          canvas.addMarker(current, "shanyu-current");
          planes.holders(registry, current).forEach(function (id) { canvas.addMarker(id, "shanyu-current"); });
          planes.openPlaneOf(canvas, registry, current);
          if (canvas.zoom() < 0.6) {
            var outer = canvas.viewbox().outer;
            var scale = 0.75;
            var width = outer.width / scale, height = outer.height / scale;
            canvas.viewbox({ x: element.x + element.width / 2 - width / 2,
                             y: element.y + element.height / 2 - height / 2, width: width, height: height });
          }
        }
        box.dataset.ready = "1";
      })
      .catch(function () { box.textContent = box.dataset.error; box.dataset.ready = "error"; });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var box = document.getElementById("diagram");
    if (box) { show(box); }
  });
})();
