// Ponte: progressive enhancement only; every page works without JavaScript.
(function () {
  "use strict";
  // Municipality picker: fill the <datalist> from the API as the person types.
  document.querySelectorAll("input[data-municipality-picker]").forEach(function (input) {
    var list = document.getElementById(input.getAttribute("list"));
    var timer = null;
    input.addEventListener("input", function () {
      clearTimeout(timer);
      var q = input.value.trim();
      if (q.length < 2 || /\(\w\w\)$/.test(q)) { return; }
      timer = setTimeout(function () {
        fetch("/api/v1/municipalities?q=" + encodeURIComponent(q))
          .then(function (r) { return r.ok ? r.json() : { items: [] }; })
          .then(function (data) {
            list.innerHTML = "";
            data.items.forEach(function (m) {
              var option = document.createElement("option");
              option.value = m.label;
              list.appendChild(option);
            });
          });
      }, 150);
    });
  });
})();
