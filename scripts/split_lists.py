"""The lists of a split file (split.yaml: train, test, excluded), for the
training scripts.  Run as a program, writes the shipped models' training split
of one instrument (scripts/lib.sh, ensure_ship_split), or that split with a
further corpus's songs added to its training list (ensure_extra_split):

    python3 scripts/split_lists.py ship SPLIT_X GENERATED_SPLIT OUT
    python3 scripts/split_lists.py extend SPLIT EXTRA_SPLIT PREFIX OUT

or the held-out songs of two corpora as one test list (scripts/eval_mix_models.sh):

    python3 scripts/split_lists.py pool SPLIT_A PREFIX_A SPLIT_B PREFIX_B OUT
"""
import sys


def lists(path):
    """{key: value} of a split file, list keys as lists of track names."""
    out, cur = {}, None
    for line in open(path):
        if line.startswith("- "):
            out[cur].append(line[2:].strip())
        elif ":" in line:
            cur, rest = line.split(":", 1)
            out[cur] = [] if rest.strip() in ("", "[]") else rest.strip()
    return out


def ship(split_x, generated, path):
    """split_x's training tracks less the generated corpus's test tracks
    (named TrackG* in the combined corpus), which become the test list."""
    real, gen = lists(split_x), lists(generated)
    test = ["TrackG" + t[len("Track"):] for t in gen["test"]]
    train = [t for t in real["train"] if t not in test]
    write(path, real, train, test)


def extend(split, extra, prefix, path):
    """split with every song the extra corpus's split kept (its train and
    test lists; the combined corpus names them PREFIX + number) first in the
    training list: those songs are never anyone's held-out tracks."""
    base, more = lists(split), lists(extra)
    added = sorted(prefix + t[len("Track"):] for t in more["train"] + more["test"])
    write(path, base, added + base["train"], base["test"])


def pool(split_a, prefix_a, split_b, prefix_b, path):
    """The test songs of both splits (the corpus of links names them PREFIX +
    number), nothing to train on."""
    a, b = lists(split_a), lists(split_b)
    test = [p + t[len("Track"):] for s, p in ((a, prefix_a), (b, prefix_b)) for t in s["test"]]
    write(path, a, [], test)


def write(path, meta, train, test):
    with open(path, "w") as f:
        f.write(f"min_segments: {meta['min_segments']}\nseed: {meta['seed']}\n")
        for key, names in (("train", train), ("test", test)):
            # an empty list must be spelt out: the tools reject a bare key
            f.write(f"{key}:" + ("".join(f"\n- {n}" for n in names) if names else " []") + "\n")
        f.write("excluded: []\n")


if __name__ == "__main__":
    modes = {"ship": (ship, 5), "extend": (extend, 6), "pool": (pool, 7)}
    if len(sys.argv) < 2 or sys.argv[1] not in modes or len(sys.argv) != modes[sys.argv[1]][1]:
        sys.exit(__doc__)
    modes[sys.argv[1]][0](*sys.argv[2:])
