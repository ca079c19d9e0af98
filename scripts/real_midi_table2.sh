#!/usr/bin/env bash
# Issue #14's stem-model test on real music: the paper's Table II (music-ID
# by 5-NN vote) on real-MIDI songs the models never trained on, played by a
# soundfont they never heard.  Per instrument X:
#   - the split: every track of the generated corpus (scripts/train_models.sh,
#     FluidR3 only) and of the real-MIDI corpus (scripts/real_midi_corpus.sh:
#     one of three soundfonts per song) that has >= 40 non-silent windows of
#     the mix and of X (`instsim-synth select --instrument X`: real songs often
#     lack a piano), the real songs played by $TEST_SOUNDFONT held out as test
#     (`--test-soundfont`), all other qualifying tracks for training;
#   - the shipped model of X, and a model of X trained on that training list
#     ($EPOCHS epochs, seed 1, the last epoch kept: the test is never looked
#     at while training), both evaluated on the test list.
# A long job (about 40 min on 2 cores): run it by hand, not in CI.
#
#   bash scripts/real_midi_table2.sh     # results in $WORK/real-table2/table2.md
source "$(dirname "$0")/lib.sh"
cd "$INSTSIM_ROOT"

WORK=${WORK:-$INSTSIM_ROOT/.tmp/train} REAL=${REAL:-$INSTSIM_ROOT/.tmp/real/corpus}
TEST_SOUNDFONT=${TEST_SOUNDFONT:-MuseScore_General_Lite} EPOCHS=${EPOCHS:-6}
THREADS=${THREADS:-$(nproc)} INSTRUMENTS=${INSTRUMENTS:-mix drums bass piano guitar}
OUT=$WORK/real-table2 COMB=$WORK/combined

ensure_deps
make -s -j"$(nproc)" WERROR=1 all
ensure_corpus "$WORK" 100 2026 75 "$THREADS"
[[ -f $REAL/split.yaml ]] || bash scripts/real_midi_corpus.sh "$REAL" "$THREADS"

ensure_combined "$WORK" "$REAL"
mkdir -p "$OUT"

rows=()
for inst in $INSTRUMENTS; do
	ensure_real_split "$WORK" "$inst" "$TEST_SOUNDFONT" "$THREADS"
	split=$COMB/split-$inst.yaml
	model=$OUT/trained/$inst.safetensors
	mkdir -p "$OUT/trained" "$OUT/shipped"
	if [[ ! -f $model ]]; then
		log "training $inst on generated and real songs ($EPOCHS epochs)"
		build/instsim-train --corpus "$COMB" --split "$split" --instrument "$inst" \
			--out "$model.part" --epochs "$EPOCHS" --seed 1 --threads "$THREADS" \
			--eval-every "$EPOCHS" --cache "$COMB/.instsim-cache" 2>&1 | tee "$OUT/$inst.log"
		mv "$model.part" "$model"
	fi
	cp "models/$inst.safetensors" "$OUT/shipped/"
	for which in shipped trained; do
		build/instsim-eval --corpus "$COMB" --split "$split" --models "$OUT/$which" \
			--instruments "$inst" --out "$OUT/eval-$which-$inst" --jobs "$THREADS" >/dev/null
	done
	rows+=("$inst")
done

# One table: per instrument, test and training tracks, the two models' accuracy, the paper's.
python3 - "$OUT" "$COMB" "${rows[@]}" <<'EOF' | tee "$OUT/table2.md"
import csv, os, sys

sys.path.insert(0, "scripts")
from split_lists import lists

out, comb, insts = sys.argv[1], sys.argv[2], sys.argv[3:]
paper = {"mix": 90.52, "drums": 93.68, "bass": 84.63, "piano": 92.17, "guitar": 87.59}

def accuracy(d, inst):
    for row in csv.DictReader(open(os.path.join(d, "table2.csv"))):
        if row["instrument"] == inst:
            return float(row["accuracy_mean_percent"]), int(row["segments"])
    return float("nan"), 0

print("| instrument | test tracks (segments) | training tracks | shipped model % | trained with real songs % | paper % |")
print("|---|---|---|---|---|---|")
for inst in insts:
    split = lists(os.path.join(comb, f"split-{inst}.yaml"))
    shipped, segs = accuracy(os.path.join(out, f"eval-shipped-{inst}"), inst)
    trained, _ = accuracy(os.path.join(out, f"eval-trained-{inst}"), inst)
    print(f"| {inst} | {len(split['test'])} ({segs}) | {len(split['train'])} | "
          f"{shipped:.2f} | {trained:.2f} | {paper[inst]} |")
EOF
