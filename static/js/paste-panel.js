/* The studio's "Paste into a post" panel: keep the preview and the code in step with the options (copy-buttons.js
   copies). */
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

    form.addEventListener("change", update);
    form.addEventListener("submit", function (event) { event.preventDefault(); update(); });
  }

  function initAll() { document.querySelectorAll("[data-paste-panel]").forEach(initPanel); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", initAll);
  else initAll();
})();
