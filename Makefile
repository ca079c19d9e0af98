# instsim: per-instrument music similarity for PostgreSQL (PGXS build).
#
# Sources are picked up by directory so that adding a file never needs a
# Makefile edit.  Plain C without PostgreSQL headers, in layers that include
# only downward:
#   src/core/      shared base: distances, worker threads, error messages, SIMD
#   src/frontend/  audio decoding, segmentation, log-mel
#   src/nn/        layer table, inference kernels, model files, embed pipeline
#                  (these three are linked into instsim.so, the tools and tests)
#   src/train/     trainer, evaluation metrics, synthetic nets, audio encoding:
#                  the tools and the unit tests link it, the server never does
# and
#   src/pg/*.c     the server-side wrappers
#   src/sql/*.sql  pieces of the extension script, concatenated in name order
#                  into build/extension/ (installed as DATA_built)
#   sql/*.sql      pg_regress inputs (expected output in expected/)
#   test/unit/test_*.c  C unit tests (TAP output), run by `make unitcheck`
#   tools/*.c      CLI programs, built as build/instsim-*, over tools/lib,
#                  tools/music, tools/corpus (and tools/eval for instsim-eval,
#                  tools/web for instsim-web)

EXTENSION  = instsim
EXTVERSION = 0.1
MODULE_big = instsim

CORE_DIRS  := src/core src/frontend src/nn
CORE_SRCS  := $(sort $(foreach d,$(CORE_DIRS),$(wildcard $(d)/*.c)))
TRAIN_SRCS := $(sort $(wildcard src/train/*.c))
PG_SRCS    := $(sort $(wildcard src/pg/*.c))
CORE_OBJS  := $(CORE_SRCS:.c=.o)
TRAIN_OBJS := $(TRAIN_SRCS:.c=.o)
OBJS        = $(CORE_OBJS) $(PG_SRCS:.c=.o)
# what the tools and the unit tests link
HOST_OBJS   = $(CORE_OBJS) $(TRAIN_OBJS)
# what the tools and unit tests include from the core and the trainer: their
# host-compiled objects and binaries record no header dependencies of their own
HOST_HDRS   = $(foreach d,$(CORE_DIRS) src/train,$(wildcard $(d)/*.h))

SQL_PARTS := $(sort $(wildcard src/sql/*.sql))
EXT_SQL    = build/extension/$(EXTENSION)--$(EXTVERSION).sql
DATA_built = $(EXT_SQL)

REGRESS   = $(sort $(patsubst sql/%.sql,%,$(wildcard sql/*.sql)))
REGRESS_OPTS = --load-extension=$(EXTENSION)

# The AVX-512/AVX2 variants are chosen at run time, so the build itself stays
# portable (no -march=native).  -fopenmp-simd only enables `#pragma omp simd`
# (vectorised reductions without -ffast-math); no OpenMP runtime is linked.
# -isystem: PostgreSQL's own headers are not ours to keep -Wextra clean.
# src/train is not on the server's include path, so server code cannot use it.
PG_CPPFLAGS = $(addprefix -I,$(CORE_DIRS)) -Isrc/pg -isystem $(shell $(PG_CONFIG) --includedir-server)
# -Wno-unused-parameter: V1 functions and index AM callbacks have fixed
# signatures whose arguments are not always all needed.
# -MMD -MP: each object also records the headers it read (*.d, included at the
# end), so that changing a header rebuilds what uses it; PGXS tracks them only
# for PostgreSQL builds configured with --enable-depend.
PG_CFLAGS   = -std=gnu11 -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers \
              -fopenmp-simd -O2 $(if $(WERROR),-Werror) -MMD -MP
CORE_LIBS   = -lfftw3f -lopenblas -lsndfile -lsamplerate -lm -lpthread -ljson-c -lnettle
SHLIB_LINK  = $(CORE_LIBS)

EXTRA_CLEAN = build $(TRAIN_OBJS)

# No LLVM bitcode: JIT inlining buys nothing for functions that are long
# loops over vectors, and the bitcode would be compiled by clang, which lacks
# GCC builtins and target_clones semantics that the SIMD kernels rely on.
override with_llvm = no

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# (pgxs.mk overrides CPPFLAGS, so the addition must override too)
$(TRAIN_OBJS): override CPPFLAGS += -Isrc/train

$(EXT_SQL): $(SQL_PARTS)
	mkdir -p $(@D)
	cat $^ > $@

# Shipped models go to <share>/extension/instsim_models/NAME.safetensors, where
# instsim_install_builtin_models() (run by CREATE EXTENSION) finds them; the
# directory is replaced as a whole so a removed model does not linger.
MODELS     := $(wildcard models/*.safetensors)
MODELS_DIR  = $(DESTDIR)$(datadir)/extension/instsim_models
.PHONY: install-models uninstall-models
install: install-models
install-models:
	rm -rf '$(MODELS_DIR)'
	$(MKDIR_P) '$(MODELS_DIR)'
	$(if $(MODELS),$(INSTALL_DATA) $(MODELS) '$(MODELS_DIR)/')
uninstall: uninstall-models
uninstall-models:
	rm -rf '$(MODELS_DIR)'

# ---- unit tests and tools link the core and training objects built above --
UNIT_SRCS := $(sort $(wildcard test/unit/test_*.c))
UNIT_BINS := $(patsubst test/unit/%.c,build/%,$(UNIT_SRCS))
TOOL_SRCS := $(sort $(wildcard tools/*.c))
TOOL_BINS := $(patsubst tools/%.c,build/instsim-%,$(TOOL_SRCS))
# (no -MMD for the programs: each is compiled and linked in one step, relinked
# whenever an object changes, and build/ must hold only programs: prove runs
# build/test_*)
HOST_CFLAGS = $(filter-out -fvisibility=hidden -MMD -MP,$(CFLAGS) $(PG_CFLAGS)) \
              $(addprefix -I,$(CORE_DIRS)) -Isrc/train -Itest/unit

build:
	mkdir -p build

build/test_%: test/unit/test_%.c $(HOST_OBJS) $(HOST_HDRS) test/unit/tap.h | build
	$(CC) $(HOST_CFLAGS) -o $@ $< $(HOST_OBJS) $(CORE_LIBS)

# Code shared by the CLI tools only, in layers that include only downward:
# tools/lib (plumbing) <- tools/music (song generation, MIDI, WAD input, rendering) <-
# tools/corpus (layout, split, select, caches).  It needs libyaml and
# FluidSynth, so it stays out of the server library (OBJS).  Unit tests named
# test_tool_*.c link it too.
TOOL_LIB_DIRS := tools/lib tools/music tools/corpus
TOOL_LIB_SRCS := $(sort $(foreach d,$(TOOL_LIB_DIRS),$(wildcard $(d)/*.c)))
TOOL_LIB_OBJS := $(TOOL_LIB_SRCS:.c=.o)
TOOL_LIB_HDRS := $(foreach d,$(TOOL_LIB_DIRS),$(wildcard $(d)/*.h))
TOOL_CFLAGS  = $(addprefix -I,$(TOOL_LIB_DIRS))
TOOL_LIBS   = -lyaml -lfluidsynth -lsndfile -lsamplerate -lpthread -lm
EXTRA_CLEAN += $(TOOL_LIB_OBJS)

$(TOOL_LIB_OBJS): %.o: %.c $(TOOL_LIB_HDRS) $(HOST_HDRS)
	$(CC) $(HOST_CFLAGS) $(TOOL_CFLAGS) -c -o $@ $<

build/test_tool_%: test/unit/test_tool_%.c $(HOST_OBJS) $(HOST_HDRS) $(TOOL_LIB_OBJS) test/unit/tap.h | build
	$(CC) $(HOST_CFLAGS) $(TOOL_CFLAGS) $(TOOL_EXTRA_CFLAGS) -o $@ $< $(TOOL_EXTRA_OBJS) $(TOOL_LIB_OBJS) $(HOST_OBJS) $(TOOL_LIBS) $(CORE_LIBS) $(TOOL_EXTRA_LIBS)

build/instsim-%: tools/%.c $(HOST_OBJS) $(TOOL_LIB_OBJS) | build
	$(CC) $(HOST_CFLAGS) $(TOOL_CFLAGS) $(TOOL_EXTRA_CFLAGS) -o $@ $< $(TOOL_EXTRA_OBJS) $(TOOL_LIB_OBJS) $(HOST_OBJS) $(TOOL_LIBS) $(CORE_LIBS) $(TOOL_EXTRA_LIBS)

# instsim-eval alone talks to PostgreSQL (libpq); its own files live in
# tools/eval/ so that the other tools do not link them.
EVAL_SRCS := $(sort $(wildcard tools/eval/*.c))
EVAL_OBJS := $(EVAL_SRCS:.c=.o)
EVAL_CFLAGS = -Itools/eval -I$(shell $(PG_CONFIG) --includedir)
EXTRA_CLEAN += $(EVAL_OBJS)
$(EVAL_OBJS): tools/eval/%.o: tools/eval/%.c $(wildcard tools/eval/*.h) $(TOOL_LIB_HDRS) $(HOST_HDRS)
	$(CC) $(HOST_CFLAGS) $(TOOL_CFLAGS) $(EVAL_CFLAGS) -c -o $@ $<
build/instsim-eval build/test_tool_eval: $(EVAL_OBJS)
build/instsim-eval build/test_tool_eval: TOOL_EXTRA_CFLAGS = $(EVAL_CFLAGS)
build/instsim-eval build/test_tool_eval: TOOL_EXTRA_OBJS = $(EVAL_OBJS)
build/instsim-eval build/test_tool_eval: TOOL_EXTRA_LIBS = -lpq

# instsim-web (tools/web.c over tools/web/) serves a page with libmicrohttpd
# and libpq; its page (tools/web/assets/) is assembled into web_assets.o.
WEB_SRCS := $(sort $(wildcard tools/web/*.c))
WEB_OBJS := $(WEB_SRCS:.c=.o)
WEB_CFLAGS = -Itools/web -I$(shell $(PG_CONFIG) --includedir)
EXTRA_CLEAN += $(WEB_OBJS)
$(WEB_OBJS): tools/web/%.o: tools/web/%.c $(wildcard tools/web/*.h) $(TOOL_LIB_HDRS) $(HOST_HDRS)
	$(CC) $(HOST_CFLAGS) $(TOOL_CFLAGS) $(WEB_CFLAGS) -c -o $@ $<
tools/web/web_assets.o: $(wildcard tools/web/assets/*)
build/instsim-web build/test_tool_web: $(WEB_OBJS)
build/instsim-web build/test_tool_web: TOOL_EXTRA_CFLAGS = $(WEB_CFLAGS)
build/instsim-web build/test_tool_web: TOOL_EXTRA_OBJS = $(WEB_OBJS)
build/instsim-web build/test_tool_web: TOOL_EXTRA_LIBS = -lmicrohttpd -lpq

all: $(TOOL_BINS)

# Audio and model fixtures for the SQL tests (see test/fixtures/make_fixtures.c),
# generated so that no binary test files are committed; the tests load them
# client-side with psql's \lo_import from $INSTSIM_FIXTURES.
export INSTSIM_FIXTURES ?= $(CURDIR)/build/fixtures
build/make_fixtures: test/fixtures/make_fixtures.c $(HOST_OBJS) | build
	$(CC) $(HOST_CFLAGS) -o $@ $< $(HOST_OBJS) $(CORE_LIBS)

.PHONY: fixtures
installcheck: fixtures
fixtures: build/make_fixtures build/instsim-makemodel
	mkdir -p '$(INSTSIM_FIXTURES)'
	build/make_fixtures '$(INSTSIM_FIXTURES)'
	build/instsim-makemodel '$(INSTSIM_FIXTURES)/model1.safetensors' 1 mix >/dev/null
	build/instsim-makemodel '$(INSTSIM_FIXTURES)/model2.safetensors' 2 mix >/dev/null
	build/instsim-makemodel '$(INSTSIM_FIXTURES)/drums_mix.safetensors' 3 drums mix >/dev/null

.PHONY: unit tools unitcheck tapcheck
unit: $(UNIT_BINS)
tools: $(TOOL_BINS)

# Each unit test is a TAP producer; prove runs them directly (--exec '').
unitcheck: unit
	cd test/unit && prove --exec '' $(addprefix ../../,$(UNIT_BINS))

# TAP tests start their own clusters with PostgreSQL::Test::Cluster against
# the installed server and extension.
tapcheck:
	PERL5LIB=$(dir $(PGXS))../test/perl:$$PERL5LIB PG_REGRESS=$(dir $(PGXS))../test/regress/pg_regress \
	PATH=$(shell $(PG_CONFIG) --bindir):$$PATH \
	prove $(PROVE_FLAGS) test/t/*.pl

# the header dependencies recorded by -MMD (see PG_CFLAGS)
SRC_DIRS  := $(CORE_DIRS) src/train src/pg
DEP_FILES := $(wildcard $(addsuffix /*.d,$(SRC_DIRS)))
EXTRA_CLEAN += $(addsuffix /*.d,$(SRC_DIRS))
-include $(DEP_FILES)
