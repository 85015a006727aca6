// A generation's page follows its progress over Server-Sent Events and reloads when it ends,
// so the images (or the reason) are rendered by the server.
(function () {
  "use strict";
  var section = document.getElementById("generation");
  if (!section || !window.EventSource) { return; }
  var status = section.getAttribute("data-status");
  if (status !== "queued" && status !== "running") { return; }
  var statusLine = document.getElementById("generation-status");
  var progress = document.getElementById("progress");
  var source = new EventSource(section.getAttribute("data-events"));
  var show = function (event) {
    var generation = JSON.parse(event.data);
    if (generation.status === "queued") {
      statusLine.textContent = generation.queuePosition > 0
        ? "Waiting: " + generation.queuePosition + " ahead of you" : "Waiting: next in line";
    } else if (generation.status === "running") {
      statusLine.textContent = "Making your images… " + Math.round(generation.progress * 100) + "%";
    }
    if (progress) { progress.value = Math.round(generation.progress * 100); }
  };
  var finish = function () {
    source.close();
    window.location.reload();
  };
  // A stream the server refuses (too many open, or no longer signed in): the browser gives up on
  // it, so the page reloads every few seconds instead, showing the state as it is then.
  source.onerror = function () {
    if (source.readyState !== EventSource.CLOSED) { return; }
    statusLine.textContent += " (refreshing every few seconds)";
    window.setTimeout(function () { window.location.reload(); }, 5000);
  };
  source.addEventListener("queued", show);
  source.addEventListener("running", show);
  // "signed-out": the session ended elsewhere; the reload shows the sign-in page.
  ["succeeded", "failed", "blocked", "cancelled", "signed-out"].forEach(function (name) {
    source.addEventListener(name, finish);
  });
})();
