#!/usr/bin/env bash
# End-to-end benchmark: a `verso fixture --poems 7797 --dim 768 --companions`
# collection (word and colour embedding files, as a model-backed collection
# has), built cold, no-op, after a typo, an embedding change, a new poem, and
# interrupted at about half then resumed; each with wall time and peak memory.
# Then 20 poems appended within the newest month and 20 slight embedding
# changes, one build each, with the files rewritten broken down by cause
# (from `verso status --explain-all`). Also: the terminal display against
# --progress none, forced and template-edit rewrites against the cold build,
# the disk's own write speed (dd, same bytes as the site), and doubling
# poems_per_page.
# Usage: benches/e2e.sh [WORKDIR]   (needs ~25 GB free; writes benches/RESULTS.md)
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-/tmp/verso-e2e}
. benches/collection.sh

# settle: flush dirty pages and, where allowed (root), drop the page cache,
# so that every cold build and every dd starts from the same memory state
# (incremental builds run with warm caches, as after an edit). On a
# virtual machine the first touch of never-used memory costs several times
# more than reusing freed pages, which otherwise swamps the comparison.
settle() {
  sync
  if [ -w /proc/sys/vm/drop_caches ]; then echo 3 > /proc/sys/vm/drop_caches; fi
}
seconds() { /usr/bin/time -o "$work/time" -f "%e" "$@" >/dev/null 2>&1; tail -n 1 "$work/time"; }
# dd_page_cache BYTES: seconds for dd to write BYTES to the page cache.
dd_page_cache() {
  settle
  local t
  t=$(seconds dd if=/dev/zero of="$work/dd.bin" bs=1M count=$(($1 / 1048576)) status=none)
  rm -f "$work/dd.bin"
  echo "$t"
}

rows=()
# measure NAME ARGS...: wall seconds and peak RSS of one build.
measure() {
  local name=$1; shift
  # The previous build's pages are flushed first, as when a poet edits a
  # while after a build: a flush in progress slows the store's fsync.
  sync
  /usr/bin/time -o "$work/time" -f "%e %M" "$verso" build "$col" --progress none --summary-json "$work/s.json" "$@" >/dev/null || true
  local stats
  stats=$(tail -n 1 "$work/time")
  local secs=${stats% *} kb=${stats#* }
  local written
  written=$(python3 -c "import json;d=json.load(open('$work/s.json'));print(sum(f['written'] for f in d['families'].values()))")
  stage6=$(python3 -c "import json;d=json.load(open('$work/s.json'));print(round(sum(s['seconds'] for s in d['stages'] if s['stage']=='write pages'),2))")
  rows+=("| $name | $secs | $((kb / 1024)) | $written | $stage6 |")
  echo "$name: ${secs}s, $((kb / 1024)) MB, $written written" >&2
}
edit() { python3 - "$col" "$1" <<'PY'
import json, sys
d, what = sys.argv[1], sys.argv[2]
p = json.load(open(f"{d}/poems.json"))
if what == "typo":
    p["poems"][100]["content"] += " typo"
elif what == "add":
    new = dict(p["poems"][0]); new["poem_index"] = max(x["poem_index"] for x in p["poems"]) + 1
    new["creation_date"] = "2031-01-01T00:00:00"; new["content"] = "a new poem"; new.pop("attachments", None)
    p["poems"].append(new)
    e = json.load(open(f"{d}/embeddings.json")); v = dict(e["embeddings"][5]); v["id"] = new["poem_index"]
    e["embeddings"].append(v); json.dump(e, open(f"{d}/embeddings.json", "w"))
elif what == "embedding":
    e = json.load(open(f"{d}/embeddings.json")); e["embeddings"][200]["embedding"][0] += 0.3
    json.dump(e, open(f"{d}/embeddings.json", "w"))
json.dump(p, open(f"{d}/poems.json", "w"))
PY
}

# dd of the site's size (known from a first build) just before and after
# the measured cold build, for the write stage's ratio.
"$verso" build "$col" --progress none --quiet >/dev/null
site_bytes=$(du -sb "$col/site" | cut -f1)
pages=$(find "$col/site" -type f | wc -l)
rm -rf "$col/site" "$col/.verso-cache"
dd_before=$(dd_page_cache "$site_bytes")
settle
measure "cold build"
cold_write=$stage6
cold_secs=$(tail -n 1 "$work/time" | cut -d' ' -f1)
dd_after=$(dd_page_cache "$site_bytes")
# dd's settle dropped the page cache: the first no-op build reads every
# page's inode from disk. Then the warm one, as a poet's next build runs.
measure "no-op build, page cache dropped"
measure "no-op build"
edit typo;      measure "one-poem typo fix"
edit embedding; measure "one embedding changed"
edit add;       measure "a poem added"

# Interrupted at about half (pages on disk), then resumed.
rm -rf "$col/site"
"$verso" build "$col" --progress none --summary-json "$work/int.json" >/dev/null 2>&1 &
pid=$!
until [ "$(find "$col/site" -type f 2>/dev/null | wc -l)" -ge $((pages / 2)) ]; do sleep 0.1; done
kill -INT $pid; wait $pid || true
interrupted=$(python3 -c "import json;d=json.load(open('$work/int.json'));print(sum(f['written'] for f in d['families'].values()))")
measure "resumed after an interrupt ($interrupted pages before it)"

# A poet's day: poems appended within the newest month (each dated as the
# newest, its vector a slight variation of an existing poem's), and slight
# changes of one poem's vector; before each build, the causes of every page
# it will write, from `verso status --explain-all`.
small_edit() { python3 - "$col" "$1" "$2" <<'PY'
import json, random, sys
d, what, k = sys.argv[1], sys.argv[2], int(sys.argv[3])
rng = random.Random(k)
e = json.load(open(f"{d}/embeddings.json"))
def near(v):
    w = [x + rng.gauss(0, 0.01) for x in v]
    n = sum(x * x for x in w) ** 0.5
    return [round(x / n, 6) for x in w]
if what == "append":
    p = json.load(open(f"{d}/poems.json"))
    src = p["poems"][rng.randrange(len(p["poems"]))]
    new = {"poem_index": max(x["poem_index"] for x in p["poems"]) + 1, "category": "fediverse",
           "id": f"appended-{k}", "content": src["content"][::-1].strip() or "a new poem",
           "creation_date": max(x["creation_date"] for x in p["poems"])}
    p["poems"].append(new)
    vec = next(x for x in e["embeddings"] if x["id"] == src["poem_index"])["embedding"]
    e["embeddings"].append({"id": new["poem_index"], "embedding": near(vec)})
    json.dump(p, open(f"{d}/poems.json", "w"))
else:
    i = rng.randrange(len(e["embeddings"]))
    e["embeddings"][i]["embedding"] = near(e["embeddings"][i]["embedding"])
json.dump(e, open(f"{d}/embeddings.json", "w"))
PY
}
# causes FILE: one cause per page about to be written, from the explanations.
causes() { "$verso" status "$col" --explain-all > "$work/explain.txt"; python3 - "$work/explain.txt" "$1" <<'PY'
import json, sys
counts = {}
for line in open(sys.argv[1]):
    path, why = line.split(": ", 1)
    if "to remove" in why: cause = "removed"
    elif path == "index.html": cause = "menu"
    elif "poems shown <- neighbours" in why: cause = "neighbours" if path.startswith("similar/") else "chains"
    elif "poems shown <- word page" in why or "page values <- word page" in why: cause = "word pages"
    elif "poems shown <- timeline" in why: cause = "timeline (order)"
    elif "colour" in why: cause = "colour"
    elif "timeline position" in why or "chronological page" in why: cause = "timeline (bars, pages)"
    elif "new:" in why or "(new)" in why: cause = "the new poem"
    else: cause = "other"
    counts[cause] = counts.get(cause, 0) + 1
json.dump(counts, open(sys.argv[2], "w"))
PY
}
day_rows=()
for kind in append embedding; do
  for k in $(seq 1 20); do
    small_edit "$kind" "$k"
    causes "$work/causes-$kind-$k.json"
    sync
    /usr/bin/time -o "$work/time" -f "%e" "$verso" build "$col" --progress none --summary-json "$work/s.json" >/dev/null
    w=$(python3 -c "import json;d=json.load(open('$work/s.json'));print(sum(f['written'] for f in d['families'].values()))")
    echo "$kind $k: ${w} written, $(tail -n 1 "$work/time") s" >&2
    echo "$kind $w $(tail -n 1 "$work/time")" >> "$work/day.txt"
  done
done
day_summary=$(python3 - "$work" "$pages" <<'PY'
import glob, json, statistics, sys
work, pages = sys.argv[1], int(sys.argv[2])
rows = [l.split() for l in open(f"{work}/day.txt")]
out = []
for kind, name in [("append", "one poem appended within the newest month"), ("embedding", "one poem's vector changed slightly")]:
    w = [int(r[1]) for r in rows if r[0] == kind]
    t = [float(r[2]) for r in rows if r[0] == kind]
    causes = {}
    for f in glob.glob(f"{work}/causes-{kind}-*.json"):
        for c, n in json.load(open(f)).items():
            causes[c] = causes.get(c, 0) + n
    total = sum(causes.values()) or 1
    out.append(f"| {name} (20 edits) | {statistics.median(w)} ({100 * statistics.median(w) / pages:.1f}%) | {statistics.mean(w):.0f} | {max(w)} ({100 * max(w) / pages:.1f}%) | {statistics.median(t):.2f} | {max(t):.2f} | "
               + ", ".join(f"{c} {100 * n / total:.0f}%" for c, n in sorted(causes.items(), key=lambda x: -x[1])) + " |")
print("\n".join(out))
PY
)

# Rewriting every page against the cold build: a template edit (every
# page's bytes change), run after the cold rows above.
sed -i 's/^\[pages\]/templates = "tpl"\n[pages]/' "$col/verso.toml"
mkdir -p "$col/tpl"
cp templates/shell.hbs "$col/tpl/shell.hbs" && echo '<!-- edited -->' >> "$col/tpl/shell.hbs"
settle; t_template=$(seconds "$verso" build "$col" --progress none)

# The disk's durable speed for the same bytes.
settle
dd_secs=$(seconds dd if=/dev/zero of="$work/dd.bin" bs=1M count=$((site_bytes / 1048576)) conv=fsync status=none)
rm -f "$work/dd.bin"

# Drawing cost: forced rebuilds with the terminal display (under script(1)) and without.
settle; t_none=$(seconds "$verso" build "$col" --force --progress none)
settle; t_tty=$(seconds script -qfec "$verso build $col --force --progress tty" /dev/null)
settle; t_none2=$(seconds "$verso" build "$col" --force --progress none)

# Twice the bytes: poems_per_page doubled, each from an empty cache, in turn.
for per_page in 200 400; do
  rm -rf "$col/site" "$col/.verso-cache"
  sed -i "s/poems_per_page = .*/poems_per_page = $per_page/" "$col/verso.toml"
  settle
  measure "cold build again, poems_per_page = $per_page"
done
rm -rf "$col/site" "$col/.verso-cache"

kernels=$(sed -n '/^## Kernels/,$p' benches/RESULTS.md 2>/dev/null || true)
{
  echo "# End-to-end results"
  echo
  echo "$(date -u +%Y-%m-%d), \`benches/e2e.sh\`, $poems poems × 768 dimensions, poems_per_page 200, pages_per_poem 1."
  echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/{print $2}') GB."
  echo "Site: $pages files, $((site_bytes / 1048576)) MB."
  echo
  echo "| build | wall s | peak MB | files written | write stage s |"
  echo "| --- | ---: | ---: | ---: | ---: |"
  printf '%s\n' "${rows[@]}"
  echo
  echo "dd of the same $((site_bytes / 1048576)) MB to the page cache: ${dd_before} s just before the cold build, ${dd_after} s just after;"
  echo "the cold build's write stage took ${cold_write} s, $(python3 -c "print(round(2 * $cold_write / ($dd_before + $dd_after), 2))")× their mean. dd with fsync: ${dd_secs} s."
  echo "Forced rebuilds, run in turn: --progress none ${t_none} s, the terminal display ${t_tty} s, --progress none ${t_none2} s;"
  echo "a template edit (every page rewritten) ${t_template} s. Against the cold build (${cold_secs} s): forced $(python3 -c "print(round($t_none / $cold_secs, 2))")×, template edit $(python3 -c "print(round($t_template / $cold_secs, 2))")×."
  echo
  echo "A poet's day, one build per edit, on the site above ($pages files), files rewritten (median, mean, max) and seconds (median, max);"
  echo "causes from \`verso status --explain-all\` before each build, over all 20:"
  echo
  echo "| edit | median | mean | max | median s | max s | causes |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | --- |"
  echo "$day_summary"
  if [ -n "$kernels" ]; then echo; echo "$kernels"; fi
} > benches/RESULTS.md
cat benches/RESULTS.md
