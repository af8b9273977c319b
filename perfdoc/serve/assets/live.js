// perfdoc serve: keeps this page in step with the data files. The server pushes its state through
// server-sent events (no polling): a new preview version reloads the page (scroll position kept),
// errors are shown over the last good preview, the bar shows the rebuild of the files, and a
// notice says when the files are not watched as they should be (folder gone, polling).
(function () {
  "use strict";
  var version = Number(document.currentScript.dataset.version);
  var bar = document.getElementById("perfdoc-bar");
  var problems = document.getElementById("perfdoc-problems");
  var notice = document.getElementById("perfdoc-notice");
  var scrollKey = "perfdoc-scroll";

  var saved = sessionStorage.getItem(scrollKey);
  if (saved !== null) {
    sessionStorage.removeItem(scrollKey);
    window.scrollTo(0, Number(saved));
  }

  var source = new EventSource("/__perfdoc/events");
  source.addEventListener("state", function (event) {
    var state = JSON.parse(event.data);
    if (state.version !== version) {
      source.close();
      sessionStorage.setItem(scrollKey, String(window.scrollY));
      window.location.reload();
      return;
    }
    problems.innerHTML = state.problems_html;  // built and escaped by the server
    problems.hidden = state.problems === 0;
    notice.innerHTML = state.notice_html;  // the watcher's word: folder gone, polling …
    notice.hidden = state.notice === "";
    bar.innerHTML = state.files_html;
    bar.dataset.connected = "yes";
  });
  source.addEventListener("error", function () {
    bar.dataset.connected = "no";
    bar.textContent = "与 perfdoc serve 的连接已断开，正在重连…（disconnected）";
  });
})();
