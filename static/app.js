// Progressive enhancement only: every page works without this file.
// Copy buttons: <button data-copy="#element-id" hidden>Copy</button> copies that element's text.
(function () {
  "use strict";

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    // Older browsers, or a page not served from a secure context: copy through a selected textarea.
    return new Promise(function (resolve, reject) {
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.style.position = "fixed";
      area.style.opacity = "0";
      document.body.appendChild(area);
      area.select();
      try {
        document.execCommand("copy") ? resolve() : reject(new Error("copy refused"));
      } catch (error) {
        reject(error);
      } finally {
        document.body.removeChild(area);
      }
    });
  }

  function announce(button, message) {
    var status = button.parentElement.querySelector(".copy-status");
    if (!status) { return; }
    status.textContent = message;
    window.setTimeout(function () { status.textContent = ""; }, 3000);
  }

  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var source = document.querySelector(button.getAttribute("data-copy"));
    if (!source) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      copyText(source.textContent.trim()).then(
        function () { announce(button, "Copied"); },
        function () { announce(button, "Could not copy: select the text and copy it by hand"); }
      );
    });
  });
})();

// The create form: when the application type changes, tick that type's default grant types and
// method (form[data-type-defaults], from blueprints/dashboard/views.py), unless you changed them yourself.
(function () {
  "use strict";
  var form = document.querySelector("form[data-type-defaults]");
  if (!form) { return; }
  var defaults = JSON.parse(form.getAttribute("data-type-defaults"));
  var typeSelect = form.querySelector("select[name=app_type]");
  var touched = false;
  form.querySelectorAll("input[name=grant_types], input[name=token_endpoint_auth_method]").forEach(function (input) {
    input.addEventListener("change", function () { touched = true; });
  });
  if (!typeSelect) { return; }
  typeSelect.addEventListener("change", function () {
    var chosen = defaults[typeSelect.value];
    if (!chosen || touched) { return; }
    form.querySelectorAll("input[name=grant_types]").forEach(function (box) {
      box.checked = chosen.grant_types.indexOf(box.value) !== -1;
    });
    form.querySelectorAll("input[name=token_endpoint_auth_method]").forEach(function (radio) {
      radio.checked = radio.value === chosen.method;
    });
  });
})();
