// Pin, hide and undo on an item's recommendations without reloading the page: the server answers the
// section drawn afresh, which replaces the old one; focus returns to the same recommendation's first button
// and the change is announced. Without JavaScript the buttons are plain forms that post and come back.
(function () {
  "use strict";
  var status = document.getElementById("recs-status");
  if (!status || !window.fetch || !window.URLSearchParams) { return; }

  function announce(message) {
    status.textContent = "";
    window.setTimeout(function () { status.textContent = message; }, 30);
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var section = document.getElementById("recommendations");
    if (!section || !section.contains(form)) { return; }
    event.preventDefault();
    var row = form.closest("[data-target-id]");
    var targetId = row && row.getAttribute("data-target-id");
    var body = new URLSearchParams(new FormData(form));
    fetch(form.getAttribute("action"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-Requested-With": "fetch", "Accept": "application/json" },
      body: body
    }).then(function (response) {
      return response.json().then(function (answer) {
        if (!answer.ok) { throw new Error(answer.message || "The change was not saved."); }
        return answer;
      });
    }).then(function (answer) {
      var holder = document.createElement("div");
      holder.innerHTML = answer.html;
      var fresh = holder.querySelector("#recommendations");
      section.replaceWith(fresh);
      var again = targetId && fresh.querySelector("[data-target-id='" + targetId + "'] button");
      if (again) { again.focus(); }
      announce(answer.message);
    }).catch(function (error) { announce(error.message); });
  });
})();
