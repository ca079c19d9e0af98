#!/usr/bin/env bash
# Writes a TSV describing the tracks of a generated corpus, one line each:
#   track  genre  tempo  key  mix  drums  bass  piano  guitar
# (file paths; empty when the track has no stem of that class).  The corpus
# tool writes one stem per instrument class and a "source" line such as
#   'instsim-synth generate --seed 1, track 1: funk 100 bpm 4/4 F# minor, ...'
# which is where the catalogue metadata of the demo comes from.
set -euo pipefail
corpus=$1
for dir in "$corpus"/Track*/; do
	track=$(basename "$dir")
	awk -v track="$track" -v dir="${dir%/}" '
		/^source:/ {
			if (match($0, /: [a-z&-]+ [0-9]+ bpm [0-9]+\/[0-9]+ [A-G][#b]? (major|minor)/)) {
				split(substr($0, RSTART + 2, RLENGTH - 2), w, " ")
				genre = w[1]; tempo = w[2]; key = w[5] " " w[6]
			}
		}
		/^  S[0-9]+:/ { stem = substr($1, 1, length($1) - 1) }
		/inst_class:/ {
			cls = $2
			if (cls == "Drums" || cls == "Bass" || cls == "Piano" || cls == "Guitar")
				if (!(cls in path)) path[cls] = dir "/stems/" stem ".flac"
		}
		END {
			printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", track, genre, tempo, key,
				dir "/mix.flac", path["Drums"], path["Bass"], path["Piano"], path["Guitar"]
		}' "$dir/metadata.yaml"
done
