"""Real track embeddings as an index benchmark set.

Reads the segment embeddings that instsim-eval writes (segments_INSTRUMENT.csv:
track, e0..e127 per segment) for every instrument in a directory, holds NQ of
them out at random (seed 2) as queries, and writes the rest as the base set,
both in the COPY text format of ../shared/bench/vectors.py.

    python3 track_vectors.py EVAL_DIR BASE.tsv QUERIES.tsv NQ
"""
import csv
import glob
import os
import sys

import numpy as np


def main():
    src, base_out, query_out, nq = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    rows = []
    for path in sorted(glob.glob(os.path.join(src, 'segments_*.csv'))):
        with open(path) as f:
            r = csv.reader(f)
            next(r)
            rows.extend(np.array(line[1:], dtype=np.float32) for line in r)
    if len(rows) <= nq:
        sys.exit(f'{src}: {len(rows)} segment embeddings, need more than {nq}')
    x = np.stack(rows)
    held = np.zeros(len(x), dtype=bool)
    held[np.random.default_rng(2).choice(len(x), nq, replace=False)] = True

    def write(path, vecs):
        with open(path, 'w') as f:
            for i, v in enumerate(vecs):
                f.write(f"{i}\t[{','.join(f'{a:.7g}' for a in v)}]\n")

    write(base_out, x[~held])
    write(query_out, x[held])


if __name__ == '__main__':
    main()
