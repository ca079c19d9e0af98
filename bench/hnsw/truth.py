"""Exact top-10 by cosine distance for each query: one line of ids per query."""
import sys
import numpy as np


def load(path):
    ids, rows = [], []
    for line in open(path):
        i, v = line.split('\t')
        ids.append(int(i))
        rows.append(np.array(v.strip()[1:-1].split(','), dtype=np.float32))
    return np.array(ids), np.stack(rows)


if __name__ == '__main__':
    ids, x = load(sys.argv[1])
    _, q = load(sys.argv[2])
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    q = q / np.linalg.norm(q, axis=1, keepdims=True)
    for start in range(0, len(q), 256):
        sims = q[start:start + 256] @ x.T
        top = np.argsort(-sims, axis=1)[:, :10]
        for row in top:
            print(','.join(str(ids[j]) for j in row))
