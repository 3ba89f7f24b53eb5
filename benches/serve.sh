#!/usr/bin/env bash
# `verso serve` at 7,797 poems (the collection of benches/e2e.sh): save to
# reloaded page in headless Chromium over 20 one-word edits of one poem, and
# 1,000 requests for a ~300 KB page from 8 concurrent loopback clients.
# Writes the "## verso serve" section of benches/RESULTS.md.
# Usage: benches/serve.sh [WORKDIR]   (needs chromium and npm; ~6 GB free)
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-/tmp/verso-serve-bench}
. benches/collection.sh
"$verso" build "$col" --progress none >/dev/null
(cd "$work" && npm install --silent --no-audit --no-fund playwright-core >/dev/null)
cp scripts/serve-in-chromium.mjs scripts/serve-load.mjs "$work/"

reload=$(node "$work/serve-in-chromium.mjs" "$verso" "$col" --edits 20 2>/dev/null | grep '^save to reloaded')
echo "$reload"

"$verso" serve "$col" --port 0 --progress none > "$work/serve.out" 2>&1 &
server=$!
until grep -q 'at http' "$work/serve.out"; do sleep 0.2; done
base=$(grep -o 'http://[^ ]*/' "$work/serve.out")
# The similar page nearest 300 KB.
page=$(cd "$col/site" && ls -l similar | awk 'NR > 1 { d = $5 - 307200; if (d < 0) d = -d; print d, $9 }' | sort -n | awk 'NR == 1 { print $2 }')
load=$(node "$work/serve-load.mjs" "${base}similar/$page" 1000 8)
echo "$load"
kill -INT "$server"
wait "$server" || true

section=$(cat <<MD
## verso serve

$(date -u +%Y-%m-%d), \`benches/serve.sh\`, the $poems-poem collection of the table above, $(nproc) cores.

- Save to reloaded page (headless Chromium, a one-word edit of one poem's text, the poem's open similar page): $reload.
- Server load, loopback: $load (similar/$page).
MD
)
python3 benches/section.py "$section"
rm -rf "$work"
