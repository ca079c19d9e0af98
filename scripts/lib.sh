# Shared helpers for the demo and test scripts (sourced, not run).
# Everything here works on a fresh Debian 12 machine as root.

set -euo pipefail

INSTSIM_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# INSTSIM_PG_BIN: another PostgreSQL 15 build (a relocated copy lets several
# checkouts install and test side by side without sharing one extension dir).
PG_BIN=${INSTSIM_PG_BIN:-/usr/lib/postgresql/15/bin}
export PATH="$PG_BIN:$PATH"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# Installs the packages of scripts/debian-packages.txt that are missing.
ensure_deps() {
	local pkgs=()
	while read -r pkg; do
		[[ -z "$pkg" || "$pkg" == \#* ]] && continue
		pkgs+=("$pkg")
	done <"$INSTSIM_ROOT/scripts/debian-packages.txt"
	ensure_packages "${pkgs[@]}"
}

# Installs those of the Debian packages named that are missing (the
# scripts' own, beyond debian-packages.txt: soundfonts, PyTorch, ...).
ensure_packages() {
	local missing=() pkg
	for pkg in "$@"; do
		dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" ||
			missing+=("$pkg")
	done
	if ((${#missing[@]})); then
		log "installing Debian packages: ${missing[*]}"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	fi
}

# Citus (for the scale-out tests, demo and benchmark) from the tarball and
# script in ../shared/anchors, built once into the system PostgreSQL (~5 min).
# Not for a relocated INSTSIM_PG_BIN copy: those run without Citus.
ensure_citus() {
	local script="$INSTSIM_ROOT/../shared/anchors/install-citus.sh"
	[[ -f "$(pg_config --pkglibdir)/citus.so" ]] && return 0
	if [[ -n "${INSTSIM_PG_BIN:-}" ]]; then
		log "INSTSIM_PG_BIN is set: no Citus there, its tests will be skipped"
	elif [[ -f "$script" ]]; then
		log "building Citus into PostgreSQL 15 (once, about 5 minutes)"
		bash "$script" || log "Citus could not be built (see above): the Citus tests will be skipped"
	else
		log "no $script: the Citus tests will be skipped"
	fi
}

build_install() {
	log "building and installing the extension"
	make -C "$INSTSIM_ROOT" -s -j"$(nproc)" WERROR=1 all
	make -C "$INSTSIM_ROOT" -s install >/dev/null
}

# A directory the postgres OS user can write: inside the checkout when the
# path is reachable for it (the embedded default), else under /tmp.
postgres_workdir() {
	local name=$1
	local dir="$INSTSIM_ROOT/.tmp/$name"
	mkdir -p "$INSTSIM_ROOT/.tmp"
	if as_postgres test -x "$INSTSIM_ROOT/.tmp"; then
		rm -rf "$dir" && mkdir -p "$dir"
	else
		dir=$(mktemp -d "/tmp/instsim-$name.XXXXXX")
	fi
	chown postgres: "$dir"
	echo "$dir"
}

# Runs a command as the postgres OS user from a directory it can enter.
as_postgres() {
	(cd / && runuser -u postgres -- "$@")
}

# A free TCP port on loopback, from INSTSIM_PORTS (FIRST-LAST, default
# 54330-54430: checkouts that run side by side can keep to their own ranges).
free_port() {
	local port range=${INSTSIM_PORTS:-54330-54430}
	for port in $(seq "${range%-*}" "${range#*-}"); do
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return
		fi
	done
	echo "no free port in $range" >&2
	return 1
}

# Starts a throw-away cluster; exports PGHOST/PGPORT/PGUSER for clients and
# CLUSTER_DIR for cluster_stop.
cluster_start() {
	CLUSTER_DIR=$(postgres_workdir "${1:-cluster}")
	export CLUSTER_DIR
	PGPORT=$(free_port)
	export PGPORT PGHOST="$CLUSTER_DIR" PGUSER=postgres PGDATABASE=postgres
	log "starting a throw-away cluster in $CLUSTER_DIR (port $PGPORT)"
	as_postgres initdb -D "$CLUSTER_DIR/data" -A trust -U postgres >/dev/null
	as_postgres pg_ctl -D "$CLUSTER_DIR/data" -l "$CLUSTER_DIR/server.log" -w \
		-o "-p $PGPORT -k $CLUSTER_DIR -c listen_addresses=127.0.0.1" start >/dev/null
	trap cluster_stop EXIT
}

cluster_stop() {
	if [[ -n "${CLUSTER_DIR:-}" && -f "$CLUSTER_DIR/data/postmaster.pid" ]]; then
		as_postgres pg_ctl -D "$CLUSTER_DIR/data" -m fast -w stop >/dev/null || true
	fi
}

# Renders the generated training corpus into $1/corpus unless it is there:
# ensure_corpus WORK TRACKS SEED SECONDS JOBS.  The seed fixes every song, so
# scripts that share WORK share one corpus and its mel cache.
ensure_corpus() {
	local work=$1 tracks=$2 seed=$3 seconds=$4 jobs=$5
	[[ -f "$work/corpus/split.yaml" ]] && return
	log "generating $tracks songs (seed $seed) into $work/corpus"
	mkdir -p "$work"
	"$INSTSIM_ROOT/build/instsim-synth" generate --out "$work/corpus" --tracks "$tracks" \
		--seed "$seed" --seconds "$seconds" --jobs "$jobs"
}

# Links the generated corpus ($1/corpus), the real-MIDI one ($2) and, given
# $3, a further generated corpus into one corpus directory, $1/combined or $4,
# so that one split file lists tracks of all: links named Track* (the
# layout's rule), G for generated, R for real, H for the further songs.
ensure_combined() {
	local work=$1 real=$2 extra=${3:-} out=${4:-$1/combined} t
	mkdir -p "$out"
	rm -f "$out"/Track* # links to songs since removed must go
	for t in "$work"/corpus/Track*; do ln -sfn "$(realpath "$t")" "$out/TrackG${t##*/Track}"; done
	for t in "$real"/Track*; do ln -sfn "$(realpath "$t")" "$out/TrackR${t##*/Track}"; done
	[[ -z $extra ]] && return
	for t in "$extra"/Track*; do ln -sfn "$(realpath "$t")" "$out/TrackH${t##*/Track}"; done
}

# The split of instrument $2 over $1/combined: every track with >= 40
# non-silent windows of the mix and of the instrument (real songs often lack
# a piano), the real songs played by soundfont $3 held out as test, the rest
# for training.  Writes $1/combined/split-$2.yaml unless it is there, made
# with the same test soundfont (recorded beside it).
ensure_real_split() {
	local work=$1 inst=$2 soundfont=$3 jobs=$4
	local split=$work/combined/split-$inst.yaml
	[[ -f $split && "$(cat "$split.soundfont" 2>/dev/null)" == "$soundfont" ]] && return
	"$INSTSIM_ROOT/build/instsim-synth" select "$work/combined" --instrument "$inst" \
		--test-soundfont "$soundfont" --split-out "$split" --jobs "$jobs"
	printf '%s' "$soundfont" >"$split.soundfont"
}

# The training split of the shipped models for instrument $2: split-$2.yaml's
# training tracks (ensure_real_split) less the generated corpus's own test
# tracks, which become its test list; the real test songs stay out of both.
# Writes $1/combined/split-ship-$2.yaml.
ensure_ship_split() {
	local work=$1 inst=$2
	ensure_real_split "$@"
	python3 "$INSTSIM_ROOT/scripts/split_lists.py" ship "$work/combined/split-$inst.yaml" \
		"$work/corpus/split.yaml" "$work/combined/split-ship-$inst.yaml"
}

# The ship split of INST with every song of the EXTRA corpus added to its
# training list, in the corpus COMBINED_EXTRA (ensure_combined with EXTRA).
ensure_extra_split() {
	local work=$1 inst=$2 extra=$3 combined_extra=$4
	python3 "$INSTSIM_ROOT/scripts/split_lists.py" extend "$work/combined/split-ship-$inst.yaml" \
		"$extra/split.yaml" TrackH "$combined_extra/split-extra-$inst.yaml"
}

# The split whose test list is held-out set $3 of instrument $2: "generated"
# (the generated corpus's test tracks) or "real" (the real songs of the test
# soundfont).
held_out_split() {
	local work=$1 inst=$2 held=$3
	if [[ $held == real ]]; then echo "$work/combined/split-$inst.yaml"; else echo "$work/combined/split-ship-$inst.yaml"; fi
}

# A model of $2 (mix, or an instrument's stem model) as scripts/train_models.sh
# makes the shipped ones (its ship split of the combined corpus in $1, $3
# epochs, $THREADS threads), with seed $4, written to $5 (its log beside it,
# .log).  Deterministic: the same inputs make the same file.
train_stem_model() {
	local comb=$1/combined inst=$2 epochs=$3 seed=$4 out=$5
	build/instsim-train --corpus "$comb" --split "$comb/split-ship-$inst.yaml" --instrument "$inst" \
		--out "$out" --epochs "$epochs" --seed "$seed" --threads "$THREADS" \
		--cache "$comb/.instsim-cache" --checkpoint "${out%.safetensors}.ckpt" 2>&1 | tee "${out%.safetensors}.log"
}

# The value for instrument $2 in a list like "drums:6 bass:12", else $3.
per_instrument() {
	local v
	v=$(tr ' ' '\n' <<<"$1" | sed -n "s/^$2://p")
	echo "${v:-$3}"
}
