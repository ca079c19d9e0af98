#!/usr/bin/python3
"""PyTorch (eval mode, no_grad) throughput of an instsim model file, printed
like ../shared/bench/ort_cnn.js: one JSON line per batch size.

    /usr/bin/python3 bench/cnn/torch_bench.py MODEL.safetensors THREADS [BATCH,...]
"""
import json
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "test", "unit"))
import gen_nn_ref  # noqa: E402

GFLOP = float(os.environ.get("GFLOP", "0"))


def main():
    path, threads = sys.argv[1], int(sys.argv[2])
    batches = [int(b) for b in (sys.argv[3] if len(sys.argv) > 3 else "1,16,64").split(",")]
    torch.set_num_threads(threads)
    meta, tensors = gen_nn_ref.read_safetensors(path)
    net = gen_nn_ref.build(meta, tensors)
    shape = json.loads(meta["input_shape"])
    with torch.no_grad():
        for b in batches:
            x = torch.rand([b] + shape)
            for _ in range(3):
                net(x)
            reps = max(3, -(-64 // b))
            times = []
            for _ in range(5):
                t0 = time.perf_counter()
                for _ in range(reps):
                    net(x)
                times.append((time.perf_counter() - t0) / reps)
            t = statistics.median(times)
            print(json.dumps({"engine": "pytorch " + torch.__version__, "model": os.path.basename(path),
                              "threads": threads, "batch": b, "inputs_per_s": round(b / t, 1),
                              "gflop_per_s": round(b * GFLOP / t, 1) if GFLOP else None}), flush=True)


if __name__ == "__main__":
    main()
