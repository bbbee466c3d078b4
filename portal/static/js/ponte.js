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
  // Occupation picker: the ESCO occupations whose label (in the page's language, or in
  // English) starts with what is typed; the server accepts the label as listed.
  document.querySelectorAll("input[data-occupation-picker]").forEach(function (input) {
    var list = document.getElementById(input.getAttribute("list"));
    var timer = null;
    var shown = [];
    input.addEventListener("input", function () {
      clearTimeout(timer);
      var q = input.value.trim();
      if (q.length < 2 || shown.indexOf(q) !== -1) { return; }  // too short, or picked
      timer = setTimeout(function () {
        fetch("/api/v1/occupations?q=" + encodeURIComponent(q), {
          headers: { "Accept": "application/json" }, credentials: "same-origin"
        })
          .then(function (r) { return r.ok ? r.json() : { items: [] }; })
          .then(function (data) {
            if (input.value.trim() !== q) { return; }  // typed on meanwhile
            list.innerHTML = "";
            shown = [];
            data.items.forEach(function (o) {
              var option = document.createElement("option");
              option.value = o.label;
              if (o.label !== o.label_en) { option.label = o.label_en; }
              list.appendChild(option);
              shown.push(o.label);
            });
          })
          .catch(function () { /* the server still checks what is typed */ });
      }, 150);
    });
  });
  // "Print" buttons (no inline handlers: the Content-Security-Policy refuses them).
  document.querySelectorAll("[data-ponte-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
})();
