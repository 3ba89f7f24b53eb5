"""The map's layout against umap-learn's and PCA's on the same vectors:
trustworthiness at k = 10 (scikit-learn, cosine in the vectors' space) and
seconds. verso's places are read from the built map.html (the dots' SVG
coordinates, which is what a reader sees).

Usage: map_quality.py COLLECTION_DIR   (needs numpy, scikit-learn, umap-learn)
Prints one Markdown table row per method."""

import json
import re
import sys
import time

import numpy as np
from sklearn.decomposition import PCA
from sklearn.manifold import trustworthiness

d = sys.argv[1]
emb = json.load(open(f"{d}/embeddings.json"))["embeddings"]
index = {e["id"]: i for i, e in enumerate(emb)}
X = np.array([e["embedding"] for e in emb], dtype=np.float32)
X /= np.linalg.norm(X, axis=1, keepdims=True)

html = open(f"{d}/site/map.html").read()
dots = re.findall(r'<a href="similar/(\d+)-01\.html"><title>[^<]*</title><path d="M(\d+) (\d+)h0"', html)
assert len(dots) == len(emb), (len(dots), len(emb))
Y = np.zeros((len(emb), 2))
for code, x, y in dots:
    Y[index[int(code)]] = (int(x), int(y))


def row(name, Y, seconds):
    t = trustworthiness(X, Y, n_neighbors=10, metric="cosine")
    print(f"| {name} | {t:.4f} | {seconds} |", flush=True)


row("verso (map.html)", Y, "see the layout's time")
start = time.time()
P = PCA(n_components=2).fit_transform(X)
row("PCA (scikit-learn)", P, f"{time.time() - start:.2f} s")
import umap  # noqa: E402  (slow to import: after the quick rows)

start = time.time()
U = umap.UMAP(metric="cosine").fit_transform(X)
row("umap-learn (defaults, cosine)", U, f"{time.time() - start:.2f} s")
