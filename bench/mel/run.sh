#!/bin/sh
# Log-mel benchmark: instsim's is_mel_compute() against torchaudio's
# MelSpectrogram + log with the same parameters, 1 and 2 threads, same run.
# Usage (from anywhere): bench/mel/run.sh [SEGMENTS]   -- prints a markdown table.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
n=${1:-4000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Same flags as the extension build (baseline x86-64, no -march=native).
cc -std=gnu11 -O2 -fopenmp-simd -Wall -Wextra -I"$root/src/core" -I"$root/src/frontend" \
	-o "$tmp/bench_mel" "$here/bench_mel.c" "$root/src/frontend/mel.c" "$root/src/frontend/fft16.c" \
	"$root/src/core/errmsg.c" -lfftw3f -lm -lpthread

echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "torch $(/usr/bin/python3 -c 'import torch, torchaudio; print(torch.__version__, "/ torchaudio", torchaudio.__version__)'), FFTW $(dpkg-query -W -f='${Version}' libfftw3-single3)"
echo
/usr/bin/python3 "$here/bench_torch.py" --dump "$tmp"
for fft in auto fftw; do
	INSTSIM_MEL_FFT=$fft "$tmp/bench_mel" --check "$tmp/signal.f32" "$tmp/logmel.f32"
done
echo
echo "| implementation | threads | segments | wall s | segments/s (wall) | segments/CPU-s |"
echo "|---|---|---|---|---|---|"
for t in 1 2; do
	# what the extension runs (auto), then FFTW alone (what a CPU without AVX-512 gets)
	for fft in auto fftw; do
		INSTSIM_MEL_FFT=$fft "$tmp/bench_mel" "$t" "$n" |
			awk -F'\t' '{printf "| %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6}'
	done
	# OMP_NUM_THREADS too: with torch.set_num_threads alone an OpenMP worker
	# spins on the other core and doubles torch's CPU time (not its speed)
	OMP_NUM_THREADS=$t /usr/bin/python3 "$here/bench_torch.py" "$t" $((n / 8)) |
		awk -F'\t' '{printf "| %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6}'
done
echo
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
