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
  // Large uploads (the OCDS import): how much of the file has been sent, then how much of it
  // the server has imported (it answers one JSON line per batch, then the page).
  document.querySelectorAll("form[data-upload-progress]").forEach(function (form) {
    var box = document.getElementById(form.getAttribute("data-upload-progress"));
    if (!box || !window.XMLHttpRequest || !window.FormData) { return; }
    var bar = box.querySelector("progress");
    var label = box.querySelector("label");
    var status = box.querySelector("[role=status]");
    function show(html) {
      document.open();
      document.write(html);
      document.close();
    }
    form.addEventListener("submit", function (event) {
      var file = form.querySelector("input[type=file]");
      if (!file || !file.files.length || file.files[0].size < 1024 * 1024) { return; }
      event.preventDefault();
      box.hidden = false;
      var xhr = new XMLHttpRequest();
      var seen = 0;
      xhr.open("POST", form.action || window.location.href);
      xhr.setRequestHeader("Accept", "application/x-ndjson");
      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) {
          bar.value = Math.round((e.loaded / e.total) * 100);
          status.textContent = bar.value + "%";
        }
      });
      xhr.upload.addEventListener("load", function () {
        label.textContent = status.getAttribute("data-importing-label");
        bar.value = 0;
        status.textContent = status.getAttribute("data-uploaded");
      });
      xhr.addEventListener("progress", function () {
        if ((xhr.getResponseHeader("Content-Type") || "").indexOf("ndjson") < 0) { return; }
        var lines = xhr.responseText.split("\n");
        for (; seen < lines.length - 1; seen++) {
          var step = JSON.parse(lines[seen]);
          if (step.total) {
            bar.value = Math.round((step.done / step.total) * 100);
            status.textContent = bar.value + "%";
          }
        }
      });
      xhr.addEventListener("load", function () {
        if ((xhr.getResponseHeader("Content-Type") || "").indexOf("ndjson") < 0) {
          show(xhr.responseText);
          return;
        }
        var lines = xhr.responseText.trim().split("\n");
        show(JSON.parse(lines[lines.length - 1]).html);
      });
      xhr.addEventListener("error", function () { form.submit(); });
      xhr.send(new FormData(form));
    });
  });
})();
// Character counters (portal.bounds): how many characters are left once a text nears its
// limit, and how many are too many; the server refuses an over-long text with a field error.
(function () {
  "use strict";
  document.querySelectorAll("[data-counter-for]").forEach(function (counter) {
    var field = document.getElementById(counter.getAttribute("data-counter-for"));
    if (!field) { return; }
    var max = parseInt(field.getAttribute("data-maxlength"), 10);
    var initial = counter.textContent;
    function update() {
      var length = field.value.length;
      if (length > max) {
        counter.textContent = counter.getAttribute("data-over")
          .replace("{over}", String(length - max)).replace("{max}", String(max));
        counter.classList.add("text-danger");
      } else if (length >= max * 0.8) {
        counter.textContent = counter.getAttribute("data-left")
          .replace("{left}", String(max - length)).replace("{max}", String(max));
        counter.classList.remove("text-danger");
      } else {
        counter.textContent = initial;
        counter.classList.remove("text-danger");
      }
    }
    counter.setAttribute("aria-live", "polite");
    field.addEventListener("input", update);
    update();

  });
})();
// "Print" buttons (no inline handlers: the Content-Security-Policy refuses them).
(function () {
  "use strict";
  document.querySelectorAll("[data-ponte-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
})();
