#!/usr/bin/env bash
# End-to-end benchmark: a `verso fixture --poems 7797 --dim 768` collection,
# built cold, no-op, after a typo, an embedding change, a new poem, and
# interrupted at about half then resumed; each with wall time and peak memory.
# Also: the terminal display against --progress none, the disk's own write
# speed (dd, same bytes as the site), and doubling poems_per_page.
# Usage: benches/e2e.sh [WORKDIR]   (needs ~25 GB free; writes benches/RESULTS.md)
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-/tmp/verso-e2e}
poems=${VERSO_BENCH_POEMS:-7797}
cargo build --release --quiet
verso=$PWD/target/release/verso
rm -rf "$work" && mkdir -p "$work"
col="$work/c"
"$verso" fixture --poems "$poems" --dim 768 --seed 1 "$col" >/dev/null
printf 'poems = "poems.json"\nembeddings = "embeddings.json"\n[pages]\npoems_per_page = 200\npages_per_poem = 1\n' > "$col/verso.toml"

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
  echo "Forced rebuilds, run in turn: --progress none ${t_none} s, the terminal display ${t_tty} s, --progress none ${t_none2} s."
  if [ -n "$kernels" ]; then echo; echo "$kernels"; fi
} > benches/RESULTS.md
cat benches/RESULTS.md
