#!/bin/sh
# CNN forward throughput (segments/s) of the default 16-32-64-128 network on
# the same weights: ONNX Runtime 1.30 (CPU), PyTorch, and instsim's kernels,
# batch 1, 16, 64 on 1 and 2 threads, ROUNDS interleaved rounds (best kept:
# the machine is shared).  Writes $OUT/results.jsonl and prints the table.
#
#   bench/cnn/run.sh            (from the repository root)
#   ROUNDS=3 OUT=/tmp/x bench/cnn/run.sh
set -e
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/instsim-bench-cnn}
ORT_DIR=${ORT_DIR:-/tmp/instsim-ort}
ORT_JS=${ORT_JS:-../shared/bench/ort_cnn.js}
ROUNDS=${ROUNDS:-2}
KERNELS=${KERNELS:-"auto gemm avx2 avx512 wino-avx2 wino-avx512 wino4-avx2 wino4-avx512"}
export GFLOP=0.1187				# is_net_flops of the default network
mkdir -p "$OUT"

make -s build/instsim-makemodel build/instsim-benchcnn
# private copies: other people's builds in this checkout must not swap them mid-run
cp build/instsim-makemodel build/instsim-benchcnn "$OUT/"
"$OUT/instsim-makemodel" "$OUT/model.safetensors" 1
/usr/bin/python3 bench/cnn/export_onnx.py "$OUT/model.safetensors" "$OUT/model.onnx" 2>/dev/null
[ -d "$ORT_DIR/node_modules/onnxruntime-node" ] ||
	ONNXRUNTIME_NODE_INSTALL=skip npm install --silent --prefix "$ORT_DIR" onnxruntime-node@1.30.0

# engines take turns on every (threads, batch) cell, so load from other
# processes hits them alike
: > "$OUT/results.jsonl"
for round in $(seq "$ROUNDS"); do
	for threads in 1 2; do
		for batch in 1 16 64; do
			NODE_PATH="$ORT_DIR/node_modules" node "$ORT_JS" "$OUT/model.onnx" "$threads" "$batch"
			/usr/bin/python3 bench/cnn/torch_bench.py "$OUT/model.safetensors" "$threads" "$batch"
			for k in $KERNELS; do
				# our threads do the parallel work; OpenBLAS (gemm kernel, linear layer) stays serial
				OPENBLAS_NUM_THREADS=1 "$OUT/instsim-benchcnn" "$OUT/model.safetensors" "$threads" "$batch" "$k"
			done
		done
	done
done | tee -a "$OUT/results.jsonl"
echo
/usr/bin/python3 bench/cnn/table.py "$OUT/results.jsonl"
