// Reordering a list's entries without reloading the page: drag by pointer (mouse, pen or touch), the
// up/down buttons, or the keyboard (Space on a handle picks the entry up, arrows move it, Space drops it,
// Escape puts it back). Every change is announced in a live region and saved at once; notes and removals
// save the same way. Without JavaScript the same buttons are plain forms that post and come back.
(function () {
  "use strict";
  var list = document.querySelector(".studio-entries");
  if (!list || !window.fetch || !window.URLSearchParams) { return; }
  var status = document.getElementById("reorder-status");
  var csrf = list.getAttribute("data-csrf");
  var DRAG_THRESHOLD = 4;
  var drag = null;      // {li, startY, startOrder, moved}
  var picked = null;    // {li, startOrder}: an entry picked up with the keyboard

  document.querySelectorAll(".js-only, .drag-handle").forEach(function (el) { el.hidden = false; });
  list.setAttribute("data-saved-order", ids().join(","));

  function entries() { return Array.prototype.slice.call(list.querySelectorAll(".studio-entry")); }
  function ids() { return entries().map(function (li) { return li.getAttribute("data-entry-id"); }); }
  function titleOf(li) { return li.getAttribute("data-title"); }
  function place(li) { return "position " + (entries().indexOf(li) + 1) + " of " + entries().length; }

  function announce(message) {
    // Emptied first, so the same words twice are still read out.
    status.textContent = "";
    window.setTimeout(function () { status.textContent = message; }, 30);
  }

  function refresh() {
    var all = entries();
    all.forEach(function (li, index) {
      li.querySelector("[data-entry-action=up]").hidden = index === 0;
      li.querySelector("[data-entry-action=down]").hidden = index === all.length - 1;
    });
    var count = document.querySelector("[data-entry-count]");
    if (count) { count.textContent = String(all.length); }
  }

  function post(url, body) {
    body.append("csrf_token", csrf);
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-Requested-With": "fetch", "Accept": "application/json", "X-CSRFToken": csrf },
      body: body
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (answer) {
        if (!response.ok || !answer.ok) { throw new Error(answer.message || "The server refused the change."); }
        return answer;
      });
    });
  }

  function saveOrder(done) {
    refresh();
    var body = new URLSearchParams();
    ids().forEach(function (id) { body.append("entry", id); });
    var order = ids().join(",");
    return post(list.getAttribute("data-order-url"), body).then(function () {
      list.setAttribute("data-saved-order", order);
      announce(done + " Order saved.");
    }).catch(function (error) {
      announce("The new order was not saved: " + error.message + " Reload the page to see the saved order.");
    });
  }

  function restore(order) {
    order.forEach(function (id) { list.appendChild(list.querySelector("[data-entry-id='" + id + "']")); });
    refresh();
  }

  // Pointer dragging: from the handle or any part of the row that is not a control or a link. The document
  // hears the move and the release, so letting go anywhere (over the dragged row itself too) drops it.
  list.addEventListener("pointerdown", function (event) {
    if (event.button !== 0 || picked) { return; }
    var li = event.target.closest(".studio-entry");
    var onHandle = event.target.closest(".drag-handle");
    if (!li || (!onHandle && event.target.closest("a, button, input, textarea, select, label, form"))) { return; }
    event.preventDefault();
    drag = { li: li, startY: event.clientY, startOrder: ids(), moved: false };
  });

  document.addEventListener("pointermove", function (event) {
    if (!drag) { return; }
    if (!drag.moved && Math.abs(event.clientY - drag.startY) < DRAG_THRESHOLD) { return; }
    drag.moved = true;
    drag.li.classList.add("is-dragging");
    var others = entries().filter(function (li) { return li !== drag.li; });
    var before = null;
    for (var i = 0; i < others.length; i++) {
      var box = others[i].getBoundingClientRect();
      if (event.clientY < box.top + box.height / 2) { before = others[i]; break; }
    }
    if (drag.li.nextElementSibling !== before) { list.insertBefore(drag.li, before); }
  });

  function endDrag(cancelled) {
    if (!drag) { return; }
    var li = drag.li, startOrder = drag.startOrder, moved = drag.moved;
    drag = null;
    li.classList.remove("is-dragging");
    if (!moved) { return; }
    if (cancelled) { restore(startOrder); return; }
    if (ids().join(",") !== startOrder.join(",")) { saveOrder(titleOf(li) + " moved to " + place(li) + "."); }
  }
  document.addEventListener("pointerup", function () { endDrag(false); });
  document.addEventListener("pointercancel", function () { endDrag(true); });
  // Images and links would otherwise start the browser's own drag of a URL.
  list.addEventListener("dragstart", function (event) { event.preventDefault(); });

  // Keyboard: a handle picks its entry up and puts it down.
  function pick(li) {
    picked = { li: li, startOrder: ids() };
    li.classList.add("is-picked");
    li.querySelector(".drag-handle").setAttribute("aria-pressed", "true");
    announce(titleOf(li) + " picked up, " + place(li) + ". Use the arrow keys to move it, Space to drop it, Escape to cancel.");
  }

  function drop(cancel) {
    var li = picked.li, startOrder = picked.startOrder;
    picked = null;
    li.classList.remove("is-picked");
    var handle = li.querySelector(".drag-handle");
    handle.setAttribute("aria-pressed", "false");
    if (cancel) {
      restore(startOrder);
      handle.focus();
      announce(titleOf(li) + " put back at " + place(li) + ".");
    } else if (ids().join(",") !== startOrder.join(",")) {
      saveOrder(titleOf(li) + " dropped at " + place(li) + ".");
    } else {
      announce(titleOf(li) + " dropped at " + place(li) + ", where it was.");
    }
  }

  function moveBy(li, step) {
    var target = step < 0 ? li.previousElementSibling : li.nextElementSibling;
    if (!target) { return false; }
    list.insertBefore(li, step < 0 ? target : target.nextElementSibling);
    return true;
  }

  list.addEventListener("keydown", function (event) {
    var handle = event.target.closest(".drag-handle");
    if (!handle) { return; }
    var li = handle.closest(".studio-entry");
    if (event.key === " " || event.key === "Enter") {
      event.preventDefault();
      if (picked) { drop(false); } else { pick(li); }
    } else if (picked && picked.li === li && (event.key === "ArrowUp" || event.key === "ArrowDown")) {
      event.preventDefault();
      if (moveBy(li, event.key === "ArrowUp" ? -1 : 1)) {
        handle.focus();
        refresh();
        announce(titleOf(li) + ", " + place(li) + ".");
      } else {
        announce(titleOf(li) + " is already " + (event.key === "ArrowUp" ? "first." : "last."));
      }
    } else if (picked && event.key === "Escape") {
      event.preventDefault();
      drop(true);
    }
  });
  // Leaving a picked entry (Tab, a click elsewhere) drops it where it is.
  list.addEventListener("focusout", function (event) {
    if (picked && event.target.closest(".drag-handle") && !list.contains(event.relatedTarget) && event.relatedTarget) {
      drop(false);
    }
  });

  // The plain forms, sent without leaving the page.
  list.addEventListener("submit", function (event) {
    var form = event.target;
    var action = form.getAttribute("data-entry-action");
    var li = form.closest(".studio-entry");
    if (!action || !li) { return; }
    event.preventDefault();
    if (action === "up" || action === "down") {
      moveBy(li, action === "up" ? -1 : 1);
      refresh();
      var same = li.querySelector("[data-entry-action=" + action + "]");
      var other = li.querySelector("[data-entry-action=" + (action === "up" ? "down" : "up") + "]");
      (same.hidden ? other : same).querySelector("button").focus();
      saveOrder(titleOf(li) + " moved to " + place(li) + ".");
      return;
    }
    var body = new URLSearchParams(new FormData(form));
    body.delete("csrf_token");
    post(form.getAttribute("action"), body).then(function (answer) {
      if (action === "remove") {
        var next = li.nextElementSibling || li.previousElementSibling;
        li.remove();
        refresh();
        list.setAttribute("data-saved-order", ids().join(","));
        var focusTarget = next ? next.querySelector(".drag-handle") : document.getElementById("list-search");
        if (focusTarget) { focusTarget.focus(); }
      }
      announce(answer.message);
    }).catch(function (error) { announce("Not saved: " + error.message); });
  });
})();
