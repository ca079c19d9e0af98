#!/bin/sh
# Training throughput, ours vs PyTorch, 1 and 2 threads, side by side.
# Usage (from the repository root): bench/train/run.sh [STEPS] [TRIPLETS]
# Needs `make` to have built src/core/*.o, and Debian's python3-torch.
set -e
steps=${1:-5}
trip=${2:-64}
cd "$(dirname "$0")/../.."
mkdir -p build
cc -O2 -fopenmp-simd -Wall -Wextra -Isrc/core -o build/bench_train bench/train/bench_train.c \
	src/core/train_step.o src/core/train_net.o src/core/workers.o src/core/triplet.o src/core/distance.o \
	src/core/adam.o src/core/nn.o src/core/errmsg.o -lopenblas -lm -lpthread
grep -m1 'model name' /proc/cpuinfo
uptime
for t in 1 2; do
	build/bench_train "$t" "$steps" "$trip"
	OMP_NUM_THREADS=$t /usr/bin/python3 bench/train/torch_train.py "$t" "$steps" "$trip"
done
