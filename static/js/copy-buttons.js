/* Copy buttons of the studio's panels (Embed, Paste into a post): a <button data-copy="field-id" hidden> copies
   that field and reports in its panel's role="status" element. Shown only when this script runs, since without
   it the reader selects the code by hand. Loaded once per panel; the first copy does the work. */
(function () {
  "use strict";
  if (document.documentElement.hasAttribute("data-copy-buttons")) return;
  document.documentElement.setAttribute("data-copy-buttons", "");

  function copy(button) {
    var field = document.getElementById(button.getAttribute("data-copy"));
    var panel = button.closest("section") || document;
    var status = panel.querySelector('[role="status"]') || {};
    var label = button.getAttribute("data-label") || button.textContent;
    var done = function () {
      status.textContent = "Copied to the clipboard.";
      button.setAttribute("data-label", label);
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = label; }, 2000);
    };
    var byHand = function () { status.textContent = "Press Ctrl+C (⌘C) to copy."; };
    field.select();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(done, byHand);
    } else if (document.execCommand("copy")) {
      done();
    } else {
      byHand();
    }
  }

  function initAll() {
    document.querySelectorAll("button[data-copy]").forEach(function (button) { button.hidden = false; });
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[data-copy]");
    if (button) copy(button);
  });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", initAll);
  else initAll();
})();
