// doctest-runner HTML report: two conveniences; the page is complete without JavaScript.
(function () {
  "use strict";
  var only = document.getElementById("only-broken");
  if (only) {
    only.addEventListener("change", function () {
      document.body.classList.toggle("only-broken", only.checked);
    });
  }
  var expand = document.getElementById("expand-all");
  if (expand) {
    expand.addEventListener("click", function () {
      var all = document.querySelectorAll("details.output, details.src");
      var open = expand.getAttribute("data-open") !== "1";
      for (var i = 0; i < all.length; i++) { all[i].open = open; }
      expand.setAttribute("data-open", open ? "1" : "0");
      expand.textContent = open ? "collapse all" : "expand all";
    });
  }
  // Jumping to a step from the broken-step list opens its output.
  function openTarget() {
    var id = decodeURIComponent(location.hash.slice(1));
    var el = id && document.getElementById(id);
    if (!el) { return; }
    var ds = el.querySelectorAll("details");
    for (var i = 0; i < ds.length; i++) { ds[i].open = true; }
  }
  window.addEventListener("hashchange", openTarget);
  openTarget();
})();
