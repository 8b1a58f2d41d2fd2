/* publisher: the follow pages' "Copy" buttons. Each copies the address in the read-only field
   it names (data-copy) and says so in the page's status line; the buttons stay hidden where
   this file does not run, and the fields can still be selected and copied by hand. */
"use strict";

(function () {
  var status = document.getElementById("kopirano");

  function say(text) {
    if (status) status.textContent = text;
  }

  function copyBySelection(field, button) {
    field.select();
    var copied = false;
    try {
      copied = document.execCommand("copy");
    } catch (error) {
      copied = false;
    }
    button.focus();
    say(copied ? button.dataset.copied : button.dataset.failed);
  }

  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var field = document.getElementById(button.dataset.copy);
    if (!field) return;
    field.addEventListener("focus", function () {
      field.select();
    });
    button.addEventListener("click", function () {
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(
          function () {
            say(button.dataset.copied);
          },
          function () {
            copyBySelection(field, button);
          }
        );
      } else {
        copyBySelection(field, button);
      }
    });
    button.hidden = false;
  });
})();
