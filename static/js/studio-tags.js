// Type-ahead for comma-separated tags: the datalist offers "what you typed so far, <tag>".
(function () {
  "use strict";
  var list = document.getElementById("tag-names");
  var input = document.querySelector("input[list='tag-names']");
  if (!list || !input) { return; }
  var names = (list.getAttribute("data-tags") || "").split("\n").filter(Boolean);

  function refresh() {
    var value = input.value;
    var cut = value.lastIndexOf(",");
    var done = cut >= 0 ? value.slice(0, cut + 1) : "";
    var typed = value.slice(cut + 1).trim().toLowerCase();
    var chosen = done.split(",").map(function (t) { return t.trim().toLowerCase(); });
    var prefix = done ? done.replace(/\s*$/, " ") : "";
    list.textContent = "";
    names.forEach(function (name) {
      var lower = name.toLowerCase();
      if (chosen.indexOf(lower) !== -1 || (typed && lower.indexOf(typed) === -1)) { return; }
      var option = document.createElement("option");
      option.value = prefix + name;
      list.appendChild(option);
    });
  }
  input.addEventListener("input", refresh);
  input.addEventListener("focus", refresh);
})();
