#!/usr/bin/env bash
# The independent readers the feed and sitemap tests use, from PyPI, into
# target/test-python: feedparser (reads Atom as feed readers do) and lxml
# (checks the sitemap against tests/data/sitemap.xsd). The tests call this
# when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=target/test-python
if ! PYTHONPATH=$dir python3 -c "import feedparser, lxml" 2>/dev/null; then
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --target "$dir" \
    feedparser==6.0.11 lxml
fi
echo "feedparser and lxml are in $dir"
