// haimaker admin page behaviour. Loaded as a file (the Content-Security-Policy allows no inline script).
"use strict";

function copyText(text, field) {
  if (navigator.clipboard && window.isSecureContext) {
    return navigator.clipboard.writeText(text);
  }
  field.select();
  return document.execCommand("copy") ? Promise.resolve() : Promise.reject(new Error("copy refused"));
}

function setupCopyButtons() {
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var field = document.getElementById(button.dataset.copy);
      if (!field) { return; }
      var label = button.textContent;
      copyText(field.value || field.textContent, field).then(function () {
        button.textContent = "Copied";
        button.classList.add("copied");
      }, function () {
        field.select();
        button.textContent = "Press Ctrl+C";
      }).finally(function () {
        setTimeout(function () { button.textContent = label; button.classList.remove("copied"); }, 1800);
      });
    });
  });
}

function setupConfirmations() {
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) { event.preventDefault(); }
    });
  });
}

document.addEventListener("DOMContentLoaded", function () {
  setupCopyButtons();
  setupConfirmations();
});
