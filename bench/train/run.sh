#!/bin/sh
# Training throughput, ours vs PyTorch, 1 and 2 threads, side by side.
# Usage (from the repository root): bench/train/run.sh [STEPS] [TRIPLETS]
# Needs `make` to have built src/{core,frontend,nn,train}/*.o, and Debian's
# python3-torch.
set -e
steps=${1:-5}
trip=${2:-64}
cd "$(dirname "$0")/../.."
mkdir -p build
# the trainer and the whole core library: it uses the inference convolution kernels
cc -O2 -fopenmp-simd -Wall -Wextra -Isrc/core -Isrc/frontend -Isrc/nn -Isrc/train \
	-o build/bench_train bench/train/bench_train.c \
	src/core/*.o src/frontend/*.o src/nn/*.o src/train/*.o $(sed -n 's/^CORE_LIBS *= *//p' Makefile)
grep -m1 'model name' /proc/cpuinfo
uptime
for t in 1 2; do
	build/bench_train "$t" "$steps" "$trip"
	OMP_NUM_THREADS=$t /usr/bin/python3 bench/train/torch_train.py "$t" "$steps" "$trip"
done
