#!/usr/bin/env bash
# Two builds of verso on the e2e collection (collection.sh, 7,797 poems), in
# the same run, rounds interleaved: the cold build, the no-op, a typo and an
# appended poem, each the median of ROUNDS. For a change to the engine
# itself, against the binary before it: an engine change must keep each
# within 5% (noise on this shared machine is about that much; compare the
# rounds' spread).
# Prints a table for benches/RESULTS.md.
# Usage: benches/versus.sh OLD_VERSO [WORKDIR] [ROUNDS]
# (OLD_VERSO: a binary of the commit before, e.g. built with
# `git worktree add /tmp/old COMMIT && cargo build --release` there.)
set -euo pipefail
cd "$(dirname "$0")/.."
old=$(realpath "$1")
work=${2:-/tmp/verso-versus}
rounds=${3:-3}
. benches/collection.sh
new=$verso
rm -rf "$work/site" "$work/.verso-cache"
seconds() { /usr/bin/time -o "$work/time" -f "%e" "$@" >/dev/null 2>&1; tail -n 1 "$work/time"; }
# settle: dirty pages written and, where allowed (root), the page cache
# dropped, so that each cold build starts from the same memory state (the
# other binary's site would otherwise still be in it, or being written).
settle() {
  sync
  if [ -w /proc/sys/vm/drop_caches ]; then echo 3 > /proc/sys/vm/drop_caches; fi
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
range() { sort -n | awk 'NR==1{lo=$1} {hi=$1} END {print lo "–" hi}'; }
declare -A times
# One collection per binary, so that each keeps its own cache and site.
for which in old new; do
  rm -rf "$work/$which" && cp -r "$col" "$work/$which"
done
binary() { if [ "$1" = old ]; then echo "$old"; else echo "$new"; fi; }
typo() { python3 - "$1" <<'PY'
import json, sys
path = sys.argv[1] + "/poems.json"
data = json.load(open(path))
poem = data["poems"][100]
poem["content"] = poem["content"].replace(" ", "  ", 1) if "  " not in poem["content"] else poem["content"].replace("  ", " ", 1)
json.dump(data, open(path, "w"))
PY
}
append() { python3 - "$1" <<'PY'
import json, sys
d = sys.argv[1]
poems = json.load(open(d + "/poems.json"))
emb = json.load(open(d + "/embeddings.json"))
index = max(p["poem_index"] for p in poems["poems"]) + 1
newest = max(p["creation_date"] for p in poems["poems"])
poem = dict(poems["poems"][0], poem_index=index, creation_date=newest, content="a new poem about the river")
poem.pop("attachments", None)
poems["poems"].append(poem)
rows = emb["embeddings"]
rows.append(dict(rows[10], id=index))
json.dump(poems, open(d + "/poems.json", "w"))
json.dump(emb, open(d + "/embeddings.json", "w"))
PY
}
for round in $(seq "$rounds"); do
  # Each binary goes first in every other round.
  order="old new"
  if [ $((round % 2)) = 0 ]; then order="new old"; fi
  for which in $order; do
    c="$work/$which"
    bin=$(binary $which)
    rm -rf "$c/site" "$c/.verso-cache"
    settle
    times[$which,cold]+="$(seconds "$bin" build "$c" --progress none) "
    times[$which,noop]+="$(seconds "$bin" build "$c" --progress none) "
    typo "$c"
    times[$which,typo]+="$(seconds "$bin" build "$c" --progress none) "
    append "$c"
    times[$which,append]+="$(seconds "$bin" build "$c" --progress none) "
  done
done
echo "| build | before (median, range) | after (median, range) | after / before |"
echo "| --- | ---: | ---: | ---: |"
for case in cold noop typo append; do
  o=$(tr ' ' '\n' <<<"${times[old,$case]}" | grep . | median)
  n=$(tr ' ' '\n' <<<"${times[new,$case]}" | grep . | median)
  orange=$(tr ' ' '\n' <<<"${times[old,$case]}" | grep . | range)
  nrange=$(tr ' ' '\n' <<<"${times[new,$case]}" | grep . | range)
  printf '| %s | %s s (%s) | %s s (%s) | %.2f× |\n' "$case" "$o" "$orange" "$n" "$nrange" "$(echo "$n / $o" | bc -l)"
done
