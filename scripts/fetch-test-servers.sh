#!/usr/bin/env bash
# The real servers the remote-cache tests start on loopback: Redis (the
# Debian package redis-server). The tests call this when redis-server is
# missing; it installs the package when it can (root, apt-get).
set -euo pipefail
if command -v redis-server >/dev/null || [ -x /usr/bin/redis-server ]; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  apt-get update -qq && apt-get install -y -qq redis-server >/dev/null
  # The tests start their own servers; the package's service is not needed.
  (service redis-server stop || true) >/dev/null 2>&1
  exit 0
fi
echo "redis-server is missing: install the Debian package redis-server" >&2
exit 1
