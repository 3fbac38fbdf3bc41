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
