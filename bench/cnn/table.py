#!/usr/bin/python3
"""Markdown table of the JSON lines run.sh collected: inputs/s per engine,
thread count and batch size (best of the rounds, since the machine is shared)."""
import json
import sys

best = {}
for line in open(sys.argv[1]):
    if not line.startswith("{"):
        continue
    r = json.loads(line)
    key = (r["engine"], r["threads"], r["batch"])
    best[key] = max(best.get(key, 0), r["inputs_per_s"])
engines = sorted({k[0] for k in best}, key=lambda e: (not e.startswith("onnx"), not e.startswith("py"), e))
cols = sorted({(k[1], k[2]) for k in best})
print("| engine | " + " | ".join("%d thr, batch %d" % c for c in cols) + " |")
print("|---|" + "---:|" * len(cols))
for e in engines:
    print("| %s | " % e + " | ".join("%.0f" % best[(e,) + c] if (e,) + c in best else "-" for c in cols) + " |")
