// The article editor's live preview: the public page for what the form holds, as staff type.
// Without this script the "Predogled" button shows the same page in a new tab.
(function () {
  "use strict";
  var form = document.getElementById("urejevalnik");
  var frame = document.getElementById("predogled");
  if (!form || !frame || !window.fetch) return;
  var section = frame.closest("section");
  var timer = null;
  var asked = 0;

  function refresh() {
    var data = new FormData(form);
    data.delete("photo"); // the file is sent once, on saving
    var mine = ++asked;
    fetch("/admin/articles/preview", { method: "POST", body: data, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html !== null && mine === asked) frame.srcdoc = html;
      })
      .catch(function () {});
  }

  function later() {
    clearTimeout(timer);
    timer = setTimeout(refresh, 400);
  }

  section.hidden = false;
  form.addEventListener("input", later);
  form.addEventListener("change", later);
  refresh();
})();
