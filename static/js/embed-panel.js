/* The studio's Embed panels: keep the preview and the copy-paste code in step with the options (copy-buttons.js
   copies). */
(function () {
  "use strict";
  function escapeAttribute(text) {
    return text.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;");
  }

  // The options that differ from their defaults, as query parameters and as data- attributes.
  function chosenOptions(form) {
    var chosen = [];
    ["limit", "kind", "theme", "accent"].forEach(function (name) {
      var field = form.elements[name];
      if (!field || !field.value || field.value === field.getAttribute("data-default")) return;
      if (name === "limit" && !field.checkValidity()) return;
      chosen.push([name, name === "accent" ? field.value.replace("#", "").toLowerCase() : field.value]);
    });
    if (form.elements.compact.checked) chosen.push(["compact", "1"]);
    return chosen;
  }

  function initPanel(panel) {
    if (panel.hasAttribute("data-embed-ready")) return;
    panel.setAttribute("data-embed-ready", "");
    var form = panel.querySelector("form"), preview = panel.querySelector(".embed-preview");
    var iframeCode = panel.querySelector('[data-code="iframe"]'), scriptCode = panel.querySelector('[data-code="script"]');
    var data = panel.dataset, timer = null;

    function update() {
      var chosen = chosenOptions(form), query = new URLSearchParams(chosen).toString();
      var url = data.widgetUrl + (query ? "?" + query : "");
      var height = form.elements.compact.checked ? data.compactHeight : data.height;
      iframeCode.value = '<iframe src="' + escapeAttribute(url) + '" width="560" height="' + height +
        '" title="If you liked this: recommendations from Afterimage" loading="lazy" frameborder="0"' +
        ' data-afterimage></iframe>\n' + iframeCode.getAttribute("data-listener");
      var attributes = chosen.map(function (pair) {
        return " data-" + pair[0] + '="' + escapeAttribute(pair[0] === "accent" ? "#" + pair[1] : pair[1]) + '"';
      }).join("");
      scriptCode.value = '<script src="' + escapeAttribute(data.scriptUrl) + '" ' + data.attr + '="' +
        escapeAttribute(data.slug) + '"' + attributes + " async></" + "script>";
      clearTimeout(timer);
      // Reload the preview once typing pauses, not on every keystroke.
      timer = setTimeout(function () { if (preview.src !== url) preview.src = url; }, 250);
    }

    form.addEventListener("input", update);
    form.addEventListener("change", update);
    form.addEventListener("submit", function (event) { event.preventDefault(); update(); });
    // The preview reports its height like any embed; let it fit.
    window.addEventListener("message", function (event) {
      if (event.origin === data.origin && event.source === preview.contentWindow &&
          event.data && event.data.type === "afterimage:resize") {
        preview.style.height = event.data.height + "px";
      }
    });
    update();
  }

  function initAll() { document.querySelectorAll("[data-embed-panel]").forEach(initPanel); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", initAll);
  else initAll();
})();
