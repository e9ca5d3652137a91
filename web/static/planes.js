// Drill-down planes in bpmn-js (>= 9): a collapsed subprocess draws its content on a plane of its
// own. Pages that mark elements use these two helpers so a marked element is shown where it is
// drawn, and the collapsed subprocesses holding it are marked on the planes above.
(function () {
  "use strict";
  // The collapsed subprocesses holding element `id`, innermost first.
  function holders(registry, id) {
    var out = [];
    var element = registry.get(id);
    var parent = element && element.businessObject && element.businessObject.$parent;
    while (parent && parent.$type !== "bpmn:Process") {
      var shape = registry.get(parent.id);
      if (shape && shape.collapsed) { out.push(parent.id); }
      parent = parent.$parent;
    }
    return out;
  }
  // Fits the open plane into the view below the breadcrumb bar that bpmn-js lays over the top
  // left corner of a subprocess's plane (fit-viewport alone puts the plane's top under it), with
  // a margin; returns the scale.
  var BAR = 56, MARGIN = 16; // screen pixels
  function fit(canvas) {
    canvas.zoom("fit-viewport");
    var box = canvas.viewbox(), inner = box.inner, outer = box.outer;
    if (!inner.width || !inner.height) { return box.scale; }
    var scale = Math.min((outer.width - 2 * MARGIN) / inner.width, (outer.height - BAR - MARGIN) / inner.height, 1);
    var width = outer.width / scale, height = outer.height / scale;
    canvas.viewbox({ x: inner.x - (width - inner.width) / 2, y: inner.y - BAR / scale, width: width, height: height });
    return scale;
  }
  // Opens the plane that draws element `id` when another is open, fitted to the view; says
  // whether it did.
  function openPlaneOf(canvas, registry, id) {
    var element = registry.get(id);
    var root = element && canvas.findRoot(element);
    if (!root || root === canvas.getRootElement()) { return false; }
    canvas.setRootElement(root);
    fit(canvas);
    return true;
  }
  window.ShanyuPlanes = { holders: holders, openPlaneOf: openPlaneOf, fit: fit };
})();
