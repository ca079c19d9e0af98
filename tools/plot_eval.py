#!/usr/bin/python3
"""Figures and report.md for an instsim-eval output directory.

    /usr/bin/python3 tools/plot_eval.py OUTDIR [--perplexity P]

Reads OUTDIR/results.json and OUTDIR/segments_<instrument>.csv (written by
instsim-eval) and writes:
  fig3_tsne.png       t-SNE (scikit-learn) of the segment embeddings of the
                      first model of every instrument, one colour per track
  fig4_distances.png  heat maps of the track centroid cosine distances,
                      averaged over the models (one panel per instrument)
  report.md           our Tables II and III next to the paper's, with the
                      corpus, test tracks, models and command
"""
import argparse
import csv
import json
import os

# Thread pools (OpenMP, OpenBLAS) sized to the machine oversubscribe a shared
# one and made t-SNE of a few hundred points take minutes; one thread is fast.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.manifold import TSNE  # noqa: E402


def read_segments(path):
    tracks, rows = [], []
    with open(path, newline="") as f:
        reader = csv.reader(f)
        next(reader)
        for row in reader:
            tracks.append(row[0])
            rows.append([float(v) for v in row[1:]])
    return tracks, np.asarray(rows, dtype=np.float64)


def panel_grid(n):
    cols = min(n, 3)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 4.2 * rows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.axis("off")
    return fig, list(axes.flat[:n])


def plot_tsne(outdir, names, perplexity):
    fig, axes = panel_grid(len(names))
    for ax, name in zip(axes, names):
        tracks, x = read_segments(os.path.join(outdir, f"segments_{name}.csv"))
        # t-SNE needs perplexity < number of points.
        p = min(perplexity, max(2.0, (len(x) - 1) / 3))
        xy = TSNE(n_components=2, perplexity=p, metric="cosine", init="pca",
                  random_state=0).fit_transform(x)
        labels = sorted(set(tracks))
        cmap = plt.get_cmap("tab20", max(len(labels), 1))
        for i, t in enumerate(labels):
            sel = [j for j, u in enumerate(tracks) if u == t]
            ax.scatter(xy[sel, 0], xy[sel, 1], s=8, color=cmap(i), label=t)
        ax.set_title(f"{name} ({len(x)} segments)")
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0].legend(fontsize=6, markerscale=1.5, loc="best")
    fig.suptitle("Segment embeddings (t-SNE, cosine), coloured by track")
    fig.tight_layout()
    fig.savefig(os.path.join(outdir, "fig3_tsne.png"), dpi=110)
    plt.close(fig)


def plot_distances(outdir, results, names):
    tracks = results["run"]["test_tracks"]
    short = [t.replace("Track", "") for t in tracks]
    fig, axes = panel_grid(len(names))
    for ax, name in zip(axes, names):
        d = np.array(results["instruments"][name]["distance_matrix"], dtype=float)
        im = ax.imshow(d, cmap="viridis", vmin=0)
        ax.set_title(name)
        ax.set_xticks(range(len(short)), short, rotation=90, fontsize=6)
        ax.set_yticks(range(len(short)), short, fontsize=6)
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    fig.suptitle("Cosine distance between track centroids (mean over models)")
    fig.tight_layout()
    fig.savefig(os.path.join(outdir, "fig4_distances.png"), dpi=110)
    plt.close(fig)


def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def write_report(outdir, results, names, figures):
    run = results["run"]
    insts = results["instruments"]
    out = ["# instsim evaluation", ""]
    out.append(f"- Corpus: `{run['corpus']}`, {len(run['test_tracks'])} test tracks "
               f"({', '.join(run['test_tracks'])})")
    out.append(f"- k-NN vote over the {run['k']} nearest other test segments (cosine)")
    if run["sql"]:
        how = (f"the instsim_hnsw index, ef_search {run['ef_search']}" if run["sql_index"]
               else "an exact scan")
        out.append(f"- Also computed through the extension with {how}")
    out.append(f"- Command: `{run['command']}`")
    out += ["", "## Music-ID accuracy (Table II, original stems)", "",
            "| instrument | models (seeds) | segments | accuracy % (mean) | variance | paper % |",
            "|---|---|---|---|---|---|"]
    for n in names:
        i = insts[n]
        seeds = ", ".join(str(m["seed"]) for m in i["models"])
        out.append(f"| {n} | {len(i['models'])} ({seeds}) | {i['segments']} | "
                   f"{fmt(100 * i['accuracy_mean'], '.2f')} | {fmt(i['accuracy_variance'], '.2g')} | "
                   f"{fmt(i['paper_accuracy_percent'], '.2f')} |")
    out += ["", "Variance: population variance of the accuracy (as a fraction) over the models, "
            "as the paper reports it.", ""]
    if run["sql"]:
        out += ["## Cross-check: in memory vs. through the extension", "",
                "| instrument | seed | accuracy % (memory) | accuracy % (SQL) | recall | "
                "list mismatches | vote mismatches | max embedding diff | index used |",
                "|---|---|---|---|---|---|---|---|---|"]
        for n in names:
            for m in insts[n]["models"]:
                s = m.get("sql")
                if not s:
                    continue
                out.append(f"| {n} | {m['seed']} | {fmt(100 * m['accuracy'], '.2f')} | "
                           f"{fmt(100 * s['accuracy'], '.2f')} | {fmt(s['recall'], '.4f')} | "
                           f"{s['list_mismatches']} | {s['vote_mismatches']} | "
                           f"{fmt(s['max_embedding_diff'], '.2g')} | {s['index_used']} |")
        out += ["", "A list mismatch is a query whose k neighbour distances differ from the exact "
                "ones (ties in distance are not mismatches).", ""]
    out += ["## Correlation between instruments' distance matrices (Table III)", "",
            "| pair | Pearson | paper | mean Spearman | paper |", "|---|---|---|---|---|"]
    for p in results["table3"]:
        out.append(f"| {p['a']}-{p['b']} | {fmt(p['pearson'], '.3f')} | "
                   f"{fmt(p.get('paper_pearson'), '.4g')} | {fmt(p['spearman'], '.3f')} | "
                   f"{fmt(p.get('paper_spearman'), '.3g')} |")
    out += ["", "Pearson: upper triangles of the mean centroid distance matrices; Spearman: "
            "per track (each column without the diagonal), averaged over tracks.", ""]
    if figures:
        out += ["## Figures", "", "![t-SNE of segment embeddings](fig3_tsne.png)", "",
                "![Track distance matrices](fig4_distances.png)", ""]
    with open(os.path.join(outdir, "report.md"), "w") as f:
        f.write("\n".join(out))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("outdir")
    ap.add_argument("--perplexity", type=float, default=30.0)
    ap.add_argument("--no-figures", action="store_true", help="report.md only")
    args = ap.parse_args()
    with open(os.path.join(args.outdir, "results.json")) as f:
        results = json.load(f)
    names = list(results["instruments"])
    if not args.no_figures:
        plot_tsne(args.outdir, names, args.perplexity)
        plot_distances(args.outdir, results, names)
    write_report(args.outdir, results, names, not args.no_figures)


if __name__ == "__main__":
    main()
