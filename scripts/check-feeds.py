#!/usr/bin/env python3
"""A built site's feed and sitemap, read by independent parsers:
- feed.xml by feedparser, as feed readers read it: no bozo (malformed)
  flag, the expected number of entries, and every entry's link resolves to
  an anchor of a page of the site;
- the sitemap by lxml against tests/data/sitemap.xsd (the Sitemaps 0.9
  schemas), an index followed to its files; its addresses are exactly the
  site's HTML pages.
Usage: check-feeds.py SITE_DIR BASE_URL ENTRIES
(feedparser and lxml from scripts/fetch-test-python.sh)."""
import os
import sys
import urllib.parse

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "target", "test-python"))
import feedparser  # noqa: E402
from lxml import etree  # noqa: E402

site, base, entries = sys.argv[1], sys.argv[2], int(sys.argv[3])
failures = []


def local(url):
    """The site file and fragment an absolute address of the site names."""
    if not url.startswith(base):
        failures.append(f"{url} is not under {base}")
        return None, ""
    path, _, fragment = url[len(base):].partition("#")
    return os.path.join(site, urllib.parse.unquote(path)), fragment


feed = feedparser.parse(os.path.join(site, "feed.xml"))
if feed.bozo:
    failures.append(f"feed.xml: feedparser: {feed.bozo_exception}")
if len(feed.entries) != entries:
    failures.append(f"feed.xml: {len(feed.entries)} entries, expected {entries}")
for e in feed.entries:
    file, fragment = local(e.link)
    if file is None:
        continue
    if not os.path.isfile(file):
        failures.append(f"feed.xml: {e.link}: no such page")
    elif f'id="{fragment}"' not in open(file, encoding="utf-8").read():
        failures.append(f"feed.xml: {e.link}: no such anchor")
    if not e.get("published") or not e.get("id") or not e.get("title"):
        failures.append(f"feed.xml: {e.link}: an entry without published, id or title")

ns = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
schema = etree.XMLSchema(etree.parse(os.path.join(here, "..", "tests", "data", "sitemap.xsd")))
listed = set()
files = [os.path.join(site, "sitemap.xml")]
while files:
    path = files.pop()
    doc = etree.parse(path)
    if not schema.validate(doc):
        failures.append(f"{path}: {schema.error_log.last_error}")
    for loc in doc.iter(f"{ns}loc"):
        file, _ = local(loc.text)
        if file is None:
            continue
        if doc.getroot().tag == f"{ns}sitemapindex":
            files.append(file)
        else:
            listed.add(os.path.relpath(file, site))
pages = {
    os.path.relpath(os.path.join(d, f), site)
    for d, _, names in os.walk(site)
    for f in names
    if f.endswith(".html")
}
for page in sorted(pages - listed):
    failures.append(f"sitemap: {page} is a page of the site and is not listed")
for page in sorted(listed - pages):
    failures.append(f"sitemap: {page} is listed and is not a page of the site")

for f in failures:
    print(f)
print(f"feed: {len(feed.entries)} entries; sitemap: {len(listed)} pages; {len(failures)} failure(s)")
sys.exit(1 if failures else 0)
