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
  // Large uploads (the OCDS import): show how much of the file has been sent, then that the
  // server is importing; the answer replaces the page as a normal submit would.
  document.querySelectorAll("form[data-upload-progress]").forEach(function (form) {
    var box = document.getElementById(form.getAttribute("data-upload-progress"));
    if (!box || !window.XMLHttpRequest || !window.FormData) { return; }
    var bar = box.querySelector("progress");
    var status = box.querySelector("[role=status]");
    form.addEventListener("submit", function (event) {
      var file = form.querySelector("input[type=file]");
      if (!file || !file.files.length || file.files[0].size < 1024 * 1024) { return; }
      event.preventDefault();
      box.hidden = false;
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action || window.location.href);
      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) {
          bar.value = Math.round((e.loaded / e.total) * 100);
          status.textContent = bar.value + "%";
        }
      });
      xhr.upload.addEventListener("load", function () {
        bar.removeAttribute("value");
        status.textContent = status.getAttribute("data-uploaded");
      });
      xhr.addEventListener("load", function () {
        document.open();
        document.write(xhr.responseText);
        document.close();
      });
      xhr.addEventListener("error", function () { form.submit(); });
      xhr.send(new FormData(form));
    });
  });
})();
