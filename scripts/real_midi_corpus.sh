#!/usr/bin/env bash
# Renders the real-MIDI corpus (issue #14's training data): every MIDI song of
# Debian's freedoom (the music lumps of freedoom1.wad and freedoom2.wad) and
# freedink-data (its .mid files), each played by one of three General MIDI
# soundfonts (FluidR3_GM, TimGM6mb, MuseScore_General_Lite) drawn from the seed
# and the song, so that models do not learn one soundfont's timbres.  Then the
# paper's selection and split, and a summary: songs, tracks that qualified,
# hours of audio, tracks per soundfont, wall time.
#
# Installs those packages first (as root, apt-get update first): they are
# large and only this script needs them, so they stay out of
# scripts/debian-packages.txt; the tests build their own tiny WAD.
#
#   bash scripts/real_midi_corpus.sh OUT [JOBS]
#
# Environment: SEED (the soundfont draw, default 0), CHOICE (song or stem,
# default song: a track played by one soundfont only can be held out by
# soundfont later), MAX_SECONDS (longest song rendered, default 900).
source "$(dirname "$0")/lib.sh"
cd "$INSTSIM_ROOT"

OUT=${1:?usage: $0 OUT [JOBS]}
JOBS=${2:-$(nproc)}
SEED=${SEED:-0} CHOICE=${CHOICE:-song} MAX_SECONDS=${MAX_SECONDS:-900}
PACKAGES=(freedoom freedink-data fluid-soundfont-gm timgm6mb-soundfont
	musescore-general-soundfont-small)

ensure_deps
ensure_packages "${PACKAGES[@]}"
make -s -j"$JOBS" WERROR=1 build/instsim-synth

# Paths as the packages install them (regular files only: the sf2/sf3
# directories also hold default-GM symlinks to one of these).
files_of() { dpkg -L "$1" | grep -E "$2" | while read -r f; do [[ -f $f && ! -L $f ]] && echo "$f"; done; }
inputs=()
for f in $(files_of freedoom '\.wad$'); do inputs+=(--midi "$f"); done
# freedink-data: the directories holding its MIDI files, through the directory mode
for d in $(files_of freedink-data '\.midi?$' | xargs -r -n1 dirname | sort -u); do
	inputs+=(--midi "$d")
done
fonts=()
for pkg in fluid-soundfont-gm timgm6mb-soundfont musescore-general-soundfont-small; do
	for f in $(files_of "$pkg" '\.sf[23]$'); do fonts+=(--soundfont "$f"); done
done
((${#inputs[@]} >= 6 && ${#fonts[@]} == 6)) ||
	{ log "expected 2 WADs, MIDI directories and 3 soundfonts; found ${inputs[*]} ${fonts[*]}"; exit 1; }

mkdir -p "$(dirname "$OUT")" # instsim-synth makes OUT, not its parents
log "rendering into $OUT with $JOBS jobs (soundfont per $CHOICE, seed $SEED)"
start=$(date +%s)
build/instsim-synth render "${inputs[@]}" "${fonts[@]}" --soundfont-choice "$CHOICE" \
	--seed "$SEED" --max-seconds "$MAX_SECONDS" --out "$OUT" --jobs "$JOBS" 2>&1 |
	tee "$OUT.log" | grep -v ' tracks \(rendered\|checked\), '
wall=$(($(date +%s) - start))

# Durations from each mix.flac's STREAMINFO (total samples / rate).
python3 - "$OUT" "$wall" <<'EOF'
import collections, glob, os, re, sys

root, wall = sys.argv[1], int(sys.argv[2])
tracks = sorted(glob.glob(os.path.join(root, "Track*", "metadata.yaml")))
lists, key = collections.defaultdict(list), None
for line in open(os.path.join(root, "split.yaml")):
    if line.startswith("- "):
        lists[key].append(line[2:].strip())
    elif ":" in line:
        key = line.split(":")[0]
chosen = set(lists["train"]) | set(lists["test"])
seconds = {"all": 0.0, "selected": 0.0}
fonts = collections.Counter()
sources = collections.Counter()
for meta in tracks:
    track = os.path.basename(os.path.dirname(meta))
    with open(os.path.join(os.path.dirname(meta), "mix.flac"), "rb") as f:
        head = f.read(26)
    v = int.from_bytes(head[18:26], "big")
    s = (v & ((1 << 36) - 1)) / (v >> 44)
    text = open(meta).read()
    src = re.search(r"^source: (.*)$", text, re.M).group(1)
    kind = src.split(":")[0] if ".wad:" in src else "freedink-data"
    sources[kind, track in chosen] += 1
    fonts[tuple(sorted(set(re.findall(r"^\s+soundfont: (.*)$", text, re.M))))] += 1
    seconds["all"] += s
    seconds["selected"] += s * (track in chosen)
print(f"songs rendered: {len(tracks)}; qualified (>= 40 non-silent windows in mix, drums, "
      f"bass, piano and guitar): {len(chosen)}")
for kind in sorted({k for k, _ in sources}):
    print(f"  {kind}: {sources[kind, True] + sources[kind, False]} rendered, {sources[kind, True]} qualified")
print(f"audio: {seconds['all'] / 3600:.2f} h in all, {seconds['selected'] / 3600:.2f} h in the "
      f"qualified tracks (mix length; each track also has its stems)")
for f, n in sorted(fonts.items()):
    print(f"  tracks played by {' + '.join(f)}: {n}")
print(f"wall time: {wall} s")
EOF
