#!/usr/bin/python3
"""The front end a user would script without instsim: soundfile decode,
mono, 3-s windows every 1.5 s (the same -60 dBFS silence test), torchaudio
MelSpectrogram + log on all of a track's windows at once, on one thread.

    user_frontend.py OUT_DIR REPEATS FILE...

Times REPEATS passes over the files in process CPU seconds (and wall seconds),
excluding start-up and imports, and prints one JSON line; decode_cpu_s is the
part spent in soundfile and the downmix.  The last pass's log-mel
images go to OUT_DIR/mel.f32 (float32, segments x 128 x 130) and the segment
count of each file to OUT_DIR/counts.json, for user_cnn.js (ONNX Runtime in
node, timed separately); writing them is outside the timing.
"""
import json
import sys
import time

import numpy as np
import soundfile as sf
import torch
import torchaudio

SR, SEG, HOP = 44100, 132300, 66150
SILENCE_DBFS = -60.0


def transform():
    return torchaudio.transforms.MelSpectrogram(
        sample_rate=SR, n_fft=2048, hop_length=1024, n_mels=128, f_min=0.0,
        f_max=22050.0, norm="slaney", mel_scale="slaney", power=2.0)


def logmel(mel, path, clock):
    t0 = time.process_time()
    x, sr = sf.read(path, dtype="float32", always_2d=True)
    assert sr == SR, "resampling is not part of this benchmark"
    x = torch.from_numpy(x.mean(axis=1))
    clock["decode_cpu_s"] += time.process_time() - t0
    n = 1 + (len(x) - SEG) // HOP if len(x) >= SEG else 0
    windows = x.unfold(0, SEG, HOP)[:n]
    rms_db = 10 * torch.log10(windows.pow(2).mean(dim=1))
    windows = windows[rms_db >= SILENCE_DBFS]
    return torch.log(mel(windows) + 1e-6)


def main():
    out_dir, repeats, files = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    torch.set_num_threads(1)
    mel = transform()
    audio_s = sum(sf.info(f).duration for f in files)
    with torch.inference_mode():
        logmel(mel, files[0], {"decode_cpu_s": 0.0})  # warm-up
        clock = {"decode_cpu_s": 0.0}
        c0, w0 = time.process_time(), time.perf_counter()
        for _ in range(repeats):
            images = [logmel(mel, f, clock) for f in files]
        cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    with open(out_dir + "/mel.f32", "wb") as f:
        for m in images:
            f.write(m.numpy().astype(np.float32).tobytes())
    with open(out_dir + "/counts.json", "w") as f:
        json.dump([int(m.shape[0]) for m in images], f)
    segments = sum(int(m.shape[0]) for m in images)
    print(json.dumps({"stage": "soundfile+torchaudio", "torch": torch.__version__,
                      "torchaudio": torchaudio.__version__, "audio_s": audio_s * repeats,
                      "segments": segments * repeats, "cpu_s": round(cpu, 3),
                      "decode_cpu_s": round(clock["decode_cpu_s"], 3),
                      "wall_s": round(wall, 3)}))


if __name__ == "__main__":
    main()
