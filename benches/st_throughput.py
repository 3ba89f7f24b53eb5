"""sentence-transformers (PyTorch, CPU) on the same texts as `verso embed`:
poems per second, after a warm-up, with the given number of threads.
Usage: python st_throughput.py MODEL_DIR POEMS_JSON THREADS [LIMIT]"""
import json
import sys
import time

import torch
from sentence_transformers import SentenceTransformer

model_dir, poems_json, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
limit = int(sys.argv[4]) if len(sys.argv) > 4 else None
torch.set_num_threads(threads)
texts = [p["content"] for p in json.load(open(poems_json))["poems"]][:limit]
model = SentenceTransformer(model_dir, device="cpu")
model.encode(texts[:8], batch_size=32)
start = time.perf_counter()
model.encode(texts, batch_size=32)
seconds = time.perf_counter() - start
print(f"{len(texts)} texts in {seconds:.2f} s: {len(texts) / seconds:.1f} poems/s")
