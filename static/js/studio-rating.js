// Rating in half stars, drawn over the plain select (which stays the form's field and works without
// JavaScript). The control is an ARIA slider, as in the WAI-ARIA practices' rating slider: arrows move half
// a star, Page Up/Down a whole one, Home or Delete clear it, End gives five, digits 1-5 jump; a screen reader
// hears "3.5 stars". A click on the stars picks the half star under the pointer; the same again clears it.
(function () {
  "use strict";

  function words(value) {
    return value === 0 ? "No rating" : value + (value === 1 ? " star" : " stars");
  }

  function enhance(select) {
    var label = document.getElementById(select.id + "-label");
    var control = document.createElement("div");
    control.className = "half-stars";
    control.setAttribute("role", "slider");
    control.tabIndex = 0;
    control.setAttribute("aria-valuemin", "0");
    control.setAttribute("aria-valuemax", "5");
    if (label) { control.setAttribute("aria-labelledby", label.id); }
    ["aria-describedby", "aria-invalid"].forEach(function (name) {
      if (select.hasAttribute(name)) { control.setAttribute(name, select.getAttribute(name)); }
    });
    var track = document.createElement("span");
    track.className = "half-stars-track";
    track.setAttribute("aria-hidden", "true");
    track.textContent = "★★★★★";
    var fill = document.createElement("span");
    fill.className = "half-stars-fill";
    fill.textContent = "★★★★★";
    track.appendChild(fill);
    var text = document.createElement("span");
    text.className = "half-stars-text";
    text.setAttribute("aria-hidden", "true");
    control.appendChild(track);
    control.appendChild(text);
    select.hidden = true;
    select.parentNode.insertBefore(control, select.nextSibling);
    if (label) {
      // The label pointed at the select; now a click on it should reach the stars.
      label.addEventListener("click", function (event) { event.preventDefault(); control.focus(); });
    }

    function value() { return select.value === "" ? 0 : parseFloat(select.value); }

    function render() {
      var current = value();
      control.setAttribute("aria-valuenow", String(current));
      control.setAttribute("aria-valuetext", words(current));
      fill.style.width = (current / 5 * 100) + "%";
      text.textContent = words(current);
    }

    function set(next) {
      next = Math.max(0, Math.min(5, Math.round(next * 2) / 2));
      var option = next === 0 ? "" : String(next);
      if (select.value !== option) {
        select.value = option;
        select.dispatchEvent(new Event("change", { bubbles: true }));
      }
      render();
    }

    control.addEventListener("keydown", function (event) {
      var steps = { ArrowRight: 0.5, ArrowUp: 0.5, ArrowLeft: -0.5, ArrowDown: -0.5, PageUp: 1, PageDown: -1 };
      if (Object.prototype.hasOwnProperty.call(steps, event.key)) { set(value() + steps[event.key]); }
      else if (event.key === "Home" || event.key === "Delete" || event.key === "Backspace" || event.key === "0") { set(0); }
      else if (event.key === "End") { set(5); }
      else if (/^[1-5]$/.test(event.key)) { set(parseInt(event.key, 10)); }
      else { return; }
      event.preventDefault();
    });
    track.addEventListener("click", function (event) {
      var box = track.getBoundingClientRect();
      var picked = Math.ceil((event.clientX - box.left) / box.width * 10) / 2;
      set(picked === value() ? 0 : picked);
      control.focus();
    });
    render();
  }

  document.querySelectorAll("select[data-half-stars]").forEach(enhance);
})();
