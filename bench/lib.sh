# Shared by the benchmarks that run their own throw-away cluster (bench/hnsw,
# bench/catalogue).  Set PGBIN, WORK (the cluster's directory and socket) and
# PORT before sourcing.

as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

# A cluster in $WORK/data with the settings every benchmark wants (no JIT, room
# for WAL, socket in $WORK) plus the caller's lines ($1); `reuse` as $2 starts
# an existing one.  Stopped when the calling shell exits.
bench_cluster_start() {	# "extra conf lines" [reuse]
	if [ "${2:-}" != reuse ]; then
		as_pg "$PGBIN/initdb" -D "$WORK/data" >/dev/null
		cat >> "$WORK/data/postgresql.conf" <<CONF
port = $PORT
listen_addresses = ''
unix_socket_directories = '$WORK'
max_wal_size = 8GB
jit = off
$1
CONF
	fi
	as_pg "$PGBIN/pg_ctl" -D "$WORK/data" -l "$WORK/server.log" -w start >/dev/null
	trap 'as_pg "$PGBIN/pg_ctl" -D "$WORK/data" -m fast stop >/dev/null' EXIT
}
