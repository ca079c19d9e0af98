"""hnswlib (M=16, ef_construction=64, one thread) on the same data: the
in-memory ceiling.  Queries one at a time, like one SQL client."""
import json
import sys
import time

import hnswlib
import numpy as np

from truth import load

_, x = load(sys.argv[1])
_, q = load(sys.argv[2])
truth = [set(int(i) for i in l.split(',')) for l in open(sys.argv[3])]
kind = sys.argv[4]
index = hnswlib.Index(space='cosine', dim=x.shape[1])
index.init_index(max_elements=len(x), M=16, ef_construction=64, random_seed=1)
index.set_num_threads(1)
t = time.time()
index.add_items(x, np.arange(len(x)))
print(json.dumps({"kind": kind, "engine": "hnswlib", "build_s": round(time.time() - t, 1)}))
for ef in sys.argv[5:]:
    index.set_ef(int(ef))
    t = time.time()
    found = [index.knn_query(q[i:i + 1], k=10)[0][0] for i in range(len(q))]
    qps = len(q) / (time.time() - t)
    rec = sum(len(set(int(i) for i in f) & tr) for f, tr in zip(found, truth)) / (10.0 * len(q))
    print(json.dumps({"kind": kind, "engine": "hnswlib", "ef": int(ef), "qps": round(qps), "recall": round(rec, 4)}))
