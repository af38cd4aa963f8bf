// Drag-and-drop reordering of a list's entries; the up/down buttons remain for keyboards and no-JS.
(function () {
  "use strict";
  var list = document.querySelector(".studio-entries");
  if (!list || !window.fetch) { return; }
  var dragged = null;
  document.querySelectorAll(".js-only, .drag-handle").forEach(function (el) { el.hidden = false; });

  function entries() { return Array.prototype.slice.call(list.querySelectorAll(".studio-entry")); }

  function save() {
    var body = new URLSearchParams();
    entries().forEach(function (li) { body.append("entry", li.getAttribute("data-entry-id")); });
    body.append("csrf_token", list.getAttribute("data-csrf"));
    fetch(list.getAttribute("data-order-url"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-Requested-With": "fetch", "Accept": "application/json", "X-CSRFToken": list.getAttribute("data-csrf") },
      body: body
    }).then(function (response) {
      // The server is the source of truth: reload to show its order and the fresh up/down buttons.
      window.location.reload();
      return response;
    }).catch(function () { window.location.reload(); });
  }

  entries().forEach(function (li) {
    li.draggable = true;
    li.addEventListener("dragstart", function (event) {
      dragged = li;
      li.classList.add("is-dragging");
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", li.getAttribute("data-entry-id"));
    });
    li.addEventListener("dragend", function () { li.classList.remove("is-dragging"); });
    li.addEventListener("dragover", function (event) {
      if (!dragged || dragged === li) { return; }
      event.preventDefault();
      var box = li.getBoundingClientRect();
      var after = event.clientY > box.top + box.height / 2;
      list.insertBefore(dragged, after ? li.nextSibling : li);
    });
    li.addEventListener("drop", function (event) { event.preventDefault(); });
  });
  list.addEventListener("drop", function (event) {
    event.preventDefault();
    if (dragged) { dragged = null; save(); }
  });
})();
