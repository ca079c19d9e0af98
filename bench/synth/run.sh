#!/bin/sh
# Times instsim-synth on a generated corpus: rendering (2 jobs) and the
# selection pass, wall and CPU time.  Usage: bench/synth/run.sh [TRACKS] [OUT]
# (defaults: 200 tracks in a temporary directory, removed afterwards).
set -e
cd "$(dirname "$0")/../.."
tracks=${1:-200}
out=${2:-$(mktemp -d /tmp/instsim-synth-bench.XXXXXX)}
make -s build/instsim-synth
/usr/bin/time -f "generate: wall %e s, user %U s, sys %S s, max RSS %M KB" \
	build/instsim-synth generate --out "$out" --tracks "$tracks" --seed 1 --jobs 2 --no-select
/usr/bin/time -f "select: wall %e s, user %U s, sys %S s" \
	build/instsim-synth select "$out" --jobs 2
du -sh "$out"
[ -n "$2" ] || rm -rf "$out"
