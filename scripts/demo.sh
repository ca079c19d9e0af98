#!/usr/bin/env bash
# Sets everything up and runs the demo on a throw-away local cluster: installs
# missing Debian packages, builds and installs the extension, starts a cluster
# in .tmp/ on a free port, runs scripts/demo.sql, and stops the cluster.
source "$(dirname "$0")/lib.sh"
cd "$INSTSIM_ROOT"

ensure_deps
build_install
cluster_start demo
psql -X -q -v ON_ERROR_STOP=1 -f scripts/demo.sql
log "demo finished; the cluster is stopped"
