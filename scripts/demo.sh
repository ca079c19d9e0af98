#!/usr/bin/env bash
# Sets everything up and runs the demo on a throw-away local cluster: installs
# missing Debian packages, builds and installs the extension and the tools,
# renders a small catalogue of songs (instsim-synth: per-instrument stems and
# the mix, from generated MIDI through FluidSynth), starts a cluster in .tmp/
# on a free port, embeds every track per instrument with the shipped models,
# runs the similarity queries of scripts/demo.sql, and stops the cluster.
#
#   bash scripts/demo.sh [--web]
#
# --web: afterwards serves the catalogue page (instsim-web, with the listening
# test) on 127.0.0.1 until Ctrl-C, then stops the cluster.
source "$(dirname "$0")/lib.sh"
cd "$INSTSIM_ROOT"

web=0
case "${1:-}" in
	--web) web=1 ;;
	"") ;;
	*) echo "usage: bash scripts/demo.sh [--web]" >&2; exit 2 ;;
esac

ensure_deps
build_install
work=$(postgres_workdir demo-corpus)
log "rendering 12 songs of 40 s into $work"
build/instsim-synth generate --out "$work/corpus" --tracks 12 --seed 11 --seconds 40 \
	--no-select --jobs "$(nproc)" 2>&1 | tail -n 1
scripts/demo_catalogue.sh "$work/corpus" >"$work/catalogue.tsv"
chmod -R a+rX "$work"
cluster_start demo
psql -X -q -v catalogue="$work/catalogue.tsv" -f scripts/demo.sql
if ((web)); then
	webport=$(free_port)
	log "serving the catalogue: open http://127.0.0.1:$webport/ (the listening test: /#listen); Ctrl-C stops it and the cluster"
	# 10 pairs per instrument for the listening test; ratings are stored
	build/instsim-web --port "$webport" --meta genre,tempo,key --ratings --draw 10 || true
fi
log "demo finished; the cluster is stopped"
