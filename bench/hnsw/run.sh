#!/usr/bin/env bash
# Side-by-side benchmark of instsim_hnsw, pgvector's hnsw (if installed) and
# hnswlib on the standard vector sets: build time, index size, recall@10 and
# queries/s from one client (prepared statement) at several ef_search values.
#
# Usage (as root or any user; the server runs as `postgres` when root):
#   bench/hnsw/run.sh                 # N=100000 vectors x 128 dims, 1000 queries
#   N=20000 NQ=300 KINDS=clustered bench/hnsw/run.sh
#   KINDS=tracks TRACKS=DIR bench/hnsw/run.sh   # real embeddings: DIR holds
#       instsim-eval's segments_*.csv (all instruments pooled; NQ held out)
#   PARALLEL=1 BUILDS=3 EFS= KINDS=clustered bench/hnsw/run.sh
#       # builds only: both engines with 1 parallel maintenance worker (plus
#       # the leader), each index built 3 times
# Each line of results.jsonl: build time and size, or per ef the best of PASSES
# timed passes (queries/s, wall clock) with the backend's CPU ms per query;
# then the same from one psycopg client (client.py; "client":"psycopg" lines);
# with PROFILE_EF=ef (as root, perf installed) also where the serving backend's
# time goes per query, by part ("split_pct" lines, profile_split.py).
# STORAGE: the instsim_hnsw storages to measure, each on its own copy of the
# table (default float; e.g. STORAGE="float half int8"); engine "instsim" is
# float, the others "instsim-half", "instsim-int8".
# PARALLEL=N: max_parallel_maintenance_workers and the tables' parallel_workers
# (default 0: single-process builds).  BUILDS: builds per engine; the best
# counts, all are recorded.  EFS empty: no queries (nor client pass) and no hnswlib.
# Env: PGBIN (server binaries, default pg_config --bindir), PORT, WORK (scratch
# dir), PY (a python3 with numpy and hnswlib, default /usr/bin/python3).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
N=${N:-100000}; NQ=${NQ:-1000}; DIM=${DIM:-128}
KINDS=${KINDS:-"clustered lowdim uniform"}; EFS=${EFS-"20 40 100 200"}; PASSES=${PASSES:-3}
PARALLEL=${PARALLEL:-0}; BUILDS=${BUILDS:-1}
M=16; EFC=64
STORAGE=${STORAGE:-float}
# CLIENT_EFS: the client-side pass sweeps ef finely, so that each engine is
# compared at its own cheapest ef that reaches recall@10 >= 0.99.
CLIENT_EFS=${CLIENT_EFS:-"12 16 20 24 28 32 36 40 48 64 100 200"}
PGBIN=${PGBIN:-$(pg_config --bindir)}
PORT=${PORT:-55491}
PY=${PY:-/usr/bin/python3}
WORK=${WORK:-$(mktemp -d /tmp/instsim-hnsw-bench.XXXXXX)}
VECTORS=${VECTORS:-$here/../../../shared/bench/vectors.py}
OUT=${OUT:-$here/results.jsonl}
chmod 777 "$WORK"
CLIENT=1
if ! "$PY" -c 'import psycopg' 2>/dev/null; then
	echo "no psycopg for $PY (Debian: python3-psycopg): skipping the client-side pass" >&2
	CLIENT=0
fi

source "$here/../lib.sh"
psql_() { as_pg "$PGBIN/psql" -X -q -h "$WORK" -p "$PORT" -d postgres -v ON_ERROR_STOP=1 "$@"; }
ms() { grep -o 'Time: [0-9.]*' | awk '{s+=$2} END {print s}'; }

bench_cluster_start "shared_buffers = 1GB
maintenance_work_mem = 2GB
max_parallel_maintenance_workers = $PARALLEL"

psql_ -c "CREATE EXTENSION instsim"
PGV=0
if psql_ -Atc "SELECT 1 FROM pg_available_extensions WHERE name = 'vector'" | grep -q 1; then
	psql_ -c "CREATE EXTENSION vector"; PGV=1
fi
echo "# $(date -u +%FT%TZ) N=$N NQ=$NQ dim=$DIM m=$M ef_construction=$EFC workers=$PARALLEL cpu=$(lscpu | sed -n 's/^Model name: *//p') load=$(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT"

# CPU time (user + system, in clock ticks) of the backend serving the session:
# unlike wall time, it hardly depends on what else the machine is doing.
CPU_SQL="SELECT 'cpu:' || (split_part(pg_read_file('/proc/self/stat'), ' ', 14)::bigint + split_part(pg_read_file('/proc/self/stat'), ' ', 15)::bigint);"

# Engine names, and each one's table and ef_search setting.
engine_of() { if [ "$1" = float ]; then echo instsim; else echo "instsim-$1"; fi; }
table_of() { case $1 in pgvector) echo t_pv ;; instsim) echo t_is ;; *) echo "t_is_${1#instsim-}" ;; esac; }
guc_of() { if [ "$1" = pgvector ]; then echo hnsw.ef_search; else echo instsim.ef_search; fi; }

# One engine's table: the vectors loaded, the index built BUILDS times with
# PARALLEL workers (best build time, every one, and the size recorded), its
# queries written.
load_and_build() {	# engine column-type kind "am (emb opclass) WITH (...)"
	local t times=() build size
	t=$(table_of "$1")
	psql_ -c "DROP TABLE IF EXISTS $t; CREATE TABLE $t (id int, emb $2($DIM)) WITH (parallel_workers = $PARALLEL);" \
		-c "\\copy $t FROM '$WORK/x.tsv'" -c "VACUUM ANALYZE $t"
	for _ in $(seq "$BUILDS"); do
		psql_ -c "DROP INDEX IF EXISTS ${t}_emb_idx"
		build=$(psql_ -c "\\timing on" -c "CREATE INDEX ON $t USING $4" | ms)
		times+=("$(echo "$build/1000" | bc -l | xargs printf '%.2f')")
	done
	size=$(psql_ -Atc "SELECT pg_relation_size('${t}_emb_idx')")
	echo "{\"kind\":\"$3\",\"engine\":\"$1\",\"workers\":$PARALLEL,\"build_s\":$(printf '%s\n' "${times[@]}" | sort -g | head -1),\"builds_s\":[$(IFS=,; echo "${times[*]}")],\"size_mb\":$((size / 1048576))}" | tee -a "$OUT"
	for ef in $EFS; do make_queries "$1" "$t" "$2" "$(guc_of "$1")" "$ef"; done
}

# Q-file for one engine and ef: one prepared statement, NQ executions.
make_queries() {	# engine table type guc ef
	{
		[ -n "$4" ] && echo "SET $4 = $5;"
		echo "PREPARE q($3) AS SELECT string_agg(id::text, ',') FROM (SELECT id FROM $2 ORDER BY emb <=> \$1 LIMIT 10) s;"
		echo "$CPU_SQL"
		cut -f2 "$WORK/q.tsv" | sed "s/.*/EXECUTE q('&');/"
		echo "$CPU_SQL"
	} > "$WORK/q_$1_$5.sql"
}

# One warm-up pass, then PASSES timed ones; the best pass counts (the least
# disturbed by other load).  Prints "qps cpu_ms_per_query recall".
run_queries() {	# engine ef
	local f="$WORK/q_$1_$2.sql" out="$WORK/res_$1_$2.txt" t0 t1 times=() cpus=()
	psql_ -At -f "$f" > /dev/null
	for _ in $(seq "$PASSES"); do
		t0=$(date +%s.%N); psql_ -At -f "$f" > "$out"; t1=$(date +%s.%N)
		times+=("$(echo "$t1 - $t0" | bc -l)")
		cpus+=("$(grep '^cpu:' "$out" | cut -d: -f2 | paste -sd' ' | awk '{print $2 - $1}')")
	done
	local qps cpu rec
	qps=$(printf '%s\n' "${times[@]}" | sort -g | head -1 | awk -v n="$NQ" '{printf "%.0f", n / $1}')
	cpu=$(printf '%s\n' "${cpus[@]}" | sort -g | head -1 |
		awk -v n="$NQ" -v hz="$(getconf CLK_TCK)" '{printf "%.2f", $1 * 1000 / hz / n}')
	grep -v '^cpu:' "$out" > "$out.ids"
	rec=$("$PY" "$here/recall.py" "$WORK/truth.txt" "$out.ids")
	echo "$qps $cpu $rec"
}

for kind in $KINDS; do
	if [ "$kind" = tracks ]; then
		# real embeddings: every segment of a corpus, as instsim-eval wrote them
		"$PY" "$here/track_vectors.py" "$TRACKS" "$WORK/x.tsv" "$WORK/q.tsv" "$NQ"
		echo "# tracks: $(wc -l < "$WORK/x.tsv") vectors from $TRACKS" | tee -a "$OUT"
	else
		"$PY" "$VECTORS" "$kind" "$N" "$DIM" 1 "$WORK/x.tsv"
		"$PY" "$VECTORS" "$kind" "$NQ" "$DIM" 2 "$WORK/q.tsv"
	fi
	chmod a+r "$WORK"/*.tsv
	"$PY" "$here/truth.py" "$WORK/x.tsv" "$WORK/q.tsv" > "$WORK/truth.txt"

	engines=""
	for st in $STORAGE; do
		engines="$engines $(engine_of "$st")"
		load_and_build "$(engine_of "$st")" embedding "$kind" \
			"instsim_hnsw (emb embedding_cosine_ops) WITH (m = $M, ef_construction = $EFC, storage = '$st')"
	done
	if [ "$PGV" = 1 ]; then
		engines="$engines pgvector"
		load_and_build pgvector vector "$kind" "hnsw (emb vector_cosine_ops) WITH (m = $M, ef_construction = $EFC)"
	fi
	# Alternate the engines per ef so machine noise hits both alike.
	for ef in $EFS; do
		for e in $engines; do
			read -r qps cpu rec < <(run_queries "$e" "$ef")
			echo "{\"kind\":\"$kind\",\"engine\":\"$e\",\"ef\":$ef,\"qps\":$qps,\"cpu_ms\":$cpu,\"recall\":$rec}" | tee -a "$OUT"
		done
	done
	# As an application sees it: one psycopg client, one query per statement.
	if [ "$CLIENT" = 1 ] && [ -n "$EFS" ]; then
		for ef in $CLIENT_EFS; do
			for e in $engines; do
				as_pg "$PY" "$here/client.py" "host=$WORK port=$PORT dbname=postgres" "$kind" "$e" \
					"$(table_of "$e")" "$(guc_of "$e")" "$WORK/q.tsv" "$WORK/truth.txt" "$PASSES" "$ef" | tee -a "$OUT"
			done
		done
	fi
	# Where a query's time goes in the serving backend (perf, as root).
	if [ -n "${PROFILE_EF:-}" ] && [ "$(id -u)" = 0 ] && command -v perf >/dev/null; then
		for e in $engines; do
			as_pg "$PY" "$here/profile_client.py" "host=$WORK port=$PORT dbname=postgres" \
				"$(table_of "$e")" "$(guc_of "$e")" "$PROFILE_EF" "$WORK/q.tsv" 12 > "$WORK/prof.out" &
			sleep 2
			perf record -F 2000 -p "$(head -1 "$WORK/prof.out")" -o "$WORK/perf.data" -- sleep 8 >/dev/null 2>&1
			wait
			perf report -i "$WORK/perf.data" --no-children --sort dso,sym --stdio -g none 2>/dev/null |
				"$PY" "$here/profile_split.py" "$kind" "$e" "$PROFILE_EF" "$(tail -1 "$WORK/prof.out")" \
					"$PGBIN/postgres" | tee -a "$OUT"
		done
	fi
	if [ -n "$EFS" ]; then
		"$PY" "$here/hnswlib_ref.py" "$WORK/x.tsv" "$WORK/q.tsv" "$WORK/truth.txt" "$kind" $EFS | tee -a "$OUT"
	fi
	for e in $engines; do psql_ -c "DROP TABLE IF EXISTS $(table_of "$e")"; done
done
