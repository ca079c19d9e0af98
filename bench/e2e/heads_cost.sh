#!/usr/bin/env bash
# CPU cost of mix plus the four mix-input models in one call against mix
# alone (issue #14's cost target): sql/heads_cost.sql on bench/e2e's 20
# tracks, RUNS times for each kernel, the kernels alternating in one
# throw-away cluster through instsim.conv_kernel so that both see the same
# machine.  HEADS (default models/) holds the X_mix.safetensors to time as
# heads beside the shipped ones; KERNELS defaults to float32 (auto) and,
# where the CPU has AVX512_BF16, wino-bf16.
#
#   bash bench/e2e/heads_cost.sh [RUNS]    # prints one table per run and kernel
source "$(dirname "$0")/../../scripts/lib.sh"
cd "$INSTSIM_ROOT"

RUNS=${1:-5} HEADS=$(realpath "${HEADS:-models}")
DATA=$INSTSIM_ROOT/bench/e2e/data
if [[ -z ${KERNELS:-} ]]; then
	KERNELS=auto
	grep -qw avx512_bf16 /proc/cpuinfo && KERNELS+=" wino-bf16"
fi

ensure_deps
ensure_packages python3-numpy python3-soundfile
build_install
[[ -f $DATA/tracks/track19.flac ]] || { mkdir -p "$DATA/tracks" && python3 bench/e2e/make_audio.py tracks "$DATA/tracks" 20 30; }
# the server reads the files: a directory the postgres user can read, the
# names heads_cost.sql wants
dir=$(mktemp -d /tmp/instsim-heads.XXXX)
trap 'rm -rf "$dir"' EXIT
cp "$HEADS"/*_mix.safetensors "$dir"/
for i in $(seq 0 19); do cp "$DATA/tracks/track$(printf %02d "$i").flac" "$dir/t$i.flac"; done
chmod -R a+rX "$dir"
cluster_start heads-cost
trap 'cluster_stop; rm -rf "$dir"' EXIT
for r in $(seq "$RUNS"); do
	for k in $KERNELS; do
		psql -X -q -c "DROP DATABASE IF EXISTS heads_cost" -c "CREATE DATABASE heads_cost"
		log "run $r, instsim.conv_kernel = $k"
		PGOPTIONS="-c instsim.conv_kernel=$k" psql -X -q -d heads_cost -v heads="$dir" -v tracks="$dir" \
			-f bench/e2e/sql/heads_cost.sql
	done
done
