#!/usr/bin/env bash
# Runs every test: C unit tests, pg_regress (SQL surface) on a throw-away
# cluster, and the TAP tests (crash recovery, replication, concurrency, dump).
# Ends with "N passed, N failed"; exits non-zero if anything failed.
source "$(dirname "$0")/lib.sh"
cd "$INSTSIM_ROOT"

ensure_deps
ensure_citus
build_install
make -s unit
logs="$INSTSIM_ROOT/.tmp/logs"
rm -rf "$logs" && mkdir -p "$logs"
passed=0 failed=0

# Counts TAP result lines of one suite's verbose log; a suite that failed
# without reporting a failing test (crash, bad plan) counts as one failure.
count_tap() {
	local name=$1 rc=$2 log=$3 ok notok
	ok=$(grep -cE '^[[:space:]]*ok [0-9]+' "$log" || true)
	notok=$(grep -cE '^[[:space:]]*not ok [0-9]+' "$log" || true)
	if ((rc != 0 && notok == 0)); then notok=1; fi
	log "$name: $ok passed, $notok failed"
	passed=$((passed + ok)) failed=$((failed + notok))
}

log "unit tests"
rc=0
(cd test/unit && prove -v --exec '' ../../build/test_*) >"$logs/unit.log" 2>&1 || rc=$?
count_tap unit "$rc" "$logs/unit.log"

log "pg_regress"
cluster_start regress
rc=0
make -s installcheck >"$logs/regress.log" 2>&1 || rc=$?
cluster_stop
trap - EXIT
ok=$(grep -cE '\.\.\. ok' "$logs/regress.log" || true)
bad=$(grep -cE '\.\.\. FAILED' "$logs/regress.log" || true)
if ((rc != 0 && bad == 0)); then bad=1; fi
log "pg_regress: $ok passed, $bad failed"
((bad == 0)) || cat regression.diffs 2>/dev/null | head -100 || true
passed=$((passed + ok)) failed=$((failed + bad))

log "TAP tests"
# Headless Chromium (060_web) reserves about 100 GB of address space at start
# and dies under a lower limit; a root runner may lift the hard one (the soft
# one stays, and only the browser raises its own).
ulimit -H -v unlimited 2>/dev/null || true
log "address-space limit (ulimit -v): soft $(ulimit -S -v), hard $(ulimit -H -v)"
# PostgreSQL refuses to run as root, so the TAP suites run as postgres from a
# copy it can read.
tapdir=$(postgres_workdir tap)
cp -r test/t "$tapdir/t"
# the tools and the plot script too, for the end-to-end evaluation test
mkdir -p "$tapdir/bin"
cp build/instsim-* tools/plot_eval.py "$tapdir/bin/"
# and the audio and model fixtures, for the tests that embed
cp -r "${INSTSIM_FIXTURES:-build/fixtures}" "$tapdir/fixtures"
chown -R postgres: "$tapdir"
pgxs=$(dirname "$(dirname "$(dirname "$(pg_config --pgxs)")")")
rc=0
(cd "$tapdir" && runuser -u postgres -- env \
	PERL5LIB="$pgxs/src/test/perl" PG_REGRESS="$pgxs/src/test/regress/pg_regress" \
	PATH="$PATH" TESTDIR="$tapdir" INSTSIM_ROOT="$INSTSIM_ROOT" \
	INSTSIM_BIN="$tapdir/bin" INSTSIM_PLOT="$tapdir/bin/plot_eval.py" \
	INSTSIM_FIXTURES="$tapdir/fixtures" \
	prove -v t/*.pl) >"$logs/tap.log" 2>&1 || rc=$?
count_tap tap "$rc" "$logs/tap.log"
((rc == 0)) || grep -E 'not ok|Dubious|Failed|died' "$logs/tap.log" | head -40 || true

echo "$passed passed, $failed failed"
((failed == 0))
