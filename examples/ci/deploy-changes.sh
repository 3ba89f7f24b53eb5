#!/usr/bin/env bash
# Apply a `verso build --delta DIR --changes FILE` to the deployed site:
# upload every file under DIR, then delete the paths on FILE's "-" lines.
#
#   deploy-changes.sh DIR FILE TARGET
#
# TARGET is a folder (a mounted or synced copy of the site) or an
# s3://bucket/prefix URL (through the AWS CLI, which takes its credentials
# from the environment as usual). Any failure exits non-zero, so a CI job
# fails and does not save the cache (see the README, "In CI").
set -euo pipefail
delta=$1 changes=$2 target=$3

case "$target" in
  s3://*)
    if [ -n "$(ls -A "$delta")" ]; then
      aws s3 cp --recursive --only-show-errors "$delta" "$target"
    fi
    while IFS= read -r line; do
      case "$line" in -*) aws s3 rm --only-show-errors "$target/${line#-}" ;; esac
    done <"$changes"
    ;;
  *)
    mkdir -p "$target"
    cp -R "$delta"/. "$target"/
    while IFS= read -r line; do
      case "$line" in -*) rm -f -- "$target/${line#-}" ;; esac
    done <"$changes"
    ;;
esac
echo "deployed: $(grep -c '^+' "$changes" || true) written, $(grep -c '^-' "$changes" || true) removed"
