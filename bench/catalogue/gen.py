#!/usr/bin/env python3
"""Synthetic catalogue data for bench/catalogue/run.sh, as PostgreSQL COPY text on stdout.

  gen.py tracks N SEED          id, year, drums, bass: two independent `clustered`
                                sets (../shared/bench/vectors.py), so that a track's
                                drums say nothing about its bass (the hard case for
                                a weighted query, which must read both indexes deep)
  gen.py segments T S SEED      track_id, start_s, bass: S segments per track scattered
                                around the track's own point of a `clustered` set, as
                                the 3-s segments of one song are
  gen.py queries T NQ SEED      qid, bass: held-out segments of random tracks (new noise)
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.environ.get("VECTORS_DIR", os.path.join(os.path.dirname(__file__), "../../../shared/bench")))
from vectors import clustered  # noqa: E402

SEGMENT_NOISE = 0.35  # spread of a track's segments around its centre (unit-norm centres)


def unit(x):
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def vec(v):
    return "[" + ",".join(f"{a:.7g}" for a in v) + "]"


def track_centres(t, d=128):
    return unit(clustered(t, d, np.random.default_rng(7)))


def segments_around(centres, rng):
    noise = SEGMENT_NOISE * rng.standard_normal(centres.shape) / np.sqrt(centres.shape[-1])
    return unit(centres + noise)


def main():
    kind = sys.argv[1]
    out = sys.stdout
    if kind == "tracks":
        n, seed = int(sys.argv[2]), int(sys.argv[3])
        rng = np.random.default_rng(seed)
        drums = unit(clustered(n, 128, rng))
        bass = unit(clustered(n, 128, rng))
        years = rng.integers(1960, 2020, n)
        for i in range(n):
            out.write(f"{i + 1}\t{years[i]}\t{vec(drums[i])}\t{vec(bass[i])}\n")
    elif kind == "segments":
        t, s, seed = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
        centres = track_centres(t)
        rng = np.random.default_rng(seed)
        for j in range(s):
            seg = segments_around(centres, rng)
            for i in range(t):
                out.write(f"{i + 1}\t{j * 1.5}\t{vec(seg[i])}\n")
    elif kind == "queries":
        t, nq, seed = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
        centres = track_centres(t)
        rng = np.random.default_rng(seed)
        pick = rng.integers(0, t, nq)
        q = segments_around(centres[pick], rng)
        for i in range(nq):
            out.write(f"{i + 1}\t{vec(q[i])}\n")
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
