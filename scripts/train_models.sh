#!/usr/bin/env bash
# Trains the five shipped models (mix, drums, bass, piano, guitar) the way the
# ones in models/ were made, and evaluates them: a generated corpus (fixed
# seed), the paper's selection (>= 40 non-silent 3-s segments per instrument)
# and split, triplet training with the paper's loss, batch and segment count,
# then instsim-eval on the held-out tracks.  A long job: run it by hand, not in
# CI.  Environment overrides: TRACKS, SECONDS_PER_SONG, SEED, EPOCHS, THREADS, WORK.
#
#   bash scripts/train_models.sh    # writes models/*.safetensors and the evaluation
source "$(dirname "$0")/lib.sh"
cd "$INSTSIM_ROOT"

TRACKS=${TRACKS:-100} SEGSECONDS=${SECONDS_PER_SONG:-75} SEED=${SEED:-2026}
EPOCHS=${EPOCHS:-6} THREADS=${THREADS:-$(nproc)} WORK=${WORK:-$INSTSIM_ROOT/.tmp/train}

ensure_deps
make -s -j"$(nproc)" WERROR=1 all
ensure_corpus "$WORK" "$TRACKS" "$SEED" "$SEGSECONDS" "$THREADS"
for inst in mix drums bass piano guitar; do
	log "training $inst ($EPOCHS epochs)"
	build/instsim-train --corpus "$WORK/corpus" --instrument "$inst" \
		--out "$WORK/$inst.safetensors" --epochs "$EPOCHS" --seed 1 --threads "$THREADS" \
		--keep-best --checkpoint "$WORK/$inst.ckpt" 2>&1 | tee "$WORK/$inst.log"
	cp "$WORK/$inst.safetensors" models/
done
log "evaluating on the held-out tracks"
build/instsim-eval --corpus "$WORK/corpus" --models models --out "$WORK/eval" --jobs "$THREADS"
log "models written to models/; evaluation in $WORK/eval"
