#!/usr/bin/python3
"""PyTorch side of the training-throughput benchmark (see run.sh): the same
network (4 x [conv3x3, batchnorm, relu, maxpool2] 16-32-64-128, gap, linear
128, l2norm), batch (TRIPLETS triplets = 3 x TRIPLETS segments of
1 x 128 x 130), cosine triplet loss (margin 0.2) and Adam step as
bench_train.c.

    torch_train.py THREADS [STEPS] [TRIPLETS]
"""
import sys
import time

import torch
import torch.nn.functional as F


def net():
    layers, c = [], 1
    for out in (16, 32, 64, 128):
        layers += [torch.nn.Conv2d(c, out, 3, padding=1), torch.nn.BatchNorm2d(out),
                   torch.nn.ReLU(), torch.nn.MaxPool2d(2)]
        c = out
    layers += [torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(c, 128)]
    return torch.nn.Sequential(*layers)


def main():
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    trip = int(sys.argv[3]) if len(sys.argv) > 3 else 64
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    m = net().train()
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    x = torch.rand(3 * trip, 1, 128, 130) * 4 - 8

    def step():
        emb = F.normalize(m(x), dim=1)
        a, p, n = emb[:trip], emb[trip:2 * trip], emb[2 * trip:]
        loss = torch.clamp((1 - F.cosine_similarity(a, p)) - (1 - F.cosine_similarity(a, n))
                           + 0.2, min=0).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()

    step()  # warm-up
    w0, c0 = time.monotonic(), time.process_time()
    for _ in range(steps):
        step()
    wall, cpu = time.monotonic() - w0, time.process_time() - c0
    print("torch threads %d steps %d segments/step %d wall %.3f s  %.1f segments/s  %.1f segments/cpu-s"
          % (threads, steps, 3 * trip, wall, steps * 3 * trip / wall, steps * 3 * trip / cpu))


main()
