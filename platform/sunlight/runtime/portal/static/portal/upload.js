/* Upload progress on the materials page (progressive enhancement: without this file the
   form posts as a plain multipart form). Sends the same form with XMLHttpRequest, shows
   the progress, then goes to the page the server names; a refusal is shown next to the
   form, in the server's words. No inline script: the page's CSP allows 'self' only. */
(function () {
  "use strict";
  function ready(fn) {
    if (document.readyState !== "loading") { fn(); } else { document.addEventListener("DOMContentLoaded", fn); }
  }
  ready(function () {
    var form = document.getElementById("upload-form");
    if (!form || !window.FormData || !window.XMLHttpRequest) { return; }
    var wrap = document.getElementById("upload-progress-wrap");
    var bar = document.getElementById("upload-progress");
    var status = document.getElementById("upload-status");
    var button = document.getElementById("upload-submit");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
      xhr.upload.addEventListener("progress", function (e) {
        if (!e.lengthComputable) { return; }
        var percent = Math.round(e.loaded * 100 / e.total);
        bar.value = percent;
        bar.textContent = percent + "%";
        status.textContent = "正在上传：" + percent + "%";
      });
      xhr.addEventListener("load", function () {
        button.disabled = false;
        if (xhr.status >= 200 && xhr.status < 300) {
          var next = null;
          try { next = JSON.parse(xhr.responseText).next; } catch (ignored) { next = null; }
          if (typeof next === "string" && next.charAt(0) === "/" && next.charAt(1) !== "/") {
            status.textContent = "上传完成。";
            window.location.assign(next);
            return;
          }
        }
        var message = "上传失败，请重试。";
        if (xhr.status === 413) { message = "文件过大，未能上传。"; }
        var doc = null;
        try { doc = new DOMParser().parseFromString(xhr.responseText, "text/html"); } catch (ignored) { doc = null; }
        var found = doc && doc.querySelector(".field-error");
        if (found && found.textContent) { message = found.textContent; }
        status.textContent = message;
      });
      xhr.addEventListener("error", function () {
        button.disabled = false;
        status.textContent = "网络错误，未能上传，请重试。";
      });
      wrap.hidden = false;
      bar.value = 0;
      button.disabled = true;
      status.textContent = "开始上传……";
      xhr.send(new FormData(form));
    });
  });
}());
