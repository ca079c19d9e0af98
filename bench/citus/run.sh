#!/usr/bin/env bash
# One node against a Citus cluster (coordinator + WORKERS workers) on this
# machine, same data, same client: index build time, search queries/s and
# recall@10 (exact top 10 from numpy), per-shard search cost (for the
# projection to N machines), and embedding-fill throughput (seconds of audio
# embedded per second) on rendered songs.
#
# Usage (as root): bench/citus/run.sh
#   N=200000 NQ=300 SONGS=12 bench/citus/run.sh     # a quicker run
# Env: KIND (`clustered` (default), `lowdim`, `uniform` from ../shared/bench/vectors.py,
# or `segments`: every segment of the rendered songs under the five shipped models),
# N vectors (default 1000000) x 128,
# NQ queries, EFS ef_search values, SHARDS (shard counts to try, default "32 4"),
# POOL (citus.max_adaptive_executor_pool_size: connections per worker per query,
# default 1, which serves one client best when workers share the cores),
# WORKERS (2), SONGS rendered for the fill (24, 30 s each), OUT (results.jsonl).
# The single node and the cluster run one after the other, never side by side.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../../scripts/lib.sh"
KIND=${KIND:-clustered}; N=${N:-1000000}; NQ=${NQ:-1000}; DIM=128; EFS=${EFS:-"20 40 100 200 400"}
SHARDS=${SHARDS:-"32 4"}; POOL=${POOL:-1}; WORKERS=${WORKERS:-2}; SONGS=${SONGS:-24}
M=16; EFC=64
PY=${PY:-/usr/bin/python3}
VECTORS=${VECTORS:-$INSTSIM_ROOT/../shared/bench/vectors.py}
OUT=${OUT:-$here/results.jsonl}
ensure_deps
ensure_citus
build_install
make -C "$INSTSIM_ROOT" -s all
WORK=$(postgres_workdir citus-bench)

# ---- nodes ----------------------------------------------------------------------
PORTS=()
node_start() {	# name
	local port dir="$WORK/$1"
	port=$(free_port)
	as_postgres initdb -D "$dir" -A trust -U postgres >/dev/null
	cat >>"$dir/postgresql.conf" <<CONF
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$WORK'
shared_preload_libraries = 'citus'
shared_buffers = 1GB
maintenance_work_mem = 1GB
max_connections = 200
max_wal_size = 8GB
jit = off
citus.max_adaptive_executor_pool_size = $POOL
CONF
	as_pg_ctl "$1" start
	PORTS+=("$port")
	psql -X -q -h "$WORK" -p "$port" -U postgres -c 'CREATE EXTENSION citus'
}
as_pg_ctl() { as_postgres pg_ctl -D "$WORK/$1" -l "$WORK/$1.log" -w "$2" >/dev/null; }
psql_at() { local port=$1; shift; psql -X -q -At -h "$WORK" -p "$port" -U postgres -v ON_ERROR_STOP=1 "$@"; }
ms() { grep -o 'Time: [0-9.]*' | awk '{s+=$2} END {printf "%.2f", s / 1000}'; }
emit() { echo "{\"kind\":\"$KIND\",${1#\{}" | tee -a "$OUT"; }

# Runs the NQ queries as one prepared statement, after a warm-up pass;
# prints "qps recall".  ef_search is set on every node (ALTER SYSTEM).
queries() {	# port ef nodes...
	local port=$1 ef=$2 p f="$WORK/q.sql" t0 t1
	shift 2
	for p in "$@"; do
		psql_at "$p" -c "LOAD 'instsim'" -c "ALTER SYSTEM SET instsim.ef_search = $ef" -c 'SELECT pg_reload_conf()' >/dev/null
	done
	{
		echo "PREPARE q(embedding) AS SELECT string_agg(id::text, ',') FROM (SELECT id FROM vec ORDER BY e <=> \$1 LIMIT 10) s;"
		cut -f2 "$WORK/q.tsv" | sed "s/.*/EXECUTE q('&');/"
	} >"$f"
	head -n 101 "$f" >"$WORK/warm.sql"
	psql_at "$port" -f "$WORK/warm.sql" >/dev/null
	t0=$(date +%s.%N); psql_at "$port" -f "$f" >"$WORK/ids.txt"; t1=$(date +%s.%N)
	echo "$(echo "$NQ / ($t1 - $t0)" | bc -l | xargs printf '%.0f') $("$PY" "$here/../hnsw/recall.py" "$WORK/truth.txt" "$WORK/ids.txt")"
}

# The rendered songs' mixes as table song (id, audio, drums), distributed
# over the shards when asked.
load_songs() {	# port single|citus
	local port=$1
	psql_at "$port" -c "CREATE TABLE song (id int PRIMARY KEY, audio bytea, drums embedding(128))" \
		-c "ALTER TABLE song ALTER COLUMN audio SET STORAGE EXTERNAL"
	[ "$2" = citus ] &&
		psql_at "$port" -c "SELECT create_distributed_table('song', 'id', shard_count => ${SHARDS%% *})" >/dev/null
	nl -v1 -w1 -s$'\t' "$WORK/songs.txt" | while IFS=$'\t' read -r i path; do
		echo "INSERT INTO song VALUES ($i, pg_read_binary_file('$path'), NULL);"
	done | psql_at "$port" >/dev/null
}

# Embeds every song's mix with the shipped drums model; prints audio s per s.
fill() {	# port single|citus
	local port=$1 secs t
	load_songs "$port" "$2"
	secs=$(psql_at "$port" -c "SELECT sum((instsim_audio_info(audio)).seconds) FROM song")
	t=$(psql_at "$port" -c '\timing on' -c "SET client_min_messages = warning" \
		-c "CALL instsim_fill_embeddings('song', 'audio', 'drums', 'drums', batch_size => $SONGS)" | ms)
	echo "$(echo "$secs / $t" | bc -l | xargs printf '%.1f') $secs $t"
}

# KIND=segments: the search sets are real embeddings, every 3-s segment of
# the rendered songs under each shipped model (one pool, as a catalogue's
# moment search would hold them); every 20th segment is a query.
segment_vectors() {
	node_start segsrc
	local p=${PORTS[0]}
	psql_at "$p" -c 'CREATE EXTENSION instsim'
	load_songs "$p" single
	psql_at "$p" -c "SET client_min_messages = warning" -c "CREATE TABLE seg AS
		SELECT row_number() OVER (ORDER BY s.id, m.ord, x.seg)::int AS id, x.emb
		FROM song s, unnest(ARRAY['mix', 'drums', 'bass', 'piano', 'guitar']) WITH ORDINALITY m(name, ord),
		     instsim_segments(s.audio, m.name) x" \
		-c "\\copy (SELECT id, emb FROM seg WHERE id % 20 <> 0 ORDER BY id) TO '$WORK/x.tsv'" \
		-c "\\copy (SELECT id, emb FROM seg WHERE id % 20 = 0 ORDER BY id) TO '$WORK/q.tsv'"
	as_pg_ctl segsrc stop
	PORTS=()
}

# ---- inputs -------------------------------------------------------------------
log "rendering $SONGS songs"
"$INSTSIM_ROOT/build/instsim-synth" generate --out "$WORK/corpus" --tracks "$SONGS" \
	--seed 7 --seconds 30 --jobs "$(nproc)" >/dev/null
find "$WORK/corpus" -name mix.flac | sort >"$WORK/songs.txt"
chmod -R a+rX "$WORK"
if [ "$KIND" = segments ]; then
	segment_vectors
	N=$(wc -l <"$WORK/x.tsv"); NQ=$(wc -l <"$WORK/q.tsv")
else
	"$PY" "$VECTORS" "$KIND" "$N" "$DIM" 1 "$WORK/x.tsv"
	"$PY" "$VECTORS" "$KIND" "$NQ" "$DIM" 2 "$WORK/q.tsv"
fi
log "vectors: $N x $DIM $KIND, $NQ queries"
"$PY" "$here/../hnsw/truth.py" "$WORK/x.tsv" "$WORK/q.tsv" >"$WORK/truth.txt"
echo "# $(date -u +%FT%TZ) kind=$KIND N=$N NQ=$NQ shards=$SHARDS pool=$POOL workers=$WORKERS songs=$SONGS m=$M ef_construction=$EFC cpu=$(lscpu | sed -n 's/^Model name: *//p') cores=$(nproc)" | tee -a "$OUT"

# ---- one node -----------------------------------------------------------------------
log "one node"
node_start single
P=${PORTS[0]}
psql_at "$P" -c 'CREATE EXTENSION instsim' -c "CREATE TABLE vec (id int PRIMARY KEY, e embedding($DIM))" \
	-c "\\copy vec FROM '$WORK/x.tsv'" -c 'VACUUM ANALYZE vec'
build=$(psql_at "$P" -c '\timing on' -c "CREATE INDEX vec_e ON vec USING instsim_hnsw (e embedding_cosine_ops) WITH (m = $M, ef_construction = $EFC)" | ms)
emit "{\"setup\":\"one node\",\"build_s\":$build,\"index_mb\":$(($(psql_at "$P" -c "SELECT pg_relation_size('vec_e')") / 1048576))}"
for ef in $EFS; do
	read -r qps rec < <(queries "$P" "$ef" "$P")
	emit "{\"setup\":\"one node\",\"ef\":$ef,\"qps\":$qps,\"recall\":$rec}"
done
read -r rate secs t < <(fill "$P" single)
emit "{\"setup\":\"one node\",\"fill_audio_s_per_s\":$rate,\"audio_s\":$secs,\"fill_s\":$t}"
as_pg_ctl single stop
PORTS=()

# ---- Citus ------------------------------------------------------------------------------
log "Citus: coordinator + $WORKERS workers, $SHARDS shards"
node_start coordinator
for ((w = 1; w <= WORKERS; w++)); do node_start "worker$w"; done
C=${PORTS[0]}
psql_at "$C" -c "SELECT citus_set_coordinator_host('127.0.0.1', $C)" >/dev/null
for p in "${PORTS[@]:1}"; do psql_at "$C" -c "SELECT citus_add_node('127.0.0.1', $p)" >/dev/null; done
psql_at "$C" -c 'CREATE EXTENSION instsim'
for shards in $SHARDS; do
	log "$shards shards"
	psql_at "$C" -c 'DROP TABLE IF EXISTS vec' -c "CREATE TABLE vec (id int PRIMARY KEY, e embedding($DIM))" \
		-c "SELECT create_distributed_table('vec', 'id', shard_count => $shards)" >/dev/null
	psql_at "$C" -c "\\copy vec FROM '$WORK/x.tsv'" -c 'VACUUM ANALYZE vec'
	build=$(psql_at "$C" -c '\timing on' -c "CREATE INDEX vec_e ON vec USING instsim_hnsw (e embedding_cosine_ops) WITH (m = $M, ef_construction = $EFC)" | ms)
	index_bytes=0
	for p in "${PORTS[@]:1}"; do	# Citus hides shards from pg_class unless told
		index_bytes=$((index_bytes + $(psql_at "$p" -c 'SET citus.override_table_visibility = off' \
			-c "SELECT coalesce(sum(pg_relation_size(oid)), 0) FROM pg_class WHERE relname ~ '^vec_e_[0-9]+$'")))
	done
	emit "{\"setup\":\"citus\",\"shards\":$shards,\"build_s\":$build,\"index_mb\":$((index_bytes / 1048576))}"
	# the shards' planners must pick their index (the cost estimate at this size)
	plan=$(psql_at "$C" -c "EXPLAIN SELECT id FROM vec ORDER BY e <=> '$(head -1 "$WORK/q.tsv" | cut -f2)' LIMIT 10")
	emit "{\"setup\":\"citus\",\"shards\":$shards,\"shard_plan_uses_index\":$(grep -q 'Index Scan using vec_e_' <<<"$plan" && echo true || echo false)}"
	shard=$(psql_at "$C" -c "SELECT shard_name, nodeport FROM citus_shards WHERE table_name = 'vec'::regclass ORDER BY shardid LIMIT 1")
	for ef in $EFS; do
		read -r qps rec < <(queries "$C" "$ef" "${PORTS[@]}")
		# one shard's cost, for the projection: the same queries on one shard
		# table directly on its worker (planning each time, as Citus's tasks do)
		sed -e "s/FROM vec /FROM ${shard%%|*} /" -e 's/^EXECUTE q(\(.*\));$/SELECT string_agg(id::text, \x27,\x27) FROM (SELECT id FROM '"${shard%%|*}"' ORDER BY e <=> \1 LIMIT 10) s;/' \
			"$WORK/q.sql" | grep -v '^PREPARE' >"$WORK/q1.sql"
		psql_at "${shard##*|}" -f "$WORK/q1.sql" >/dev/null
		t0=$(date +%s.%N); psql_at "${shard##*|}" -f "$WORK/q1.sql" >/dev/null; t1=$(date +%s.%N)
		emit "{\"setup\":\"citus\",\"shards\":$shards,\"ef\":$ef,\"qps\":$qps,\"recall\":$rec,\"one_shard_ms\":$(echo "($t1 - $t0) * 1000 / $NQ" | bc -l | xargs printf '%.3f')}"
	done
done
SHARDS=${SHARDS%% *}
read -r rate secs t < <(fill "$C" citus)
emit "{\"setup\":\"citus\",\"fill_audio_s_per_s\":$rate,\"audio_s\":$secs,\"fill_s\":$t}"
for n in coordinator $(seq -f 'worker%g' 1 "$WORKERS"); do as_pg_ctl "$n" stop; done
