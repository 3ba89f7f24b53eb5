// `verso serve` in headless Chromium, driven over the DevTools protocol by
// playwright-core. On a copy of a collection (it edits poems.json):
//  1. an open similar page of poem P updates without a manual reload when
//     P's text is edited, within LIMIT seconds of the save;
//  2. a page the edit did not change is not reloaded;
//  3. a trailing comma in poems.json shows the error overlay while the
//     last good text stays, and fixing it removes the overlay (reload).
// With --edits N it measures instead: N one-word edits of P, and the
// median and spread of save-to-reloaded-page times.
// A screenshot of the overlay goes to SCREENSHOT_DIR/serve-overlay.png.
// Usage: node serve-in-chromium.mjs VERSO COLLECTION_DIR [--edits N] [--limit S]
//        [--shots SCREENSHOT_DIR]
// (needs the npm package playwright-core and /usr/bin/chromium).
import { chromium } from "playwright-core";
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync, readdirSync, renameSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i < 0 ? fallback : Number(args[i + 1]);
};
const [verso, dir] = args.slice(0, 2).map((p) => resolve(p));
const edits = option("--edits", 0);
const limit = option("--limit", 3);
const poemsPath = join(dir, "poems.json");
const fail = (why) => {
  console.log(`FAIL ${why}`);
  process.exitCode = 1;
};

// The server, and its URL from its output.
const server = spawn(verso, ["serve", dir, "--port", "0", "--progress", "none"], {
  stdio: ["ignore", "pipe", "inherit"],
});
const base = await new Promise((ok, no) => {
  let text = "";
  server.stdout.on("data", (chunk) => {
    text += chunk;
    const m = text.match(/at (http:\/\/\S+\/)/);
    if (m) ok(m[1]);
  });
  server.on("exit", (code) => no(new Error(`verso serve exited with ${code}`)));
});
server.stdout.on("data", () => {});

// An atomic save, as editors do.
const save = (text) => {
  writeFileSync(poemsPath + ".saving", text);
  renameSync(poemsPath + ".saving", poemsPath);
};
const collection = JSON.parse(readFileSync(poemsPath, "utf8"));
const poem = collection.poems[Math.floor(collection.poems.length / 2)];
const code = String(poem.poem_index).padStart(4, "0");
const site = join(dir, "site");
const quiet = readdirSync(join(site, "chronological"))
  .filter((f) => f.endsWith(".html"))
  .find((f) => !readFileSync(join(site, "chronological", f), "utf8").includes(`id="poem-${code}"`));

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
});
const open = async (path) => {
  const page = await browser.newPage();
  await page.goto(base + path);
  await page.waitForFunction(() => window.versoLive === true);
  // Gone after a reload: how a reload is told from an update in place.
  await page.evaluate(() => { window.versoMark = true; });
  return page;
};
const reloaded = (page) => page.evaluate(() => window.versoMark !== true);
const shows = (page, word) => page.evaluate((w) => document.body.innerText.includes(w), word);

const similar = await open(`similar/${code}-01.html`);
const other = quiet && (await open(`chronological/${quiet}`));

// Save an edit of the poem's text and time it until the open page shows it.
const edit = async (word) => {
  poem.content = `${poem.content.split("\n")[0]} ${word}\n${poem.content.split("\n").slice(1).join("\n")}`;
  const started = performance.now();
  save(JSON.stringify(collection, null, 1));
  await similar.waitForFunction((w) => document.body.innerText.includes(w), word, { timeout: 30000, polling: 20 });
  const seconds = (performance.now() - started) / 1000;
  await similar.waitForFunction(() => window.versoLive === true);
  await similar.evaluate(() => { window.versoMark = true; });
  return seconds;
};

if (edits > 0) {
  const times = [];
  for (let i = 0; i < edits; i++) {
    times.push(await edit(`glimmer${i}quill`));
    await new Promise((r) => setTimeout(r, 300));
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  console.log(`save to reloaded page over ${edits} edits: median ${median.toFixed(2)} s, ` +
    `min ${times[0].toFixed(2)} s, max ${times[times.length - 1].toFixed(2)} s`);
} else {
  const seconds = await edit("glimmerquill");
  console.log(`${seconds <= limit ? "ok  " : "FAIL"} the edited poem's similar page updated ${seconds.toFixed(2)} s after the save (limit ${limit} s)`);
  if (seconds > limit) process.exitCode = 1;

  if (!other) fail("no chronological page without the poem");
  else if (await reloaded(other)) fail(`chronological/${quiet} reloaded, though the edit did not change it`);
  else console.log(`ok   chronological/${quiet}, which the edit did not change, did not reload`);

  const good = readFileSync(poemsPath, "utf8");
  const end = good.slice(0, good.lastIndexOf("]")).lastIndexOf("}") + 1;
  save(good.slice(0, end) + "," + good.slice(end));
  await similar.waitForSelector("#verso-error", { timeout: 10000 });
  const overlay = await similar.textContent("#verso-error");
  const shots = args.indexOf("--shots");
  if (shots >= 0) {
    mkdirSync(args[shots + 1], { recursive: true });
    await similar.screenshot({ path: join(args[shots + 1], "serve-overlay.png") });
  }
  if (!overlay.includes("poems.json")) fail(`the overlay does not name poems.json: ${overlay}`);
  else if (!(await shows(similar, "glimmerquill"))) fail("the last good text is gone under the overlay");
  else console.log("ok   a trailing comma shows the overlay over the last good page");

  save(good);
  await similar.waitForFunction(() => window.versoMark !== true && window.versoLive === true, null, { timeout: 10000 });
  if (await similar.$("#verso-error")) fail("the overlay stayed after the fix");
  else console.log("ok   the fix reloaded the page without the overlay");
}

await browser.close();
server.kill("SIGINT");
const code130 = await new Promise((ok) => server.on("exit", ok));
if (code130 !== 130) fail(`verso serve exited with ${code130} on Ctrl-C, not 130`);
else console.log("ok   Ctrl-C stopped verso serve with 130");
process.exit(process.exitCode || 0);
