#!/usr/bin/env bash
# The shared remote cache against a real Redis on loopback (Debian
# redis-server, persistence off), on the e2e collection (collection.sh):
# - cold builds with and without `remote_cache`, in turn, in pairs;
# - a no-op build with it;
# - a second machine (the same inputs, an empty cache folder, the remote
#   full), straight to Redis and through benches/latency_proxy.py, a
#   stand-in for a distant remote that delays every chunk by 5 ms each way.
# Prints Markdown rows for the "## The remote cache" section of RESULTS.md.
# Usage: benches/remote.sh [WORKDIR] [PAIRS]
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-/tmp/verso-remote-bench}
pairs=${2:-3}
bash scripts/fetch-test-servers.sh
source benches/collection.sh
port=16479
proxy_port=16480
redis-server --port $port --save "" --appendonly no >/dev/null &
redis=$!
python3 benches/latency_proxy.py $proxy_port $port 5 &
proxy=$!
trap 'kill $redis $proxy 2>/dev/null' EXIT
sleep 1

plain=$(cat "$col/verso.toml")
with_remote() { printf 'remote_cache = "redis://127.0.0.1:%s/bench"\n%s\n' "$1" "$plain" > "$2/verso.toml"; }
# Seconds of one build of $1, and the summary in $work/s.json.
timed() {
  local start end
  start=$(date +%s.%N)
  "$verso" build "$1" --progress none --quiet --summary-json "$work/s.json" >/dev/null
  end=$(date +%s.%N)
  printf '%.2f' "$(echo "$end - $start" | bc)"
}
field() { python3 -c "import json,sys; d=json.load(open('$work/s.json')); print($1)"; }
mb() { field "round(d['$1'] / 1e6, 1)"; }
stages() { field "', '.join(f\"{s['stage']} {s['seconds']:.2f} s\" for s in d['stages'][:6])"; }

echo "| case | without the remote | with it | ratio |"
echo "| --- | ---: | ---: | ---: |"
for i in $(seq "$pairs"); do
  rm -rf "$col/site" "$col/.verso-cache"
  printf '%s\n' "$plain" > "$col/verso.toml"
  without=$(timed "$col")
  rm -rf "$col/site" "$col/.verso-cache"
  redis-cli -p $port flushall >/dev/null
  with_remote $port "$col"
  with=$(timed "$col")
  written=$(mb remote_written_bytes)
  echo "| cold build, pair $i | ${without} s | ${with} s (${written} MB written) | $(printf '%.2f' "$(echo "$with / $without" | bc -l)")× |"
done
echo "| no-op build | | $(timed "$col") s | |"

second="$work/second"
for route in "$port straight to Redis" "$proxy_port through the 5 ms proxy"; do
  rm -rf "$second" && mkdir "$second"
  cp -r "$col"/*.json "$col/media" "$second/"
  with_remote "${route%% *}" "$second"
  t=$(timed "$second")
  echo "| second machine, ${route#* } | | ${t} s ($(stages); $(mb remote_read_bytes) MB read, $(field "sum(r['computed'] for r in d['rules'].values())") rule instances computed) | |"
done
