"""recall@10 of result lines (comma-separated ids, one line per query) against truth."""
import sys

truth = [set(l.strip().split(',')) for l in open(sys.argv[1])]
got = [set(l.strip().split(',')) if l.strip() else set() for l in open(sys.argv[2])]
assert len(truth) == len(got), (len(truth), len(got))
print(round(sum(len(t & g) for t, g in zip(truth, got)) / (10.0 * len(truth)), 4))
