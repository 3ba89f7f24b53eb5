// verso serve: reload this page when a rebuild changed it; show a build's
// error over the page until the input is fixed. Injected into responses
// only, never written to the site.
(() => {
  let page = decodeURIComponent(location.pathname);
  if (page.endsWith("/")) page += "index.html";
  const events = new EventSource("/__verso/events?page=" + encodeURIComponent(page));
  events.addEventListener("open", () => { window.versoLive = true; });
  events.addEventListener("reload", () => location.reload());
  events.addEventListener("failed", (e) => {
    let box = document.getElementById("verso-error");
    if (!box) {
      box = document.createElement("pre");
      box.id = "verso-error";
      box.style.cssText = "position:fixed;inset:auto 1em 1em 1em;max-height:60vh;overflow:auto;" +
        "margin:0;padding:1em;background:#fff5f5;color:#900;border:2px solid #c00;" +
        "font:14px/1.4 monospace;white-space:pre-wrap;z-index:2147483647";
      document.body.appendChild(box);
    }
    box.textContent = "verso: the build failed; this is the last good page.\n\n" + e.data;
  });
})();
