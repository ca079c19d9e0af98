#!/usr/bin/env bash
# The catalogue questions at scale, on a throw-away cluster:
#   weighted  N_TRACKS tracks (default 100 000) with drums and bass (128-d,
#             independent `clustered` sets), both indexed; instsim_weighted_like
#             (drums like track a, bass like track b, weights 1 and 0.5) against
#             the exact weighted scan: recall@10 and server-side latency, without
#             and with a filter (year >= 2000, one track in 3), at each ef_search;
#             plus the rows each index stream read.
#   moments   SEG_TRACKS x SEGS segments (default 20 000 x 50 = 1 M rows, 128-d,
#             scattered around their track's point); the instsim_hnsw build time
#             and size; instsim_moments (per_track 1) against the exact per-track
#             scan: recall@10 and latency, without and with a filter, at each
#             ef_search.
# Usage: bench/catalogue/run.sh [weighted] [moments]      (default: both)
#   N_TRACKS=20000 SEG_TRACKS=2000 NQ=50 bench/catalogue/run.sh   # a quick run
#   REUSE=/tmp/instsim-catalogue-bench.XXXX bench/catalogue/run.sh  # measure again
#       on the cluster a run left there (its data, indexes and exact answers)
# Each line of results.jsonl is one measurement; RESULTS.md reads them.
# Env: PGBIN (server binaries, default pg_config --bindir), PORT, WORK (scratch
# dir), PY (a python3 with numpy, default /usr/bin/python3), EFS, NQ.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
PARTS=${*:-weighted moments}
N_TRACKS=${N_TRACKS:-100000}; SEG_TRACKS=${SEG_TRACKS:-20000}; SEGS=${SEGS:-50}
NQ=${NQ:-200}; EFS=${EFS:-"40 100 400"}
PGBIN=${PGBIN:-$(pg_config --bindir)}
PORT=${PORT:-55631}
PY=${PY:-/usr/bin/python3}
REUSE=${REUSE:-}
WORK=${REUSE:-${WORK:-$(mktemp -d /tmp/instsim-catalogue-bench.XXXXXX)}}
OUT=${OUT:-$here/results.jsonl}
chmod 777 "$WORK"
cp "$here/gen.py" "$WORK/"
export VECTORS_DIR=${VECTORS_DIR:-$(cd "$here/../../../shared/bench" && pwd)}

source "$here/../lib.sh"
psql_() { as_pg env VECTORS_DIR="$VECTORS_DIR" "$PGBIN/psql" -X -q -h "$WORK" -p "$PORT" -d postgres -v ON_ERROR_STOP=1 "$@"; }
secs() { grep -o 'Time: [0-9.]*' | awk '{s+=$2} END {printf "%.1f", s / 1000}'; }

bench_cluster_start "shared_buffers = 2GB
maintenance_work_mem = 2GB
max_parallel_maintenance_workers = 0
max_parallel_workers_per_gather = 0" "${REUSE:+reuse}"
[ -n "$REUSE" ] || psql_ -c "CREATE EXTENSION instsim"
echo "# $(date -u +%FT%TZ) reuse=${REUSE:-no} parts=[$PARTS] N_TRACKS=$N_TRACKS SEG_TRACKS=$SEG_TRACKS SEGS=$SEGS NQ=$NQ m=16 ef_construction=64 cpu=$(lscpu | sed -n 's/^Model name: *//p') load=$(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT"

# The measurement loop, per ef_search after one warm-up pass: for each query
# row of $3 (a table with a column q and truth ids int[] per filter f), times
# the call $2 (SQL giving the result's ids as int[], with r the query row) on
# the server and scores it against the truth; one JSON line per (ef, filter)
# named $1.
measure() {	# name call queries
	psql_ -At <<SQL | tee -a "$OUT"
CREATE TEMP TABLE res (ef int, f text, ms float8, recall float8);
DO \$\$
DECLARE r record; t0 timestamptz; got int[]; ef int;
BEGIN
	-- a warm-up pass, not recorded: the index pages into shared_buffers
	FOR r IN SELECT * FROM $3 LOOP
		got := $2;
	END LOOP;
	FOREACH ef IN ARRAY '{${EFS// /,}}'::int[] LOOP
		PERFORM set_config('instsim.ef_search', ef::text, false);
		FOR r IN SELECT * FROM $3 ORDER BY f, q LOOP
			t0 := clock_timestamp();
			got := $2;
			INSERT INTO res VALUES (ef, r.f, extract(epoch FROM clock_timestamp() - t0) * 1000,
				(SELECT count(*) FROM unnest(got) g WHERE g = ANY (r.ids))::float8 / cardinality(r.ids));
		END LOOP;
	END LOOP;
END \$\$;
SELECT json_build_object('part', '$1', 'ef_search', ef, 'filter', f, 'queries', count(*),
	'recall_at_10', round(avg(recall)::numeric, 4), 'min_recall', min(recall),
	'ms_mean', round(avg(ms)::numeric, 2),
	'ms_p50', round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 2),
	'ms_p95', round(percentile_cont(0.95) WITHIN GROUP (ORDER BY ms)::numeric, 2))
FROM res GROUP BY ef, f ORDER BY f, ef;
SQL
}

if [[ " $PARTS " == *" weighted "* ]]; then
	[ -n "$REUSE" ] || {
	t=$({ psql_ <<SQL; } 2>&1 | secs
CREATE TABLE track (id int PRIMARY KEY, year int, drums embedding(128), bass embedding(128));
\copy track FROM PROGRAM '$PY $WORK/gen.py tracks $N_TRACKS 11'
\timing on
CREATE INDEX track_drums ON track USING instsim_hnsw (drums embedding_cosine_ops);
CREATE INDEX track_bass ON track USING instsim_hnsw (bass embedding_cosine_ops);
\timing off
VACUUM ANALYZE track;
SQL
)
	psql_ -At -c "SELECT json_build_object('part', 'weighted-build', 'rows', count(*), 'build_s_two_indexes', $t,
		'index_mb_each', round(pg_relation_size('track_drums') / 1048576.0, 1)) FROM track" | tee -a "$OUT"
	# query pairs: drums of track a, bass of track b; truth by sequential scan
	t=$({ psql_ <<SQL; } 2>&1 | secs
CREATE TABLE wq AS SELECT i AS q, 1 + (i * 7919) % $N_TRACKS AS a, 1 + (i * 104729 + 17) % $N_TRACKS AS b
	FROM generate_series(1, $NQ) i;
\timing on
CREATE TABLE wtruth AS
SELECT q.q, q.a, q.b, f.f, ARRAY(SELECT id FROM track t
	WHERE id NOT IN (q.a, q.b) AND (f.f = 'none' OR year >= 2000)
	ORDER BY (t.drums <=> (SELECT drums FROM track WHERE id = q.a))
	       + 0.5 * (t.bass <=> (SELECT bass FROM track WHERE id = q.b)) LIMIT 10) AS ids
FROM wq q, (VALUES ('none'), ('year >= 2000')) f(f);
SQL
)
	echo "# exact weighted scans: ${t} s for $((NQ * 2)) queries" | tee -a "$OUT"
	}
	measure weighted "ARRAY(SELECT key FROM instsim_weighted_like('track', '{drums,bass}', ARRAY[r.a, r.b], '{1, 0.5}', 10, filter => nullif(r.f, 'none')))" wtruth
	# how deep the threshold algorithm reads each index (DEBUG1 lines)
	for f in none "year >= 2000"; do
		psql_ -At -c "SET client_min_messages = debug1" -c "SELECT count(*) FROM wq,
			instsim_weighted_like('track', '{drums,bass}', ARRAY[a, b], '{1, 0.5}', 10, filter => nullif('$f', 'none'))" 2>&1 |
			awk -v f="$f" '/rows read ordered by/ {s += $5; n++} END {printf "{\"part\": \"weighted-depth\", \"filter\": \"%s\", \"ef_search\": 40, \"rows_read_per_stream\": %.1f}\n", f, s / n}' |
			tee -a "$OUT"
	done
fi

if [[ " $PARTS " == *" moments "* ]]; then
	[ -n "$REUSE" ] || {
	t=$({ psql_ <<SQL; } 2>&1 | secs
CREATE TABLE seg (track_id int, start_s real, bass embedding(128), PRIMARY KEY (track_id, start_s));
\copy seg FROM PROGRAM '$PY $WORK/gen.py segments $SEG_TRACKS $SEGS 21'
VACUUM ANALYZE seg;
CHECKPOINT;
\timing on
CREATE INDEX seg_bass ON seg USING instsim_hnsw (bass embedding_cosine_ops);
SQL
)
	psql_ -At -c "SELECT json_build_object('part', 'moments-build', 'rows', count(*), 'build_s', $t,
		'build_s_per_million', round($t / (count(*) / 1e6), 1),
		'index_mb', round(pg_relation_size('seg_bass') / 1048576.0, 1),
		'index_mb_per_million', round(pg_relation_size('seg_bass') / 1048576.0 / (count(*) / 1e6), 1),
		'table_mb', round(pg_table_size('seg') / 1048576.0, 1)) FROM seg" | tee -a "$OUT"
	t=$({ psql_ <<SQL; } 2>&1 | secs
CREATE TABLE mq (q int, v embedding(128));
\copy mq FROM PROGRAM '$PY $WORK/gen.py queries $SEG_TRACKS $NQ 99'
\timing on
CREATE TABLE mtruth AS
SELECT q.q, q.v, f.f, ARRAY(SELECT track_id FROM seg WHERE f.f = 'none' OR track_id % 5 = 0
	GROUP BY track_id ORDER BY min(bass <=> q.v) LIMIT 10) AS ids
FROM mq q, (VALUES ('none'), ('track_id % 5 = 0')) f(f);
SQL
)
	echo "# exact per-track scans: ${t} s for $((NQ * 2)) queries" | tee -a "$OUT"
	}
	measure moments "ARRAY(SELECT track FROM instsim_moments('seg', 'bass', r.v, NULL::int, 10, filter => nullif(r.f, 'none')))" mtruth
fi
