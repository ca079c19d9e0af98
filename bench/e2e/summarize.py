#!/usr/bin/python3
"""Markdown tables from the raw results run.sh writes (bench/e2e/data/results).

    summarize.py RESULTS_DIR
"""
import json
import os
import sys

MODELS = 5


def lines(path):
    with open(path) as f:
        return [l.rstrip("\n") for l in f if l.strip()]


def tsv(path):
    return [l.split("\t") for l in lines(path)]


def jsonl(path):
    return [json.loads(l) for l in lines(path)]


def sql_rows(res):
    """{tag: {workload: (audio_s, cpu_s, wall_s)}} from the psql outputs."""
    out = {}
    for name in ("sql_1.tsv", "sql_2a.tsv", "sql_2b.tsv"):
        for tag, _pid, label, audio, cpu, wall, _rate, _check in tsv(os.path.join(res, name)):
            out.setdefault(tag, {})[label] = (float(audio), float(cpu), float(wall))
    return out


def split_rows(res):
    """The split step's rows, or None when run.sh ran without it."""
    path = os.path.join(res, "split.tsv")
    return {r[0]: r for r in tsv(path)} if os.path.exists(path) else None


def throughput(res):
    split = split_rows(res)
    fe = jsonl(os.path.join(res, "user_frontend.json"))[0]
    cnn = jsonl(os.path.join(res, "user_cnn.json"))
    sql = sql_rows(res)
    audio = fe["audio_s"]
    user1 = fe["cpu_s"] + cnn[0]["cpu_s"]
    user5 = fe["cpu_s"] + sum(c["cpu_s"] for c in cnn[:MODELS])
    one = sql["1-backend"]
    two = [sql["2-backends-a"], sql["2-backends-b"]]

    def rate(workload, runs):
        a = sum(r[workload][0] for r in runs)
        c = sum(r[workload][1] for r in runs)
        w = max(r[workload][2] for r in runs)
        return a / c, a / w

    print("### Throughput: audio seconds embedded per CPU second (per wall second)\n")
    print("| pipeline | 1 model | 5 models |")
    print("|---|---|---|")
    r1, w1 = rate("1 model (mix)", [one])
    r5, w5 = rate("5 models", [one])
    print("| instsim_embed through SQL, 1 backend | %.0f (%.0f) | %.0f (%.0f) |" % (r1, w1, r5, w5))
    t1, tw1 = rate("1 model (mix)", two)
    t5, tw5 = rate("5 models", two)
    print("| instsim_embed through SQL, 2 concurrent backends | %.0f (%.0f) | %.0f (%.0f) |"
          % (t1, tw1, t5, tw5))
    one_call = "5 models, one call"
    if one_call in one:
        c5, cw5 = rate(one_call, [one])
        print("| instsim_embed(audio, models text[]) through SQL, 1 backend | - | %.0f (%.0f) |"
              % (c5, cw5))
    if all(one_call in r for r in two):
        c5, cw5 = rate(one_call, two)
        print("| instsim_embed(audio, models text[]), 2 concurrent backends | - | %.0f (%.0f) |"
              % (c5, cw5))
    if split:
        full = float(split["decode+mel+cnn"][5])
        print("| core pipeline without SQL (split.c, full pass) | %.0f | - |" % full)
    print("| user script: soundfile + torchaudio + ONNX Runtime | %.0f | %.0f |"
          % (audio / user1, audio / user5))
    print("| **ratio, SQL 1 backend / user script** | **%.2fx** | **%.2fx** |"
          % (r1 / (audio / user1), r5 / (audio / user5)))
    if one_call in one:
        print("| **ratio, SQL 1 backend, one call for 5 models / user script** | - | **%.2fx** |"
              % (rate(one_call, [one])[0] / (audio / user5)))
    shared = "mix + 4 mix-input, one call"
    if shared in one:
        s5, sw5 = rate(shared, [one])
        print("| instsim_embed(audio, ARRAY[mix, 4 mix-input models]), 1 backend | - | %.0f (%.0f) |"
              % (s5, sw5))
        print("| **CPU time of the mix-input call / one model (target <= 1.5)** | - | **%.2fx** |"
              % (r1 / s5))
        print("| **ratio, SQL 1 backend, mix-input call / user script (5 CNNs)** | - | **%.2fx** |"
              % (s5 / (audio / user5)))
    print("\nUser script, 5 models: decode and log-mel once, the five CNNs on the same "
          "images (the cheapest a script can do); instsim: five instsim_embed calls, "
          "each decoding the file again, or one instsim_embed(audio, models text[]) "
          "call, which decodes once.\n")

    if split:
        time_split(split, one, fe, cnn, audio)


def time_split(split, one, fe, cnn, audio):
    print("### Time split: CPU milliseconds per second of audio\n")
    dec = float(split["decode"][4]) * 1e3
    mel = float(split["decode+mel"][4]) * 1e3 - dec
    net = float(split["decode+mel+cnn"][4]) * 1e3 - dec - mel
    sql_ms = one["1 model (mix)"][1] / one["1 model (mix)"][0] * 1e3
    u_dec = fe["decode_cpu_s"] / audio * 1e3
    u_mel = (fe["cpu_s"] - fe["decode_cpu_s"]) / audio * 1e3
    u_net = cnn[0]["cpu_s"] / audio * 1e3
    print("| stage | instsim (core, split.c) | user script | ratio |")
    print("|---|---|---|---|")
    for name, a, b in (("decode FLAC + mono (libsndfile/libFLAC both)", dec, u_dec),
                       ("3-s windows + log-mel", mel, u_mel),
                       ("CNN (16-32-64-128, batch <= 16 / per track)", net, u_net)):
        print("| %s | %.3f | %.3f | %.1fx |" % (name, a, b, b / a))
    print("| total | %.3f | %.3f | %.1fx |" % (dec + mel + net, u_dec + u_mel + u_net,
                                               (u_dec + u_mel + u_net) / (dec + mel + net)))
    print("| through SQL (TOAST slices, executor; 1 backend) | %.3f | - | - |" % sql_ms)
    print("\nSegments per pass: %s (all windows non-silent).\n" % split["decode"][2]
          if split["decode"][2] != "0" else "")


def agreement(res):
    """Both pipelines' track vectors for the mix model: they should agree to the
    mel front end's tolerance."""
    ours_path = os.path.join(res, "sql_centroids_mix.tsv")
    theirs_path = os.path.join(res, "mix.centroids.json")
    if not (os.path.exists(ours_path) and os.path.exists(theirs_path)):
        return
    ours = [[float(x) for x in r[1].strip("[]").split(",")] for r in tsv(ours_path)]
    with open(theirs_path) as f:
        theirs = json.load(f)
    assert len(ours) == len(theirs)
    dot = lambda u, v: sum(a * b for a, b in zip(u, v))  # noqa: E731
    cos = [1 - dot(u, v) for u, v in zip(ours, theirs)]
    diff = max(abs(a - b) for u, v in zip(ours, theirs) for a, b in zip(u, v))
    spread = [1 - dot(u, v) for i, u in enumerate(ours) for v in ours[i + 1:]]
    print("Same result: over the %d tracks, instsim_embed(audio, 'mix') and the user "
          "script's track vector differ by at most %.2g in cosine distance (%.2g per "
          "component), while the tracks differ from each other by %.2g to %.2g "
          "(the synthetic model is not very sensitive to its input).\n"
          % (len(ours), max(cos), diff, min(spread), max(spread)))


def memory_run(res, jit):
    rows = tsv(os.path.join(res, "memory_jit_%s.tsv" % jit))
    fresh = next(r for r in rows if r[0] == "fresh")
    base = next(r for r in rows if r[0] == "baseline")
    long_row = next(r for r in rows if r[0] not in ("fresh", "baseline", "after"))
    after = next(r for r in rows if r[0] == "after")
    series = [[float(x) for x in r] for r in tsv(os.path.join(res, "memory_jit_%s_series.tsv" % jit))]
    half = len(series) // 2
    return {
        "fresh": fresh, "base": base, "long": long_row, "after": after,
        "peak": [max(r[i] for r in series) for i in range(1, 5)],  # rss, anon, file, shmem
        "anon_halves": (max(r[2] for r in series[:half]), max(r[2] for r in series[half:])),
        "samples": len(series),
    }


def memory(res):
    if not os.path.exists(os.path.join(res, "memory_jit_off.tsv")):
        return  # run.sh ran without its memory step
    shared_buffers = lines(os.path.join(res, "shared_buffers.txt"))[0]
    runs = {jit: memory_run(res, jit) for jit in ("off", "on")}
    long_row = runs["off"]["long"]
    mib = lambda kb: float(kb) / 1024.0  # noqa: E731
    print("### Memory: one backend embedding %.1f hours (%s FLAC, stored %s bytes out of line)\n"
          % (float(long_row[0]) / 3600, long_row[1], long_row[2]))
    print("One session per row group: fresh = just connected; baseline = after embedding "
          "one 30-s track (model cached, arena allocated); then the 8-h call. "
          "Peaks sampled every 50 ms; VmHWM read by the backend itself. "
          "shared_buffers = %s.\n" % shared_buffers)
    print("| MiB | jit | fresh | baseline | peak during the 8-h call | growth over baseline |")
    print("|---|---|---|---|---|---|")
    for jit, r in runs.items():
        f, b, a, p = r["fresh"], r["base"], r["after"], r["peak"]
        print("| VmHWM (all resident pages) | %s | %.1f | %.1f | %.1f | %.1f |"
              % (jit, mib(f[2]), mib(b[2]), mib(a[2]), mib(a[2]) - mib(b[2])))
        print("| RssAnon (private: instsim, PostgreSQL, LLVM) | %s | %.1f | %.1f | %.1f | %.1f |"
              % (jit, mib(f[3]), mib(b[3]), mib(p[1]), mib(p[1]) - mib(b[3])))
        print("| RssFile (mapped files: binaries, libraries) | %s | - | - | %.1f | - |"
              % (jit, mib(p[2])))
        print("| RssShmem (shared buffers touched) | %s | %.1f | %.1f | %.1f | %.1f |"
              % (jit, mib(f[4]), mib(b[4]), mib(p[3]), mib(p[3]) - mib(b[4])))
    off = runs["off"]
    arena = int(split_rows(res)["arena_bytes"][1]) / 2 ** 20
    # mel context (mel.c, n_fft 2048): 16 edge-frame copies, the 16-lane work and power
    # buffers, FFTW's window / packed / spectrum / two mirrors, the filterbank weights
    mel_ctx = (16 * 2048 + 2 * 1024 * 16 + 16 * 1025 + 2048 + 2 * 2 * 2048 + 2 * 2048
               + 2 * 1025) * 4 / 2 ** 20
    bound = 2 + 1 + 132300 * 4 / 2 ** 20 + 16 * 128 * 130 * 4 / 2 ** 20 + mel_ctx + arena
    print("\nStated bound per call: 2 MiB decoder + 1 MiB TOAST slice + 0.50 MiB window + "
          "1.02 MiB mel batch + %.2f MiB mel context + %.2f MiB activation arena (batch 16) "
          "= **%.1f MiB**; measured private memory of the 8-h call over a fresh backend "
          "(jit off, RssAnon peak - fresh): **%.1f MiB** (includes the cached model).\n"
          % (mel_ctx, arena, bound, mib(off["peak"][1]) - mib(off["fresh"][3])))
    for jit, r in runs.items():
        a = r["after"]
        print("jit=%s: 8-h call %s CPU s, %s wall s (%.0f audio s per CPU s), embedding norm %s; "
              "RssAnon peak %.1f MiB in the first half of the session, %.1f in the second "
              "(%d samples).  "
              % (jit, a[5], a[6], float(long_row[0]) / float(a[5]), r["long"][3],
                 mib(r["anon_halves"][0]), mib(r["anon_halves"][1]), r["samples"]))
    print()


def main():
    res = sys.argv[1]
    print(lines(os.path.join(res, "machine.txt"))[0] + "\n")
    throughput(res)
    agreement(res)
    memory(res)


if __name__ == "__main__":
    main()
