// A bounded load on `verso serve` over loopback: TOTAL GET requests for one
// URL from CLIENTS concurrent keep-alive clients; prints requests per
// second, megabytes per second and the number of failed requests (a status
// other than 200, a short body or a connection error). Exits 1 on any.
// Usage: node scripts/serve-load.mjs URL TOTAL CLIENTS
import http from "node:http";

const [url, total, clients] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
const one = () => new Promise((ok) => {
  http.get(url, { agent }, (res) => {
    let bytes = 0;
    res.on("data", (c) => { bytes += c.length; });
    res.on("end", () => ok({ ok: res.statusCode === 200 && bytes === Number(res.headers["content-length"]), bytes }));
  }).on("error", () => ok({ ok: false, bytes: 0 }));
});
let next = 0, failed = 0, bytes = 0;
const started = performance.now();
await Promise.all(Array.from({ length: clients }, async () => {
  while (next < total) {
    next++;
    const r = await one();
    if (!r.ok) failed++;
    bytes += r.bytes;
  }
}));
const seconds = (performance.now() - started) / 1000;
console.log(`${total} requests from ${clients} clients in ${seconds.toFixed(2)} s: ` +
  `${(total / seconds).toFixed(0)} requests/s, ${(bytes / 1048576 / seconds).toFixed(0)} MB/s, ` +
  `${(bytes / total / 1024).toFixed(0)} KB each, ${failed} failed`);
agent.destroy();
process.exit(failed ? 1 : 0);
