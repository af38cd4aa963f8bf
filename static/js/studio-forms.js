// Every studio form: the error summary takes focus when the page opens, and its links move to the field
// itself (its label scrolled into view), as in the GOV.UK design system. Options that carry a film and a
// book wording follow the form's Kind choice ("Watched" for a film, "Read" for a book).
(function () {
  "use strict";

  function focusSummary() {
    var summary = document.querySelector("[data-error-summary]");
    if (!summary) { return; }
    summary.focus();
    summary.addEventListener("click", function (event) {
      var link = event.target.closest("a[href^='#']");
      if (!link) { return; }
      var input = document.getElementById(link.getAttribute("href").slice(1));
      if (!input) { return; }
      event.preventDefault();
      // A field the script replaced with its own control (the half stars) hands focus to that control.
      var target = input.hidden && input.nextElementSibling && input.nextElementSibling.matches("[tabindex]")
        ? input.nextElementSibling : input;
      var legendOrLabel = input.closest("fieldset") ? input.closest("fieldset").querySelector("legend")
        : document.querySelector("label[for='" + input.id + "']");
      (legendOrLabel || target).scrollIntoView();
      target.focus({ preventScroll: true });
    });
  }

  function followKind() {
    var options = document.querySelectorAll("option[data-film-label][data-book-label]");
    var radios = document.querySelectorAll("input[type=radio][name=kind]");
    if (!options.length || !radios.length) { return; }
    function relabel() {
      var checked = document.querySelector("input[type=radio][name=kind]:checked");
      var kind = checked && checked.value === "book" ? "book" : "film";
      options.forEach(function (option) { option.textContent = option.getAttribute("data-" + kind + "-label"); });
    }
    radios.forEach(function (radio) { radio.addEventListener("change", relabel); });
    relabel();
  }

  focusSummary();
  followKind();
})();
