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
  // Opens the plane that draws element `id` when another is open, fitted to the view; says
  // whether it did.
  function openPlaneOf(canvas, registry, id) {
    var element = registry.get(id);
    var root = element && canvas.findRoot(element);
    if (!root || root === canvas.getRootElement()) { return false; }
    canvas.setRootElement(root);
    canvas.zoom("fit-viewport");
    return true;
  }
  window.ShanyuPlanes = { holders: holders, openPlaneOf: openPlaneOf };
})();
