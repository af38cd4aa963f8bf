/* The studio's "Paste into a post" panel: keep the preview and the code in step with the options, and copy. */
(function () {
  "use strict";
  function initPanel(panel) {
    var form = panel.querySelector("form"), preview = panel.querySelector(".paste-preview");
    var status = panel.querySelector(".paste-status"), data = panel.dataset, asked = 0;

    function update() {
      var query = new URLSearchParams(new FormData(form)).toString(), ticket = ++asked;
      preview.src = data.previewUrl + "?" + query;
      fetch(data.codeUrl + "?" + query, {headers: {Accept: "application/json"}, credentials: "same-origin"})
        .then(function (response) {
          if (!response.ok) throw new Error(response.status);
          return response.json();
        })
        .then(function (codes) {
          if (ticket !== asked) return;  // an answer to older options
          panel.querySelector('[data-paste-format="html"]').value = codes.html;
          panel.querySelector('[data-paste-format="markdown"]').value = codes.markdown;
        })
        .catch(function () { status.textContent = "The code could not be updated; reload the page."; });
    }

    function copy(button) {
      var field = document.getElementById(button.getAttribute("data-copy"));
      var label = button.textContent;
      var done = function () {
        status.textContent = "Copied to the clipboard.";
        button.textContent = "Copied";
        setTimeout(function () { button.textContent = label; }, 2000);
      };
      field.select();
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(done, function () { status.textContent = "Press Ctrl+C (⌘C) to copy."; });
      } else if (document.execCommand("copy")) {
        done();
      } else {
        status.textContent = "Press Ctrl+C (⌘C) to copy.";
      }
    }

    form.addEventListener("change", update);
    form.addEventListener("submit", function (event) { event.preventDefault(); update(); });
    panel.querySelectorAll(".paste-copy").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () { copy(button); });
    });
  }

  function initAll() { document.querySelectorAll("[data-paste-panel]").forEach(initPanel); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", initAll);
  else initAll();
})();
