#!/usr/bin/python3
"""Deterministic benchmark audio (FLAC, 16 bit, 44.1 kHz).

    make_audio.py tracks DIR N SECONDS   N stereo music-like tracks DIR/trackNN.flac
    make_audio.py long FILE HOURS        one long mono file, written block by block

Tracks: a chord of harmonic tones that changes every bar, a bass line, and
noise bursts on the beat (a drum-like rhythm), all well above the segmenter's
-60 dBFS silence threshold, so every 3-s window is embedded.

The long file exists for the memory test, where only its length matters: a
quiet (-50 dBFS RMS, still not silent) tone with a little noise, which FLAC
packs into about 3.5 bits a sample: 8 hours make about 550 MB, under the
1 GB limit of a bytea.
It is generated and written in 10-s blocks: memory stays small.
"""
import sys

import numpy as np
import soundfile as sf

SR = 44100


def track(seed, seconds):
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    t = np.arange(n) / SR
    bpm = rng.uniform(80, 150)
    beat = 60.0 / bpm
    bar = 4 * beat
    x = np.zeros(n)
    # chords: three voices with 6 harmonics each, a new root every bar
    bar_idx = (t // bar).astype(int)
    roots = 110.0 * 2 ** (rng.integers(0, 12, bar_idx.max() + 1) / 12)
    root = roots[bar_idx]
    for interval in (0, 4, 7):
        f = root * 2 ** (interval / 12)
        phase = 2 * np.pi * np.cumsum(f) / SR
        for h in range(1, 7):
            x += 0.06 / h * np.sin(h * phase)
    # bass: the root an octave down, plucked on every beat
    env_beat = np.exp(-4.0 * (t % beat) / beat)
    x += 0.2 * env_beat * np.sin(2 * np.pi * np.cumsum(root / 2) / SR)
    # drums: noise bursts on every beat, louder on 1 and 3
    accent = np.where(((t // beat) % 2) == 0, 1.0, 0.5)
    x += 0.15 * accent * np.exp(-25.0 * (t % beat)) * rng.standard_normal(n)
    # a little stereo: the right channel slightly delayed and quieter
    left = x
    right = 0.8 * np.roll(x, 37)
    y = np.stack([left, right], axis=1)
    return (0.7 * y / np.max(np.abs(y))).astype(np.float32)


def tracks(directory, count, seconds):
    for i in range(count):
        sf.write("%s/track%02d.flac" % (directory, i), track(1000 + i, seconds), SR,
                 subtype="PCM_16")


def long_file(path, hours):
    block = 10 * SR
    blocks = int(round(hours * 3600 * SR / block))
    rng = np.random.default_rng(7)
    amp = 10 ** (-50 / 20) * np.sqrt(2)  # sine peak for -50 dBFS RMS
    t0 = 0
    with sf.SoundFile(path, "w", SR, 1, subtype="PCM_16", format="FLAC") as f:
        for _ in range(blocks):
            t = (t0 + np.arange(block)) / SR
            x = amp * np.sin(2 * np.pi * 440.0 * t) + 5e-5 * rng.standard_normal(block)
            f.write(x.astype(np.float32))
            t0 += block


def main():
    if sys.argv[1] == "tracks":
        tracks(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
    elif sys.argv[1] == "long":
        long_file(sys.argv[2], float(sys.argv[3]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
