"""benches/year.sh's days: `year_days.py VERSO COLLECTION END DAYS OUT`
appends a poem a day and builds after each, writing one record a day to
OUT; `year_days.py --report WORK POEMS CORES` prints the Markdown
section from the records."""

import datetime
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time

START = datetime.date(2025, 11, 15)


def kind(day, end):
    """What a day is for `end`: a turn of the year, of the month, or within."""
    if end == "newest":
        return "within"
    if day.month == 1 and day.day == 1:
        return "year turn"
    if day.day == 1 and end == "month":
        return "month turn"
    return "within"


class Collection:
    """poems.json and embeddings.json, kept in memory and written each day
    (the embeddings as pre-serialised rows: json.dump of 7,797 × 768
    numbers would cost seconds a day)."""

    def __init__(self, d):
        self.d = d
        self.poems = json.load(open(f"{d}/poems.json"))
        e = json.load(open(f"{d}/embeddings.json"))["embeddings"]
        self.vectors = {x["id"]: x["embedding"] for x in e}
        self.rows = [json.dumps(x) for x in e]
        self.rng = random.Random(7)

    def append(self, date):
        src = self.poems["poems"][self.rng.randrange(len(self.poems["poems"]))]
        index = max(p["poem_index"] for p in self.poems["poems"]) + 1
        self.poems["poems"].append({
            "poem_index": index, "category": "fediverse", "id": f"day-{date}",
            "content": src["content"][::-1].strip() or "a new poem",
            "creation_date": f"{date}T12:00:00",
        })
        w = [x + self.rng.gauss(0, 0.01) for x in self.vectors[src["poem_index"]]]
        n = sum(x * x for x in w) ** 0.5
        w = [round(x / n, 6) for x in w]
        self.vectors[index] = w
        self.rows.append(json.dumps({"id": index, "embedding": w}))
        json.dump(self.poems, open(f"{self.d}/poems.json", "w"))
        with open(f"{self.d}/embeddings.json", "w") as f:
            f.write('{"embeddings": [' + ", ".join(self.rows) + "]}")


def folder_bytes(path):
    """The bytes of the files under `path`."""
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(path) for f in files)


def build(verso, d, delta):
    """Build `d`, the changed pages into `delta` when given: one record."""
    summary = f"{d}/../summary.json"
    subprocess.run(["sync"])
    t = time.monotonic()
    args = [verso, "build", d, "--progress", "none", "--summary-json", summary]
    if delta:
        args += ["--delta", delta]
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    secs = time.monotonic() - t
    s = json.load(open(summary))
    record = {"written": sum(f["written"] for f in s["families"].values()),
              "similar": s["families"]["similar"]["written"], "seconds": round(secs, 3)}
    if delta:
        record["bytes"] = folder_bytes(delta)
        record["similar bytes"] = folder_bytes(f"{delta}/similar")
        shutil.rmtree(delta)
    return record


def run(verso, d, end, days, out):
    with open(f"{d}/verso.toml", "a") as f:
        f.write(f'\n[timeline]\nend = "{end}"\n')
    c = Collection(d)
    c.append(START - datetime.timedelta(days=1))
    build(verso, d, None)
    records = []
    for k in range(days):
        day = START + datetime.timedelta(days=k)
        c.append(day)
        r = {"day": str(day), "kind": kind(day, end), **build(verso, d, f"{d}/../delta")}
        records.append(r)
        print(f"{end} {day}: {r['written']} written, {r['bytes'] / 1e6:.1f} MB, {r['seconds']:.2f} s",
              file=sys.stderr)
    json.dump(records, open(out, "w"))


YEAR = {"month": {"within": 353, "month turn": 11, "year turn": 1},
        "year": {"within": 364, "year turn": 1},
        "newest": {"within": 365}}


def month_floor(records, today):
    """Why "month" cannot reach half of `today`'s bytes: the turns' share,
    and what the similar pages a new poem enters cost on the other days."""
    turns = 12 * statistics.mean(r["bytes"] for r in records if r["kind"] != "within")
    within = [r for r in records if r["kind"] == "within"]
    left = (today / 2 - turns) / YEAR["month"]["within"]
    return (f"Why \"month\" stays above half of today's: its 12 turns rewrite every page, {turns / 1e9:.1f} GB "
            f"({turns / today:.1%} of today's), which leaves {left / 1e6:.1f} MB for each of the other 353 days. "
            f"On those days a build writes {statistics.mean(r['bytes'] for r in within) / 1e6:.1f} MB (mean), of which "
            f"{statistics.mean(r['similar bytes'] for r in within) / 1e6:.1f} MB are "
            f"{statistics.mean(r['similar'] for r in within):.0f} similar pages: the new poem's own and those of the "
            "poems whose rankings it enters. The SPEC ranks every poem, settled or not, so that a new poem is found "
            "beside the poems like it on the day it is published.")


def report(work, poems, cores):
    names = [("today", "month", '"month", before the settled rule'), ("month", "month", '"month"'),
             ("year", "year", '"year"'), ("newest", "newest", '"newest"')]
    rows, totals, loaded = [], {}, {}
    for name, end, label in names:
        try:
            records = json.load(open(f"{work}/days-{name}.json"))
        except FileNotFoundError:
            continue
        loaded[name] = records
        by = {}
        for r in records:
            by.setdefault(r["kind"], []).append(r)
        year = sum(n * statistics.mean(x["bytes"] for x in by[k]) for k, n in YEAR[end].items())
        totals[name] = year
        w = [r["written"] for r in records]
        t = [r["seconds"] for r in records]
        within = by["within"]
        turns = ", ".join(f"{r['day']}: {r['written']} pages, {r['bytes'] / 1e9:.2f} GB, {r['seconds']:.1f} s"
                          for r in records if r["kind"] != "within")
        rows.append(f"| {label} | {len(records)} | {statistics.median(w)} / {statistics.mean(w):.0f} | "
                    f"{statistics.median(r['written'] for r in within)} / {statistics.mean(r['written'] for r in within):.0f} | "
                    f"{statistics.median(t):.2f} / {max(t):.2f} | {statistics.median(r['seconds'] for r in within):.2f} / {max(r['seconds'] for r in within):.2f} | "
                    f"{sum(r['bytes'] for r in records) / 1e9:.2f} | {year / 1e9:.1f} | {turns or '—'} |")
    ref = totals.get("today")
    floor = month_floor(loaded["month"], ref) if "month" in loaded and ref else ""
    ratios = "; ".join(f"{n} {totals[n] / ref:.1%} of today's" for n in ("month", "year", "newest") if n in totals and ref)
    return "\n".join([
        "## A poet's year",
        "",
        f"{datetime.date.today()}, `benches/year.sh`, {poems} poems × 768 (word and colour files), 200 poems a page; "
        f"a poem a day from {START} (a slight variation of an existing poem), one `--delta` build each; "
        f"{cores} cores. Bytes are the `--delta` folder's, per build.",
        "",
        "| `[timeline] end` | days | pages a day, median / mean | within a period, median / mean | seconds a day, median / max | within a period, median / max s | GB over the sample | GB over a year (extrapolated) | the turns |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
        *rows,
        "",
        "A year is extrapolated from the sampled days by kind: for \"month\", 353 days within a month, 11 month turns "
        "and 1 year turn, each at the mean of its sampled days; for \"year\", 364 days within and 1 turn; for \"newest\", "
        f"365 days at the sample's mean. {ratios}.",
        "",
        floor,
    ])


if __name__ == "__main__":
    if sys.argv[1] == "--report":
        print(report(sys.argv[2], sys.argv[3], sys.argv[4]))
    else:
        run(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
