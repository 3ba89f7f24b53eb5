#!/usr/bin/env bash
# verso deploy against a real S3-compatible server on loopback (rclone's
# `serve s3` over a folder), beside rclone's own client to the same server
# in the same run, on the e2e collection (collection.sh, 7,797 poems):
# - the first deploy of the whole site, against `rclone copy`;
# - nothing changed, against `rclone sync --checksum` (which lists and
#   hashes every file);
# - one poem appended (built first, so both send the same change), against
#   `rclone sync --checksum`, and against the upload alone (`rclone copy
#   --files-from` of exactly the changed files, no listing);
# - bytes and requests of each case, through benches/count_proxy.py, for
#   both clients, to fresh prefixes;
# - a deploy killed (SIGKILL) at half the site's bytes, then resumed: the
#   bytes sent in all, against the site's;
# - Neocities through the tests' stand-in: the requests of one appended
#   poem (an #[ignore]d test, `deploy::neocities_requests_per_appended_poem`).
# Prints the "## Deploy" section of RESULTS.md; with --write, puts it there.
# Usage: benches/deploy.sh [WORKDIR] [--write]
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-/tmp/verso-deploy-bench}
bash scripts/fetch-test-servers.sh
rclone=$PWD/target/test-servers/rclone
source benches/collection.sh
"$verso" build "$col" --quiet >/dev/null

port=16590
proxy=16591
mkdir -p "$work/s3"/{verso,rclone}
"$rclone" serve s3 --addr 127.0.0.1:$port --auth-key AKBENCH,SKBENCH "$work/s3" 2>/dev/null &
server=$!
python3 benches/count_proxy.py $proxy $port "$work/counts.json" &
counter=$!
trap 'kill $server $counter 2>/dev/null' EXIT
sleep 1

export AWS_ACCESS_KEY_ID=AKBENCH AWS_SECRET_ACCESS_KEY=SKBENCH
export RCLONE_CONFIG_BENCH_TYPE=s3 RCLONE_CONFIG_BENCH_PROVIDER=Other
export RCLONE_CONFIG_BENCH_ACCESS_KEY_ID=AKBENCH RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY=SKBENCH
export RCLONE_CONFIG_BENCH_ENDPOINT=http://127.0.0.1:$port
export RCLONE_CONFIG_COUNTED_TYPE=s3 RCLONE_CONFIG_COUNTED_PROVIDER=Other
export RCLONE_CONFIG_COUNTED_ACCESS_KEY_ID=AKBENCH RCLONE_CONFIG_COUNTED_SECRET_ACCESS_KEY=SKBENCH
export RCLONE_CONFIG_COUNTED_ENDPOINT=http://127.0.0.1:$proxy
site="$col/site"
to() { echo "s3://verso/$1?endpoint=http://127.0.0.1:$2&region=us-east-1"; }
seconds() {
  local start end
  start=$(date +%s.%N)
  "$@" >"$work/out.txt" 2>&1
  end=$(date +%s.%N)
  printf '%.2f' "$(echo "$end - $start" | bc)"
}
deploy() { "$verso" deploy "$col" --progress none --to "$(to "$1" "$2")"; }
count() { python3 -c "import json; d=json.load(open('$work/counts.json')); print(d['$1'])"; }
# Bytes up and requests since the last call, as "N MB, M requests", in
# $counted (not printed: a subshell would lose the marks).
mark_up=0 mark_req=0 counted=""
counted() {
  local up req
  up=$(count bytes_up) req=$(count requests)
  counted=$(printf '%.1f MB, %d requests' "$(echo "($up - $mark_up) / 1000000" | bc -l)" $((req - mark_req)))
  mark_up=$up mark_req=$req
}
sent() { grep -o 'sent [0-9,]* file(s) ([^)]*)' "$work/out.txt" | head -1; }
ratio() { printf '%.2f' "$(echo "$1 / $2" | bc -l)"; }

site_files=$(find "$site" -type f | wc -l)
site_bytes=$(du -sb "$site" | cut -f1)

first_verso=$(seconds deploy site $port); first_sent=$(sent)
first_rclone=$(seconds "$rclone" copy "$site" bench:rclone/site)
# A no-op lasts a tenth of a second, so one busy moment of the shared
# machine (or of the server, still settling after the copy) moves it: the
# median of five, with the fastest and slowest beside it.
noop_runs=$(for _ in 1 2 3 4 5; do seconds deploy site $port; echo; done | sort -n)
noop_verso=$(sed -n 3p <<<"$noop_runs"); noop_sent=$(sent)
noop_range="$(head -1 <<<"$noop_runs")–$(tail -1 <<<"$noop_runs")"
noop_rclone=$(seconds "$rclone" sync --checksum "$site" bench:rclone/site)

# The same through the counting proxy, to fresh prefixes.
counted
deploy counted $proxy >/dev/null; counted; first_verso_count=$counted
"$rclone" copy "$site" counted:rclone/counted 2>/dev/null; counted; first_rclone_count=$counted
deploy counted $proxy >/dev/null; counted; noop_verso_count=$counted
"$rclone" sync --checksum "$site" counted:rclone/counted 2>/dev/null; counted; noop_rclone_count=$counted

# One poem appended and built: both clients send the same change.
python3 - "$col" <<'PY'
import json, sys
d = sys.argv[1]
poems = json.load(open(f"{d}/poems.json"))
new = dict(poems["poems"][-1])
new["poem_index"] = max(p["poem_index"] for p in poems["poems"]) + 1
new["id"] = f"bench-{new['poem_index']}"
new["creation_date"] = max(p["creation_date"] for p in poems["poems"])
new["content"] = "a poem appended for the deploy benchmark\nof salt and morning light"
poems["poems"].append(new)
json.dump(poems, open(f"{d}/poems.json", "w"))
emb = json.load(open(f"{d}/embeddings.json"))
vec = list(reversed(emb["embeddings"][0]["embedding"]))
emb["embeddings"].append({"id": new["poem_index"], "embedding": vec})
json.dump(emb, open(f"{d}/embeddings.json", "w"))
PY
"$verso" build "$col" --quiet --changes "$work/changes.txt" >/dev/null
changed=$(grep -c '^+' "$work/changes.txt" || true)
removed=$(grep -c '^-' "$work/changes.txt" || true)
grep '^+' "$work/changes.txt" | cut -c2- > "$work/plus.txt"
append_verso=$(seconds deploy site $port); append_sent=$(sent)
append_rclone=$(seconds "$rclone" sync --checksum "$site" bench:rclone/site)
upload_only=$(seconds "$rclone" copy --files-from "$work/plus.txt" --no-traverse --no-check-dest "$site" bench:rclone/upload-only)
deploy counted $proxy >/dev/null; counted; append_verso_count=$counted
"$rclone" sync --checksum "$site" counted:rclone/counted 2>/dev/null; counted; append_rclone_count=$counted

# Killed at half the site's bytes, then resumed.
kill_files=$(find "$site" -type f | wc -l)
kill_bytes=$(du -sb "$site" | cut -f1)
start_up=$(count bytes_up)
"$verso" deploy "$col" --progress none --to "$(to killed $proxy)" >/dev/null 2>&1 &
victim=$!
while [ $(( $(count bytes_up) - start_up )) -lt $((kill_bytes / 2)) ]; do sleep 0.05; done
kill -9 $victim; wait $victim 2>/dev/null || true
at_kill=$(( $(count bytes_up) - start_up ))
deploy killed $proxy >/dev/null
total=$(( $(count bytes_up) - start_up ))
landed=$(find "$work/s3/verso/killed" -type f | wc -l)
same=$(diff -rq "$site" "$work/s3/verso/killed" >/dev/null && echo "equal to the site, file for file" || echo "NOT equal to the site")

neocities=$(cargo test --release --quiet --test it -- --ignored --exact deploy::neocities_requests_per_appended_poem --nocapture 2>/dev/null | grep "^neocities:" | cut -d" " -f2- || true)

section=$(cat <<MD
## Deploy (\`verso deploy\` to rclone's \`serve s3\`, beside rclone's client)

$(date -u +%F), $(nproc) cores, $poems poems: $site_files files, $(echo "$site_bytes / 1000000" | bc) MB. rclone $("$rclone" version | head -1 | cut -d' ' -f2) serves S3 over a folder on loopback; rclone's own client runs with its defaults (4 transfers, 8 checkers). The appended poem's build wrote $changed files and removed $removed before either client ran.

| case | verso deploy | rclone | ratio | target |
| --- | ---: | ---: | ---: | --- |
| the first deploy of the whole site | ${first_verso} s, ${first_sent} | \`copy\` ${first_rclone} s | $(ratio "$first_verso" "$first_rclone")× | ≤ 1.1× |
| nothing changed (median of 5, ${noop_range} s) | ${noop_verso} s, ${noop_sent} | \`sync --checksum\` ${noop_rclone} s | $(ratio "$noop_verso" "$noop_rclone")× | ≤ 0.2 s, 0 files |
| one poem appended | ${append_verso} s, ${append_sent} | \`sync --checksum\` ${append_rclone} s | $(ratio "$append_verso" "$append_rclone")× | ≤ 1.0× |
| the upload alone of the same files | | \`copy --files-from\` ${upload_only} s | verso $(printf '%+.2f' "$(echo "$append_verso - $upload_only" | bc)") s | ≤ +0.2 s |

Bytes sent to the server and requests (through benches/count_proxy.py, to fresh prefixes):

| case | verso deploy | rclone |
| --- | --- | --- |
| the first deploy | $first_verso_count | $first_rclone_count |
| nothing changed | $noop_verso_count | $noop_rclone_count |
| one poem appended | $append_verso_count | $append_rclone_count |

Killed with SIGKILL at $(echo "$at_kill / 1000000" | bc) MB sent, then resumed: $(echo "$total / 1000000" | bc) MB sent in all for a site of $(echo "$kill_bytes / 1000000" | bc) MB ($kill_files files), $(ratio "$total" "$kill_bytes")× (target ≤ 1.05×, HTTP headers included); the host then holds $landed files, $same.

Neocities through the tests' stand-in: ${neocities:-not measured}.
MD
)
echo "$section"
if [ "${2:-}" = --write ]; then python3 benches/section.py "$section"; fi
