#!/usr/bin/env bash
# A poet's year: on the 7,797-poem fixture with word and colour files
# (benches/collection.sh), a poem a day, each a slight variation of an
# existing poem (its text reversed, its vector moved a little), built with
# --delta after each; under [timeline] end = "month", "year" and "newest".
# Sampled: DAYS days (default 60) from 2025-11-15, which take in a month's
# turn (1 December) and a year's (1 January); a poem dated 2025-11-14 is
# in the first, cold build. The year's bytes are extrapolated from the
# sampled days by kind: for "month", 353 days within a month, 11 month
# turns and one year turn; for "year", 364 days within the year and one
# turn; for "newest", 365 days alike.
# "newest" rewrites every page every day (about 15 s and 4.7 GB): it runs
# VERSO_BENCH_NEWEST_DAYS days (default 5).
# VERSO_OLD: a verso built before the settled rule, run as "today".
# Usage: benches/year.sh [WORKDIR]   (needs ~10 GB free; writes the
# "## A poet's year" section of benches/RESULTS.md)
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-/tmp/verso-year}
days=${VERSO_BENCH_DAYS:-60}
newest_days=${VERSO_BENCH_NEWEST_DAYS:-5}
. benches/collection.sh
base="$work/base"
mv "$col" "$base"
runs=("$verso month month $days" "$verso year year $days" "$verso newest newest $newest_days")
if [ -n "${VERSO_OLD:-}" ]; then runs=("$VERSO_OLD month today $days" "${runs[@]}"); fi
for run in "${runs[@]}"; do
  read -r bin end name n <<<"$run"
  rm -rf "$col" && cp -r "$base" "$col"
  python3 benches/year_days.py "$bin" "$col" "$end" "$n" "$work/days-$name.json"
  rm -rf "$col"
done
section=$(python3 benches/year_days.py --report "$work" "$poems" "$(nproc)")
echo "$section"
python3 benches/section.py "$section"
