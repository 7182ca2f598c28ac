// qrcheck: an upload progress bar for the check form. The form works without this script;
// with it, the photos are sent by XMLHttpRequest so the page can show how much has gone.
// Every sentence comes from the page (data-* attributes), in the user's language.
(function () {
  "use strict";

  function init() {
    var form = document.querySelector("form[data-upload]");
    if (!form || !window.FormData || !window.XMLHttpRequest) return;
    var status = document.getElementById("upload-status");
    var bar = status.querySelector("progress");
    var text = status.querySelector(".progress-text");
    var button = form.querySelector("button[type=submit]");

    function say(sentence, percent) {
      text.textContent = sentence.replace("{percent}", String(percent));
    }

    var refused = document.getElementById("upload-refused");

    // what the server would refuse, said before a long upload on a slow network
    var pickers = form.querySelectorAll("input[type=file]");
    var chosen = document.getElementById("chosen");

    // the photos of both inputs (the camera's and the gallery's): both are sent
    function allFiles() {
      var files = [];
      for (var p = 0; p < pickers.length; p++) {
        for (var i = 0; i < pickers[p].files.length; i++) files.push(pickers[p].files[i]);
      }
      return files;
    }

    function showChosen() {
      var count = allFiles().length;
      chosen.textContent = count ? form.dataset.chosen.replace("{count}", String(count)) : "";
    }
    for (var p = 0; p < pickers.length; p++) pickers[p].addEventListener("change", showChosen);
    showChosen();

    function tooMuch() {
      var files = allFiles();
      var bytes = 0;
      for (var i = 0; i < files.length; i++) bytes += files[i].size;
      if (files.length === 0) return form.dataset.none;
      if (files.length > Number(form.dataset.maxFiles)) {
        return form.dataset.tooMany.replace("{count}", String(files.length));
      }
      if (bytes > Number(form.dataset.maxBytes)) {
        return form.dataset.tooBig.replace("{megabytes}", String(Math.round(bytes / 1048576)));
      }
      return "";
    }

    form.addEventListener("submit", function (event) {
      if (!form.checkValidity()) return; // the browser says what is missing
      event.preventDefault();
      var problem = tooMuch();
      refused.textContent = problem;
      refused.hidden = !problem;
      if (problem) return;
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.responseType = "document";
      button.disabled = true;
      status.hidden = false;
      bar.value = 0;
      say(form.dataset.sending, 0);

      function failed() {
        button.disabled = false;
        bar.value = 0;
        say(form.dataset.failed, 0);
      }

      xhr.upload.addEventListener("progress", function (e) {
        if (!e.lengthComputable || e.total === 0) return;
        var percent = Math.floor((100 * e.loaded) / e.total);
        bar.value = percent;
        say(form.dataset.sending, percent);
      });
      xhr.upload.addEventListener("load", function () {
        bar.removeAttribute("value"); // indeterminate while the server stores the photos
        say(form.dataset.sent, 100);
      });
      xhr.addEventListener("load", function () {
        var landed = xhr.responseURL ? new URL(xhr.responseURL) : null;
        if (landed && landed.pathname !== new URL(form.action).pathname) {
          window.location.assign(landed.href); // the result (or the login page)
          return;
        }
        // the check page again, saying what was wrong with the photos: show it in place
        var main = xhr.response && xhr.response.querySelector("main");
        if (!main) return failed();
        document.querySelector("main").replaceWith(document.importNode(main, true));
        window.scrollTo(0, 0);
        init();
      });
      xhr.addEventListener("error", failed);
      xhr.addEventListener("abort", failed);
      xhr.send(new FormData(form));
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
