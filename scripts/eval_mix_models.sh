#!/usr/bin/env bash
# The remix test of mix-input models (issue #14) on generated songs that no
# model ever trained on, in three sets:
#   test        40 songs, seed 7: 39 held out (--test-fraction 0.99 keeps one
#               in training, which the split format needs), 400 ordered pairs;
#               the set every figure in the docs is quoted on.
#   validation  40 songs, seed 11, the same way: where variants are chosen, so
#               that the test songs stay out of every choice.
#   pooled      the 78 songs of both, 800 pairs: steadier remix and Pearson
#               figures (Pearson on one set of 39 moves by up to 0.2 between
#               sets).  Its music-ID figure is not the others': 78 candidate
#               songs make recognising one harder than 39 do.  Every set also
#               reports music-ID on sets of 19 of its songs, the paper's test
#               size (instsim-eval --music-id-tracks), which compares across
#               the three and with the paper.
# MODELS holds X_mix.safetensors and the stem model X.safetensors of each
# instrument evaluated (the shipped models/ will do).  Each set is rendered
# once into $WORK (about 2 min for 40 songs on 2 cores); a rendering differs
# slightly from one machine to another, so compare figures within one $WORK.
# Environment overrides: WORK, THREADS, INSTRUMENTS (a subset), SETS (a subset
# of "test validation pooled").
#
#   bash scripts/eval_mix_models.sh models .tmp/remix-eval   # OUT/{test,validation,pooled}/remix.md
source "$(dirname "$0")/lib.sh"
cd "$INSTSIM_ROOT"

MODELS=${1:?usage: eval_mix_models.sh MODELS OUT} OUT=${2:?usage: eval_mix_models.sh MODELS OUT}
WORK=${WORK:-$INSTSIM_ROOT/.tmp/remix-sets} THREADS=${THREADS:-$(nproc)}
INSTRUMENTS=${INSTRUMENTS:-drums bass piano guitar} SETS=${SETS:-test validation pooled}

# render_set NAME SEED: 40 songs into $WORK/NAME and its split, unless there
render_set() {
	local dir=$WORK/$1
	ensure_corpus "$dir" 40 "$2" 75 "$THREADS"
	[[ -f $dir/all.yaml ]] && return
	build/instsim-synth select "$dir/corpus" --test-fraction 0.99 --split-out "$dir/all.yaml.part"
	mv "$dir/all.yaml.part" "$dir/all.yaml"
}

# pooled: both sets' songs linked into one corpus (TrackA*: test, TrackB*:
# validation, as ensure_combined names its parts) and their held-out songs
pool_sets() {
	local dir=$WORK/pooled t
	mkdir -p "$dir/corpus"
	for t in "$WORK"/test/corpus/Track*; do ln -sfn "$(realpath "$t")" "$dir/corpus/TrackA${t##*/Track}"; done
	for t in "$WORK"/validation/corpus/Track*; do ln -sfn "$(realpath "$t")" "$dir/corpus/TrackB${t##*/Track}"; done
	python3 scripts/split_lists.py pool "$WORK/test/all.yaml" TrackA "$WORK/validation/all.yaml" TrackB "$dir/all.yaml"
}

ensure_deps
make -s -j"$(nproc)" WERROR=1 all
render_set test 7
render_set validation 11
[[ " $SETS " == *" pooled "* ]] && pool_sets
mkdir -p "$OUT"
for set in $SETS; do
	pairs=400
	[[ $set == pooled ]] && pairs=800
	log "remix test of $MODELS on the $set songs ($pairs pairs)"
	build/instsim-eval --remix --corpus "$WORK/$set/corpus" --split "$WORK/$set/all.yaml" \
		--models "$MODELS" --remix-pairs "$pairs" --out "$OUT/$set" --jobs "$THREADS" \
		--instruments "${INSTRUMENTS// /,}"
done
log "results in $OUT/{${SETS// /,}}/remix.md"
