"""Replace one `## ` section of benches/RESULTS.md with a new text (or add
it at the end): `section.py TEXT`, the heading being TEXT's first line."""

import re
import sys

path = "benches/RESULTS.md"
section = sys.argv[1].strip("\n")
heading = section.split("\n", 1)[0]
text = open(path).read()
text = re.sub(r"\n" + re.escape(heading) + r"\n.*?(?=\n## |\Z)", "", text, flags=re.S).rstrip("\n")
open(path, "w").write(text + "\n\n" + section + "\n")
