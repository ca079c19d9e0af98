#!/usr/bin/env bash
# A Citus cluster on this machine: one coordinator and two workers, each its
# own PostgreSQL cluster on a loopback port, with Citus and instsim on every
# node (CREATE EXTENSION on the coordinator reaches the workers, shipped
# models included).  For trying the scale-out on one box; on real machines
# the same settings apply per node (README, "Scaling out with Citus").
#
#   bash scripts/citus_cluster.sh start     # builds what is missing, prints how to connect
#   bash scripts/citus_cluster.sh stop
#   bash scripts/citus_cluster.sh status
# Env: WORKERS (default 2).
source "$(dirname "$0")/lib.sh"
cd "$INSTSIM_ROOT"
WORKERS=${WORKERS:-2}
state="$INSTSIM_ROOT/.tmp/citus.env"

node_conf() {	# port
	cat <<CONF
port = $1
listen_addresses = '127.0.0.1'
unix_socket_directories = '$CLUSTER_DIR'
shared_preload_libraries = 'citus'
max_connections = 200
# a stopped worker is reported after 5 s instead of the default 30
citus.node_connection_timeout = 5000
# SET LOCAL instsim.* (ef_search, iterative_scan) inside a transaction
# reaches the shards' sessions too
citus.propagate_set_commands = 'local'
CONF
}

start() {
	[[ -f "$state" ]] && { log "a cluster is running (stop it first): $(cat "$state" | tr "\n" " ")"; exit 1; }
	ensure_deps
	ensure_citus
	[[ -f "$(pg_config --pkglibdir)/citus.so" ]] || { log "Citus could not be installed"; exit 1; }
	build_install
	CLUSTER_DIR=$(postgres_workdir citus)
	local ports=() port i
	for ((i = 0; i <= WORKERS; i++)); do
		port=$(free_port)
		as_postgres initdb -D "$CLUSTER_DIR/node$i" -A trust -U postgres >/dev/null
		node_conf "$port" >>"$CLUSTER_DIR/node$i/postgresql.conf"
		as_postgres pg_ctl -D "$CLUSTER_DIR/node$i" -l "$CLUSTER_DIR/node$i.log" -w start >/dev/null
		psql -X -q -h "$CLUSTER_DIR" -p "$port" -U postgres -c 'CREATE EXTENSION citus'
		ports+=("$port")
	done
	local coord="psql -X -q -h $CLUSTER_DIR -p ${ports[0]} -U postgres"
	$coord -c "SELECT citus_set_coordinator_host('127.0.0.1', ${ports[0]})" >/dev/null
	for port in "${ports[@]:1}"; do
		$coord -c "SELECT citus_add_node('127.0.0.1', $port)" >/dev/null
	done
	$coord -c 'CREATE EXTENSION instsim'
	printf 'CLUSTER_DIR=%s\nPORTS="%s"\n' "$CLUSTER_DIR" "${ports[*]}" >"$state"
	log "coordinator: psql -h $CLUSTER_DIR -p ${ports[0]} -U postgres   (workers on ports ${ports[*]:1})"
}

stop() {
	[[ -f "$state" ]] || { log "no cluster started from this checkout"; return; }
	source "$state"
	local i=0 port
	for port in $PORTS; do
		as_postgres pg_ctl -D "$CLUSTER_DIR/node$i" -m fast -w stop >/dev/null || true
		i=$((i + 1))
	done
	rm -f "$state"
	log "stopped"
}

status() {
	[[ -f "$state" ]] || { log "no cluster started from this checkout"; return 1; }
	source "$state"
	set -- $PORTS
	psql -X -h "$CLUSTER_DIR" -p "$1" -U postgres -c 'SELECT nodename, nodeport, noderole, isactive FROM pg_dist_node ORDER BY nodeid'
}

case "${1:-start}" in
start) start ;;
stop) stop ;;
status) status ;;
*) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
