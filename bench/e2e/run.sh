#!/usr/bin/env bash
# End-to-end benchmark (issue 8, "Measure"): audio seconds embedded per CPU
# second through SQL, against the pipeline a user would script (soundfile +
# torchaudio + ONNX Runtime), the split of our time between decode, mel and
# CNN, and the peak memory of a backend embedding an 8-hour file.
#
#   bench/e2e/run.sh [STEP...]  steps: split user sql memory (default: all);
#                               raw results and summary.md in bench/e2e/data/results
#   REPEATS=5 LONG_HOURS=8 bench/e2e/run.sh
#
# Generated inputs (FLAC files, models, ONNX exports, the npm package) go to
# bench/e2e/data/ (git-ignored) and are reused by later runs.
source "$(dirname "$0")/../../scripts/lib.sh"
cd "$INSTSIM_ROOT"

E2E=$INSTSIM_ROOT/bench/e2e
DATA=$E2E/data
RES=$DATA/results
REPEATS=${REPEATS:-5}
N_TRACKS=${N_TRACKS:-20}
TRACK_S=${TRACK_S:-30}
LONG_HOURS=${LONG_HOURS:-8}
MODELS=(mix drums bass piano guitar)
PY=/usr/bin/python3 # Debian's, with numpy, soundfile, torch, torchaudio
NPM_DIR=$DATA/npm
ORT_VERSION=1.30.0
# One thread everywhere: the server embeds on one thread per backend.
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1

mkdir -p "$DATA/tracks" "$DATA/models" "$DATA/onnx" "$DATA/user" "$RES"

build() {
	ensure_deps
	# the user's pipeline and the ONNX export
	ensure_packages python3-numpy python3-soundfile python3-torch python3-torchaudio
	command -v npm >/dev/null || ensure_packages nodejs npm # a node of its own may conflict with Debian's npm
	log "building and installing the extension"
	# TOOL_SRCS= keeps a half-edited tools/*.c of someone else out of the way
	make -s install >/dev/null 2>&1 || make -s install TOOL_SRCS= >/dev/null
	make -s build/instsim-makemodel
	local core_libs
	core_libs=$(sed -n 's/^CORE_LIBS *= *//p' Makefile)
	# shellcheck disable=SC2086
	# the objects of the server library's core (src/pg aside), which `make install` built
	cc -std=gnu11 -O2 -Wall -Wextra -fopenmp-simd -Isrc/core -Isrc/frontend -Isrc/nn \
		-o "$DATA/split" "$E2E/split.c" src/core/*.o src/frontend/*.o src/nn/*.o $core_libs
	if [[ ! -d $NPM_DIR/node_modules/onnxruntime-node ]]; then
		log "installing onnxruntime-node@$ORT_VERSION into $NPM_DIR"
		ONNXRUNTIME_NODE_INSTALL=skip npm install --silent --prefix "$NPM_DIR" \
			"onnxruntime-node@$ORT_VERSION" >/dev/null
	fi
}

inputs() {
	if [[ ! -f $DATA/tracks/track$(printf %02d $((N_TRACKS - 1))).flac ]]; then
		log "writing $N_TRACKS x $TRACK_S s FLAC tracks"
		$PY "$E2E/make_audio.py" tracks "$DATA/tracks" "$N_TRACKS" "$TRACK_S"
	fi
	if [[ $steps == *" memory "* && ! -f $DATA/long${LONG_HOURS}h.flac ]]; then
		log "writing the $LONG_HOURS-hour FLAC file"
		$PY "$E2E/make_audio.py" long "$DATA/long${LONG_HOURS}h.flac" "$LONG_HOURS"
	fi
	# five synthetic models of the default 16-32-64-128 network, one seed each
	local i=0
	for m in "${MODELS[@]}"; do
		i=$((i + 1))
		[[ -f $DATA/models/$m.safetensors ]] ||
			build/instsim-makemodel "$DATA/models/$m.safetensors" "$i" "$m" >/dev/null
		[[ $DATA/onnx/$m.onnx -nt $DATA/models/$m.safetensors ]] ||
			$PY bench/cnn/export_onnx.py "$DATA/models/$m.safetensors" "$DATA/onnx/$m.onnx" 2>"$DATA/onnx/$m.log" ||
			{ log "ONNX export of $m failed: $(tail -1 "$DATA/onnx/$m.log")"; exit 1; }
	done
}

machine() {
	{
		grep -m1 'model name' /proc/cpuinfo
		echo "cores: $(nproc --all)"
		echo "simd flags: $(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' |
			grep -E '^(avx2|fma|avx512f|avx512bw|avx512vl)$' | tr '\n' ' ')"
		echo "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}"
		cc --version | head -1
		pg_config --version
		dpkg-query -W -f='${Package} ${Version}\n' libflac12 libsndfile1 libfftw3-single3 \
			libopenblas0-pthread python3-torch python3-torchaudio python3-soundfile nodejs 2>/dev/null
		echo "onnxruntime-node $ORT_VERSION"
		uptime
	} >"$RES/machine.txt"
}

split_bench() {
	log "time split of the core pipeline (decode / mel / CNN)"
	"$DATA/split" "$DATA/models/mix.safetensors" "$REPEATS" "$DATA"/tracks/*.flac | tee "$RES/split.tsv"
}

user_bench() {
	log "the user's pipeline: soundfile + torchaudio (python), ONNX Runtime (node)"
	$PY "$E2E/user_frontend.py" "$DATA/user" "$REPEATS" "$DATA"/tracks/*.flac | tee "$RES/user_frontend.json"
	local onnx=()
	for m in "${MODELS[@]}"; do onnx+=("$DATA/onnx/$m.onnx"); done
	NODE_PATH=$NPM_DIR/node_modules node "$E2E/user_cnn.js" "$DATA/user" "$REPEATS" "${onnx[@]}" |
		tee "$RES/user_cnn.json"
	cp "$DATA/user/mix.centroids.json" "$RES/"
}

psql_rows() {
	psql -X -q -A -t -F $'\t' "$@"
}

sql_bench() {
	# the track vectors, to check against the user script's (summarize.py)
	psql -X -c "COPY (SELECT id, instsim_embed(audio, 'mix') FROM tracks ORDER BY id) TO STDOUT" \
		>"$RES/sql_centroids_mix.tsv"
	log "through SQL: 1 backend"
	psql_rows -v repeats="$REPEATS" -v tag=1-backend -f "$E2E/sql/embed.sql" | tee "$RES/sql_1.tsv"
	log "through SQL: 2 concurrent backends"
	psql_rows -v repeats="$REPEATS" -v tag=2-backends-a -f "$E2E/sql/embed.sql" >"$RES/sql_2a.tsv" &
	local a=$!
	psql_rows -v repeats="$REPEATS" -v tag=2-backends-b -f "$E2E/sql/embed.sql" >"$RES/sql_2b.tsv"
	wait "$a"
	cat "$RES/sql_2a.tsv" "$RES/sql_2b.tsv"
}

# Polls /proc/PID/status of the backend named e2e-memory every 50 ms until it
# exits: one line per sample, the time (epoch seconds) and kB of VmRSS,
# RssAnon, RssFile, RssShmem.
sample_memory() {
	local pid="" line
	while [[ -z $pid ]]; do
		pid=$(psql -X -A -t -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'e2e-memory'")
		[[ -n $pid ]] || sleep 0.05
	done
	while line=$(awk '/^(VmRSS|RssAnon|RssFile|RssShmem):/ {printf "\t%s", $2}' "/proc/$pid/status" 2>/dev/null) &&
		[[ -n $line ]]; do
		echo "$EPOCHREALTIME$line"
		sleep 0.05
	done
}

memory_bench() {
	log "memory: one backend embedding the $LONG_HOURS-hour file"
	psql -X -q -v data="$DATA" -f "$E2E/sql/long_setup.sql"
	psql_rows -c "SHOW shared_buffers" >"$RES/shared_buffers.txt"
	for jit in off on; do
		sample_memory >"$RES/memory_jit_${jit}_series.tsv" &
		local sampler=$!
		psql_rows -v jit=$jit -f "$E2E/sql/memory.sql" | tee "$RES/memory_jit_$jit.tsv"
		wait "$sampler"
	done
}

steps=" ${*:-split user sql memory} "
build
inputs
machine
[[ $steps == *" split "* ]] && split_bench
[[ $steps == *" user "* ]] && user_bench
if [[ $steps == *" sql "* || $steps == *" memory "* ]]; then
	cluster_start e2e
	psql -X -q -v data="$DATA" -v ntracks="$N_TRACKS" -v clk_tck="$(getconf CLK_TCK)" \
		-f "$E2E/sql/setup.sql" >"$RES/setup.txt"
	[[ $steps == *" sql "* ]] && sql_bench
	[[ $steps == *" memory "* ]] && memory_bench
	cluster_stop
fi
$PY "$E2E/summarize.py" "$RES" | tee "$RES/summary.md"
