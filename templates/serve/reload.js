// episode serve: reload this page when a build has changed what it shows (server-sent events).
(function () {
  "use strict";
  var body = document.body;
  var query = "since=" + encodeURIComponent(body.getAttribute("data-generation") || "0");
  var stem = body.getAttribute("data-stem");
  if (stem) {
    query += "&stem=" + encodeURIComponent(stem);
  }
  var source = new EventSource("/events?" + query);
  source.addEventListener("reload", function () {
    source.close();
    window.location.reload();
  });
})();
