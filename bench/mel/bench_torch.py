#!/usr/bin/python3
"""torchaudio side of the log-mel benchmark (see run.sh).

    bench_torch.py THREADS SEGMENTS   segments/s (wall and CPU) of MelSpectrogram
                                      + log, one call per segment and in batches
                                      of 16
    bench_torch.py --dump DIR         writes DIR/signal.f32 (3 s of audio) and
                                      DIR/logmel.f32 (torchaudio's 128 x 130
                                      log-mel of it) for bench_mel --check
"""
import os
import sys
import time

import numpy as np
import torch
import torchaudio

SR, N = 44100, 132300


def transform():
    return torchaudio.transforms.MelSpectrogram(
        sample_rate=SR, n_fft=2048, hop_length=1024, n_mels=128, f_min=0.0,
        f_max=22050.0, norm="slaney", mel_scale="slaney", power=2.0)


def music_like_signal(seed):
    """Noise with a decaying envelope plus a few harmonic tones: energy in
    every band, with quiet stretches where the log offset matters."""
    rng = np.random.default_rng(seed)
    t = np.arange(N) / SR
    x = 0.05 * rng.standard_normal(N) * np.exp(-3.0 * (t % 0.5))
    for f0 in (110.0, 277.2, 659.3):
        for h in range(1, 8):
            x += 0.1 / h * np.sin(2 * np.pi * f0 * h * t + rng.uniform(0, 6.28))
    return x.astype(np.float32)


def dump(directory):
    torch.set_num_threads(1)
    x = music_like_signal(1)
    logmel = torch.log(transform()(torch.from_numpy(x)) + 1e-6)
    x.tofile(os.path.join(directory, "signal.f32"))
    logmel.numpy().astype(np.float32).tofile(os.path.join(directory, "logmel.f32"))


def bench(threads, segments):
    torch.set_num_threads(threads)
    mel = transform()
    x = torch.from_numpy(music_like_signal(2))
    batch = x.repeat(16, 1)
    n_batched = segments // 16 * 16
    with torch.inference_mode():
        torch.log(mel(x) + 1e-6)
        for name, inp, calls, count in (
                ("torchaudio one segment per call", x, segments, segments),
                ("torchaudio batches of 16", batch, segments // 16, n_batched)):
            t0, c0 = time.perf_counter(), time.process_time()
            for _ in range(calls):
                torch.log(mel(inp) + 1e-6)
            t1, c1 = time.perf_counter(), time.process_time()
            print("%s\t%d\t%d\t%.3f\t%.1f\t%.1f"
                  % (name, threads, count, t1 - t0, count / (t1 - t0), count / (c1 - c0)))


if __name__ == "__main__":
    if sys.argv[1] == "--dump":
        dump(sys.argv[2])
    else:
        bench(int(sys.argv[1]), int(sys.argv[2]))
