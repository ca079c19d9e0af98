"""The lists of a split file (split.yaml: train, test, excluded), for the
training scripts.  Run as a program, writes the shipped models' training split
of one instrument (scripts/lib.sh, ensure_ship_split):

    python3 scripts/split_lists.py ship SPLIT_X GENERATED_SPLIT OUT
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
    with open(path, "w") as f:
        f.write(f"min_segments: {real['min_segments']}\nseed: {real['seed']}\n")
        for key, names in (("train", train), ("test", test)):
            f.write(f"{key}:\n" + "".join(f"- {n}\n" for n in names))
        f.write("excluded: []\n")


if __name__ == "__main__":
    if len(sys.argv) != 5 or sys.argv[1] != "ship":
        sys.exit(__doc__)
    ship(*sys.argv[2:])
