/*
 * instsim-train: learns one instrument's similarity metric from a corpus in
 * the Slakh2100 layout, as the paper does: cosine triplet loss (margin 0.2),
 * anchor and positive from one track, negative from another, Adam, batches of
 * 64 triplets, the first 40 non-silent segments of each training track.
 *
 * Tracks come from ROOT/split.yaml (train list; the test list is used for the
 * held-out kNN accuracy), or every track under ROOT when there is no split.
 * Mel features are computed once and cached (see melcache.h).  One epoch uses
 * every training segment once as an anchor.  The model is written in the
 * project's safetensors format with the instrument and front end in its
 * metadata; --checkpoint saves the full training state after every epoch and
 * --resume continues from it.
 */
#include "errbuf.h"
#include "hash.h"
#include "melcache.h"
#include "remix_train.h"
#include "slakh.h"
#include "split.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "embed.h"
#include "eval.h"
#include "frozen_trunk.h"
#include "model.h"
#include "nn.h"
#include "parse_int.h"
#include "rng.h"
#include "train_ckpt.h"
#include "train_conv.h"
#include "train_step.h"

#define MAX_BLOCKS 8
#define KNN_K 5

typedef struct options
{
	const char *corpus;
	const char *out;
	const char *checkpoint;
	const char *resume;
	const char *cache;
	const char *split;
	slakh_inst	inst[SLAKH_N_INST];	/* one, or several heads on one trunk */
	int			n_inst;
	is_input_kind input;
	double		remix;
	bool		remix_other;	/* remixes hold the other stems */
	double		remix_own;		/* share of remixed positives from song A's own mix */
	double		remix_gain;		/* +- dB of each background part's level in remixes */
	bool		distill_own;	/* and those distilled toward the teacher's embedding
								 * of the stem in the same window */
	char	   *teacher[SLAKH_N_INST];	/* none, or one per instrument */
	int			n_teacher;
	float		distill_weight;
	float		distill_map;	/* weight of the feature-map hint (0: none) */
	int			epochs;
	int			batch;
	int			threads;
	int			segs;
	int			eval_every;
	int			keep_best;
	uint64_t	seed;
	float		lr;
	is_lr_schedule lr_schedule;
	float		weight_decay;
	is_mining	mining;
	int			mining_bank;	/* rows of earlier batches mining also looks at (0: none) */
	int			channels[MAX_BLOCKS];
	int			n_blocks;
	int			head_channels;	/* several instruments: own last block of this width each */
	int			emb_dim;
	char	   *trunk;			/* --trunk MODEL:BLOCKS, split at the colon */
	int			trunk_blocks;
} options;

static void
usage(FILE *f)
{
	fprintf(f,
			"usage: instsim-train --corpus DIR --instrument mix|drums|bass|piano|guitar\n"
			"                     --out MODEL.safetensors [options]\n"
			"  --input stem|mix        what the model hears: the instrument's own signal\n"
			"                          (stem), or the whole mix, answering for the\n"
			"                          instrument (mix; name such models INSTRUMENT_mix)\n"
			"  --instrument A,B,...    with --input mix: one trunk, a head per instrument,\n"
			"                          trained together; --out names each instrument's model\n"
			"                          with %%s (models/%%s_mix.safetensors)\n"
			"  --head-channels C       with several instruments: each head's own last conv\n"
			"                          block of C channels (0: heads share every block)\n"
			"  --remix P               with --input mix: this share of triplets remixed from\n"
			"                          the stems of different songs (docs/training.md) (0)\n"
			"  --remix-other yes|no    remixes hold the stems none of the four instruments\n"
			"                          uses (pads, organ, strings, leads) as songs do (yes)\n"
			"  --remix-own Q           this share of remixed triplets take the positive from\n"
			"                          the anchor song's own mix, not a remix (0)\n"
			"  --remix-gain DB         each other part of a remix at its stored level +- up\n"
			"                          to DB dB, drawn uniformly per part (0)\n"
			"  --distill-own yes|no    with --remix-own and --teacher: distil those positives\n"
			"                          too, toward the teacher's embedding of the stem in the\n"
			"                          same window of the song (no)\n"
			"  --teacher MODEL[,...]   with --remix: distil the instrument's stem model into\n"
			"                          the remixed rows (cosine distance to its embedding);\n"
			"                          one per instrument, in the same order; A+B+...: an\n"
			"                          ensemble of stem models, their mean direction (so\n"
			"                          no path may hold a '+')\n"
			"  --distill-weight W      of the distillation term against the triplet loss (1)\n"
			"  --distill-map W         with --teacher: also pull the map of the first trained\n"
			"                          block toward the teacher's map at the same depth\n"
			"                          (cosine distance), with weight W (0: not)\n"
			"  --epochs N              passes over the training segments (150)\n"
			"  --batch N               triplets per step (64)\n"
			"  --lr X                  Adam learning rate (0.001)\n"
			"  --lr-schedule constant|cosine  that rate throughout, or decayed over the\n"
			"                          run along half a cosine to near 0 (constant)\n"
			"  --weight-decay X        Adam weight decay (0)\n"
			"  --seed S                initialisation and sampling seed (1)\n"
			"  --threads N             worker threads (2)\n"
			"  --mining none|semihard|hard  negatives re-picked within the batch (none)\n"
			"  --mining-bank N         mining also looks at the last N rows of earlier\n"
			"                          batches, as embedded then (0)\n"
			"  --segments-per-track N  first N non-silent segments of a track (40)\n"
			"  --channels A,B,...      conv channels per block (16,32,64,128); with --trunk,\n"
			"                          of the blocks trained after the trunk's\n"
			"  --trunk MODEL:N         begin with MODEL's first N conv blocks, frozen, and\n"
			"                          train only the blocks after them; one call embedding\n"
			"                          with both models runs those blocks once (docs/training.md)\n"
			"  --embedding N           embedding size (128)\n"
			"  --eval-every N          held-out kNN accuracy every N epochs, 0: never (1)\n"
			"  --keep-best             write --out at each new best held-out accuracy and\n"
			"                          keep that one, not the last epoch's\n"
			"  --split FILE            train/test split (DIR/split.yaml)\n"
			"  --cache DIR             mel feature cache (DIR/.instsim-cache)\n"
			"  --checkpoint FILE       training state saved after every epoch\n"
			"  --resume FILE           continue from a checkpoint\n");
}

static int
parse_channels(const char *s, options *o)
{
	char	   *end;

	o->n_blocks = 0;
	do
	{
		long		v = strtol(s, &end, 10);

		if (end == s || v < 1 || v > 1024 || o->n_blocks == MAX_BLOCKS)
			return -1;
		o->channels[o->n_blocks++] = (int) v;
		s = end + (*end == ',');
	} while (*end == ',');
	return *end ? -1 : 0;
}


/* "yes" or "no" into *v; 0, or -1 for anything else. */
static int
parse_yes_no(const char *s, bool *v)
{
	if (strcmp(s, "yes") != 0 && strcmp(s, "no") != 0)
		return -1;
	*v = strcmp(s, "yes") == 0;
	return 0;
}

/* A comma-separated list into items[] (pointers into s, which is split); their count, or -1. */
static int
split_list(char *s, char **items, int max)
{
	int			n = 0;

	for (char *tok = strtok(s, ","); tok; tok = strtok(NULL, ","))
	{
		if (n == max)
			return -1;
		items[n++] = tok;
	}
	return n > 0 ? n : -1;
}

static int
parse_instruments(char *s, options *o)
{
	char	   *names[SLAKH_N_INST];
	int			n = split_list(s, names, SLAKH_N_INST);

	if (n < 0)
		return -1;
	for (int i = 0; i < n; i++)
	{
		int			inst = slakh_inst_parse(names[i]);

		if (inst < 0)
			return -1;
		for (int j = 0; j < i; j++)
			if (o->inst[j] == (slakh_inst) inst)
				return -1;
		o->inst[i] = (slakh_inst) inst;
	}
	o->n_inst = n;
	return 0;
}

/* MODEL:N, N conv blocks; the colon is the last one, so MODEL may hold others. */
static int
parse_trunk(char *s, options *o)
{
	char	   *colon = strrchr(s, ':');

	if (!colon || colon == s || parse_int(colon + 1, 1, MAX_BLOCKS, &o->trunk_blocks) < 0)
		return -1;
	*colon = '\0';
	o->trunk = s;
	return 0;
}

/* The path's only % starts a %s. */
static bool
one_placeholder(const char *path)
{
	const char *p = strchr(path, '%');

	return p && p[1] == 's' && !strchr(p + 1, '%');
}

/*
 * --out for instrument k: the path itself for one instrument; with several,
 * the path with its one %s replaced by the instrument's name.
 */
static void
out_path(const options *o, int k, char *buf, size_t len)
{
	const char *at = strstr(o->out, "%s");

	if (o->n_inst == 1 || !at)
		snprintf(buf, len, "%s", o->out);
	else
		snprintf(buf, len, "%.*s%s%s", (int) (at - o->out), o->out, slakh_inst_name(o->inst[k]), at + 2);
}

static int
parse_options(int argc, char **argv, options *o)
{
	static const struct option longopts[] = {
		{"corpus", required_argument, NULL, 'c'}, {"instrument", required_argument, NULL, 'i'},
		{"out", required_argument, NULL, 'o'}, {"epochs", required_argument, NULL, 'e'},
		{"batch", required_argument, NULL, 'b'}, {"lr", required_argument, NULL, 'l'},
		{"lr-schedule", required_argument, NULL, 'L'},
		{"weight-decay", required_argument, NULL, 'w'}, {"seed", required_argument, NULL, 's'},
		{"threads", required_argument, NULL, 't'}, {"mining", required_argument, NULL, 'm'},
		{"segments-per-track", required_argument, NULL, 'n'},
		{"channels", required_argument, NULL, 'C'}, {"embedding", required_argument, NULL, 'E'},
		{"eval-every", required_argument, NULL, 'v'}, {"cache", required_argument, NULL, 'k'},
		{"checkpoint", required_argument, NULL, 'p'}, {"resume", required_argument, NULL, 'r'},
		{"keep-best", no_argument, NULL, 'B'}, {"split", required_argument, NULL, 'S'},
		{"input", required_argument, NULL, 'I'}, {"remix", required_argument, NULL, 'X'},
		{"teacher", required_argument, NULL, 'T'}, {"distill-weight", required_argument, NULL, 'D'},
		{"head-channels", required_argument, NULL, 'H'}, {"remix-other", required_argument, NULL, 'O'}, {"trunk", required_argument, NULL, 'K'},
		{"mining-bank", required_argument, NULL, 'M'}, {"distill-map", required_argument, NULL, 'P'},
		{"remix-own", required_argument, NULL, 'Q'}, {"distill-own", required_argument, NULL, 'U'},
		{"remix-gain", required_argument, NULL, 'G'},
		{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}
	};
	int			c,
				li = 0;

	*o = (options) {.epochs = 150, .batch = 64, .threads = 2, .segs = 40, .eval_every = 1,
	.seed = 1, .lr = 1e-3f, .distill_weight = 1.0f, .remix_other = true, .channels = {16, 32, 64, 128}, .n_blocks = 4, .emb_dim = 128};
	while ((c = getopt_long(argc, argv, "", longopts, &li)) != -1)
	{
		int			bad = 0;
		char	   *end = NULL;

		switch (c)
		{
			case 'c': o->corpus = optarg; break;
			case 'o': o->out = optarg; break;
			case 'p': o->checkpoint = optarg; break;
			case 'r': o->resume = optarg; break;
			case 'k': o->cache = optarg; break;
			case 'S': o->split = optarg; break;
			case 'i': bad = parse_instruments(optarg, o); break;
			case 'e': bad = parse_int(optarg, 1, 100000, &o->epochs); break;
			case 'b': bad = parse_int(optarg, 1, 4096, &o->batch); break;
			case 't': bad = parse_int(optarg, 1, 64, &o->threads); break;
			case 'n': bad = parse_int(optarg, 2, 100000, &o->segs); break;
			case 'v': bad = parse_int(optarg, 0, 100000, &o->eval_every); break;
			case 'E': bad = parse_int(optarg, 1, 4096, &o->emb_dim); break;
			case 'C': bad = parse_channels(optarg, o); break;
			case 'H': bad = parse_int(optarg, 0, 1024, &o->head_channels); break;
			case 'K': bad = parse_trunk(optarg, o); break;
			case 'm': bad = is_mining_parse(optarg, &o->mining); break;
			case 'M': bad = parse_int(optarg, 0, 1 << 20, &o->mining_bank); break;
			case 's': o->seed = strtoull(optarg, &end, 10); bad = !*optarg || *end; break;
			case 'l': o->lr = strtof(optarg, &end); bad = *end || !(o->lr > 0.0f); break;
			case 'L': bad = is_lr_schedule_parse(optarg, &o->lr_schedule); break;
			case 'w': o->weight_decay = strtof(optarg, &end); bad = *end || o->weight_decay < 0.0f; break;
			case 'B': o->keep_best = 1; break;
			case 'I': bad = is_input_kind_parse(optarg, &o->input); break;
			case 'X': o->remix = strtod(optarg, &end); bad = *end || !(o->remix >= 0.0 && o->remix <= 1.0); break;
			case 'O': bad = parse_yes_no(optarg, &o->remix_other); break;
			case 'U': bad = parse_yes_no(optarg, &o->distill_own); break;
			case 'Q': o->remix_own = strtod(optarg, &end); bad = *end || !(o->remix_own >= 0.0 && o->remix_own <= 1.0); break;
			case 'G': o->remix_gain = strtod(optarg, &end); bad = *end || !(o->remix_gain >= 0.0 && o->remix_gain <= 40.0); break;
			case 'T': bad = (o->n_teacher = split_list(optarg, o->teacher, SLAKH_N_INST)) < 0; break;
			case 'D': o->distill_weight = strtof(optarg, &end); bad = *end || !(o->distill_weight > 0.0f); break;
			case 'P': o->distill_map = strtof(optarg, &end); bad = *end || !(o->distill_map >= 0.0f); break;
			case 'h': usage(stdout); exit(0);
			default: return -1;
		}
		if (bad)
		{
			fprintf(stderr, "instsim-train: bad value for --%s: %s\n", longopts[li].name, optarg);
			return -1;
		}
	}
	if (!o->corpus || !o->out || o->n_inst == 0 || optind < argc)
	{
		fprintf(stderr, "instsim-train: --corpus, --instrument and --out are required\n");
		return -1;
	}
	for (int k = 0; k < o->n_inst; k++)
		if (o->input == IS_INPUT_MIX && o->inst[k] == SLAKH_MIX)
		{
			fprintf(stderr, "instsim-train: --input mix wants drums, bass, piano or guitar: "
					"the mix model hears the mix already\n");
			return -1;
		}
	if (o->n_inst > 1 && (o->input != IS_INPUT_MIX || !one_placeholder(o->out)))
	{
		fprintf(stderr, "instsim-train: several instruments need --input mix and an --out with one %%s "
				"for the instrument's name (and no other %%)\n");
		return -1;
	}
	if (o->trunk && o->n_inst > 1)
	{
		fprintf(stderr, "instsim-train: --trunk trains one instrument (heads share a trunk they train)\n");
		return -1;
	}
	if (o->head_channels && o->n_inst == 1)
	{
		fprintf(stderr, "instsim-train: --head-channels needs several instruments\n");
		return -1;
	}
	if ((o->remix > 0.0 && o->input != IS_INPUT_MIX) || ((o->n_teacher || o->remix_own > 0.0 || o->remix_gain > 0.0) && !(o->remix > 0.0)))
	{
		fprintf(stderr, "instsim-train: --remix needs --input mix, and --teacher, --remix-own and --remix-gain need --remix "
				"(they act on remixed triplets only)\n");
		return -1;
	}
	if (o->distill_own && !(o->n_teacher && o->remix_own > 0.0))
	{
		fprintf(stderr, "instsim-train: --distill-own needs --teacher and --remix-own "
				"(it distils the positives taken from the song's own mix)\n");
		return -1;
	}
	if (o->distill_map > 0.0f && !(o->n_teacher && o->n_inst == 1))
	{
		fprintf(stderr, "instsim-train: --distill-map needs --teacher and one instrument "
				"(the map is the whole network's)\n");
		return -1;
	}
	if (o->distill_map > 0.0f && strchr(o->teacher[0], '+'))
	{
		fprintf(stderr, "instsim-train: --distill-map needs one teacher model, not an ensemble "
				"(models' maps do not average)\n");
		return -1;
	}
	if (o->n_teacher && o->n_teacher != o->n_inst)
	{
		fprintf(stderr, "instsim-train: %d teachers for %d instruments: give one per instrument\n",
				o->n_teacher, o->n_inst);
		return -1;
	}
	return 0;
}

/*
 * Train and test track lists: the given split, else the corpus's, else every
 * track as training.  A split other than the corpus's lets several
 * experiments (say a larger test share) share one rendered corpus and cache.
 */
static int
read_tracks(const char *root, const char *split, corpus_split *sp, char *err, size_t errlen)
{
	char		path[4096];
	struct stat st;

	memset(sp, 0, sizeof(*sp));
	if (split)
		return split_read(split, sp, err, errlen);
	snprintf(path, sizeof(path), "%s/%s", root, SPLIT_FILE);
	if (stat(path, &st) == 0)
		return split_read(path, sp, err, errlen);
	fprintf(stderr, "instsim-train: no %s: training on every track, no held-out accuracy\n", path);
	return slakh_list_tracks(root, &sp->train, err, errlen);
}

/* ---- the training set --------------------------------------------------- */

/* Training tracks with at least two segments, and their segment counts. */
typedef struct trainset
{
	const mel_set *mel;
	int			n;				/* usable tracks */
	int		   *track;			/* index into mel */
	int		   *n_segs;
	is_seg_ref *anchors;		/* every segment once, shuffled per epoch */
	int			n_anchors;
} trainset;

static int
trainset_init(trainset *ts, const mel_set *mel, char *err, size_t errlen)
{
	memset(ts, 0, sizeof(*ts));
	ts->mel = mel;
	ts->track = malloc(sizeof(int) * (mel->n_tracks + 1));
	ts->n_segs = malloc(sizeof(int) * (mel->n_tracks + 1));
	ts->anchors = malloc(sizeof(is_seg_ref) * (mel->n_images + 1));
	if (!ts->track || !ts->n_segs || !ts->anchors)
		return is_fail(err, errlen, "out of memory");
	for (int k = 0; k < mel->n_tracks; k++)
		if (mel->n_segs[k] >= 2)
		{
			for (int s = 0; s < mel->n_segs[k]; s++)
				ts->anchors[ts->n_anchors++] = (is_seg_ref) {ts->n, s};
			ts->track[ts->n] = k;
			ts->n_segs[ts->n++] = mel->n_segs[k];
		}
	if (ts->n < mel->n_tracks)
		fprintf(stderr, "instsim-train: %d of %d training tracks have fewer than 2 segments and are skipped\n",
				mel->n_tracks - ts->n, mel->n_tracks);
	return is_triplet_check(ts->n_segs, ts->n, err, errlen);
}

static void
trainset_free(trainset *ts)
{
	free(ts->track);
	free(ts->n_segs);
	free(ts->anchors);
}

/*
 * Copies triplets' images into batch rows: anchors, positives, negatives;
 * labels are track indices of the mel sets, which remixed triplets (aug not
 * NULL) share.  With several heads, triplet i trains head i mod heads: a
 * remixed one on that instrument's source, a plain one (two segments of one
 * song's mix) on the song.
 */
static void
fill_batch(const trainset *ts, remix_aug *aug, is_rng *rng, const is_seg_ref *anchors, int n,
		   int heads, float *batch, int *label, int *group)
{
	size_t		image = mel_set_pixels(ts->mel);

	for (int i = 0; i < n; i++)
	{
		is_seg_ref	r[3] = {anchors[i]};

		group[i] = i % heads;
		if (aug && remix_aug_triplet(aug, rng, group[i], ts->track[r[0].track], i, n, batch, label))
			continue;
		is_triplet_draw(rng, ts->n_segs, ts->n, r[0], &r[1], &r[2]);
		for (int j = 0; j < 3; j++)
		{
			memcpy(batch + (size_t) (j * n + i) * image,
				   mel_set_image(ts->mel, ts->track[r[j].track], r[j].seg), sizeof(float) * image);
			label[j * n + i] = ts->track[r[j].track];
		}
	}
}

/* ---- held-out accuracy -------------------------------------------------- */

/*
 * Music-ID accuracy of the paper: 5-NN majority vote over test segments, per
 * head (acc[h], on the h-th slice of the embedding).  0, or -1 with err set.
 */
static int
knn_accuracy(const is_net *net, int heads, const mel_set *test, int threads, double *acc,
			 char *err, size_t errlen)
{
	is_infer_opts opts = {.max_batch = 64, .threads = threads};
	is_infer   *plan = is_train_conv_kind(&opts.conv, err, errlen) < 0 ? NULL :
		is_infer_create(net, &opts, err, errlen);
	int			dim = is_net_out_dim(net),
				sub = dim / heads,
				rc = -1;
	size_t		n = test->n_images;
	float	   *emb = malloc(sizeof(float) * dim * (n + 1));
	float	   *slice = malloc(sizeof(float) * sub * (n + 1));
	int		   *label = malloc(sizeof(int) * (n + 1));
	int		   *nn = malloc(sizeof(int) * KNN_K * (n + 1));

	if (plan && (!emb || !slice || !label || !nn))
		is_fail(err, errlen, "out of memory");
	else if (plan && is_infer_run(plan, test->data, (int) n, emb, err, errlen) == 0)
	{
		for (int k = 0; k < test->n_tracks; k++)
			for (int s = 0; s < test->n_segs[k]; s++)
				label[test->first[k] + s] = k;
		rc = 0;
		for (int h = 0; h < heads && rc == 0; h++)
		{
			/* the kNN compares cosines; whole-vector scaling does not change a slice's */
			for (size_t i = 0; i < n; i++)
				memcpy(slice + i * sub, emb + i * dim + (size_t) h * sub, sizeof(float) * sub);
			if (is_knn_exact(slice, (int) n, sub, KNN_K, nn) == 0)
				acc[h] = is_knn_accuracy(label, nn, (int) n, KNN_K, NULL);
			else
				rc = is_fail(err, errlen, "kNN needs more than %d test segments", KNN_K);
		}
	}
	is_infer_free(plan);
	free(emb);
	free(slice);
	free(label);
	free(nn);
	return rc;
}

/* ---- progress ------------------------------------------------------------ */

static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

static void
show_progress(int tty, int epoch, int epochs, int step, int steps, double loss,
			  double rate)
{
	if (!tty)
		return;
	fprintf(stderr, "\repoch %d/%d [", epoch, epochs);
	for (int i = 0; i < 30; i++)
		fputc(i < 30 * step / steps ? '#' : ' ', stderr);
	fprintf(stderr, "] %d/%d  loss %.4f  %.0f segments/s   ", step, steps, loss, rate);
	fflush(stderr);
}

/* ---- main ---------------------------------------------------------------- */

typedef struct run
{
	options		o;
	is_frontend fe;
	corpus_split split;
	mel_set		train_mel,
				test_mel;
	trainset	ts;
	remix_aug	aug;
	is_trunk	trunk;			/* --trunk: its plan, else zeroed */
	float	   *trunk_out;		/* the batch through the trunk: what the trained layers read */
	uint64_t	frozen;			/* the trunk's fingerprint in checkpoints (0: none) */
	is_net		net;			/* the trained layers (after the trunk, if any) */
	is_step		step;
	is_rng		rng;
	float	   *batch;
	int		   *label;
	int		   *group;			/* each triplet's head */
	int			epoch0;
	int			saved;			/* --out holds the best model so far */
} run;

/*
 * The default network for `heads` heads: an embedding of heads x emb_dim and,
 * with head channels, a last conv block of heads x head_channels (each head's
 * own, the linear layer made block-diagonal by the step).  heads = n_inst is
 * the network trained, heads = 1 one head exported on its own.
 */
static int
heads_net(const run *r, int heads, is_net *net, char *err, size_t errlen)
{
	const options *o = &r->o;
	int			channels[MAX_BLOCKS];

	memcpy(channels, o->channels, sizeof(channels));
	if (o->head_channels)
		channels[o->n_blocks - 1] = heads * o->head_channels;
	/* behind a trunk, the trained layers read its output */
	return o->trunk ?
		is_net_default(net, r->trunk.act.c, r->trunk.act.h, r->trunk.act.w, channels,
					   o->n_blocks, heads * o->emb_dim, err, errlen) :
		is_net_default(net, 1, r->train_mel.n_mels, r->train_mel.frames, channels,
					   o->n_blocks, heads * o->emb_dim, err, errlen);
}

/*
 * The frozen trunk, which must hear what the trained model hears (signal:
 * the mix or an instrument's stem), as it hears it.
 */
static int
open_trunk(run *r, slakh_inst signal, char *err, size_t errlen)
{
	const options *o = &r->o;
	const is_model *m = &r->trunk.model;
	const char *hears = m->input == IS_INPUT_MIX ? "mix" : m->instrument;
	char		why[128];

	if (is_trunk_open(&r->trunk, o->trunk, o->trunk_blocks, o->threads, err, errlen) < 0)
		return -1;
	if (is_frontend_differs(&m->fe, &r->fe, why, sizeof(why)))
		return is_fail(err, errlen, "--trunk %s: its front end differs from the trainer's (%s)", o->trunk, why);
	if (m->net.in_c != 1 || m->net.in_h != r->fe.n_mels || m->net.in_w != is_frontend_frames(&r->fe))
		return is_fail(err, errlen, "--trunk %s: it takes %d x %d x %d inputs, the trainer has 1 x %d x %d",
					   o->trunk, m->net.in_c, m->net.in_h, m->net.in_w, r->fe.n_mels,
					   is_frontend_frames(&r->fe));
	if (strcmp(hears, slakh_inst_name(signal)) != 0)
		return is_fail(err, errlen, "--trunk %s hears the %s signal, the model trained hears the %s one%s",
					   o->trunk, hears, slakh_inst_name(signal),
					   strcmp(hears, "mix") == 0 ? " (--input mix?)" : "");
	/* a checkpoint of layers trained behind this trunk resumes behind this trunk only */
	r->frozen = fnv1a64(fnv1a64(FNV1A64_BASIS, m->sha256, strlen(m->sha256)),
						&o->trunk_blocks, sizeof(o->trunk_blocks));
	r->trunk_out = malloc(sizeof(float) * 3 * o->batch * r->trunk.act.c * r->trunk.act.h * r->trunk.act.w);
	if (!r->trunk_out)
		return is_fail(err, errlen, "out of memory for a batch through the trunk");
	fprintf(stderr, "instsim-train: frozen trunk: the first %d blocks of %s (%s), %d x %d x %d\n",
			o->trunk_blocks, o->trunk, m->instrument, r->trunk.act.c, r->trunk.act.h, r->trunk.act.w);
	return 0;
}

static int
seg_cmp(const void *a, const void *b)
{
	const is_seg_ref *x = a,
			   *y = b;

	return x->track != y->track ? (x->track > y->track) - (x->track < y->track) :
		(x->seg > y->seg) - (x->seg < y->seg);
}

/* Whether a and b hold the same n segments, in any order. */
static bool
same_segments(const is_seg_ref *a, const is_seg_ref *b, int n)
{
	is_seg_ref *x = malloc(sizeof(is_seg_ref) * (n ? n : 1)),
			   *y = malloc(sizeof(is_seg_ref) * (n ? n : 1));
	bool		same = x && y;

	if (same)
	{
		memcpy(x, a, sizeof(is_seg_ref) * n);
		memcpy(y, b, sizeof(is_seg_ref) * n);
		qsort(x, n, sizeof(is_seg_ref), seg_cmp);
		qsort(y, n, sizeof(is_seg_ref), seg_cmp);
		same = memcmp(x, y, sizeof(is_seg_ref) * n) == 0;
	}
	free(x);
	free(y);
	return same;
}

/* What a checkpoint of this run holds besides the parameters (order and epoch: the caller's). */
static is_ckpt
ckpt_of(run *r)
{
	return (is_ckpt) {.frozen = r->frozen, .adam = &r->step.adam, .bank = &r->step.bank,
	.n_order = r->ts.n_anchors, .rng = &r->rng};
}

/*
 * Continues from o->resume: the saved state, and the segments in the order
 * the saved epoch left them.
 */
static int
resume(run *r, char *err, size_t errlen)
{
	const options *o = &r->o;
	is_ckpt		c = ckpt_of(r);
	int			rc;

	c.order = malloc(sizeof(is_seg_ref) * (r->ts.n_anchors ? r->ts.n_anchors : 1));
	if (!c.order)
		return is_fail(err, errlen, "out of memory");
	rc = is_ckpt_load(o->resume, &r->net, &c, err, errlen);
	if (rc == 0 && !same_segments(c.order, r->ts.anchors, r->ts.n_anchors))
		rc = is_fail(err, errlen, "%s was saved from another training set (corpus, split or "
					 "--segments-per-track differ)", o->resume);
	if (rc == 0)
	{
		memcpy(r->ts.anchors, c.order, sizeof(is_seg_ref) * r->ts.n_anchors);
		r->epoch0 = c.epoch;
		fprintf(stderr, "instsim-train: resuming after epoch %d\n", r->epoch0);
	}
	free(c.order);
	return rc;
}

static int
setup(run *r, char *err, size_t errlen)
{
	options    *o = &r->o;
	char		cache[4096];
	const char *cache_dir = o->cache;
	slakh_inst	signal = o->input == IS_INPUT_MIX ? SLAKH_MIX : o->inst[0];
	char		names[64] = "";

	r->fe = (is_frontend) IS_FRONTEND_DEFAULT;
	if (!cache_dir)
	{
		snprintf(cache, sizeof(cache), "%s/.instsim-cache", o->corpus);
		cache_dir = cache;
	}
	if (read_tracks(o->corpus, o->split, &r->split, err, errlen) < 0)
		return -1;
	for (int k = 0; k < o->n_inst; k++)
		snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s", k ? ", " : "",
				 slakh_inst_name(o->inst[k]));
	fprintf(stderr, "instsim-train: %s (input %s: segments of the %s signal), %d training and %d test tracks\n",
			names, is_input_kind_name(o->input), slakh_inst_name(signal),
			r->split.train.n, r->split.test.n);
	/* before the features: a wrong trunk is told at once */
	if (o->trunk && open_trunk(r, signal, err, errlen) < 0)
		return -1;
	if (mel_set_build(o->corpus, &r->split.train, signal, &r->fe, o->segs, o->threads,
					  cache_dir, &r->train_mel, err, errlen) < 0 ||
		trainset_init(&r->ts, &r->train_mel, err, errlen) < 0)
		return -1;
	if (o->eval_every > 0 && r->split.test.n > 0 &&
		mel_set_build(o->corpus, &r->split.test, signal, &r->fe, 0, o->threads,
					  cache_dir, &r->test_mel, err, errlen) < 0)
		return -1;

	if (o->remix > 0.0)
	{
		if (remix_aug_init(&r->aug, o->corpus, &r->split.train, o->inst, o->n_inst, &r->fe, o->segs,
						   o->threads, cache_dir, o->remix, o->remix_other, o->n_teacher ? (const char *const *) o->teacher : NULL,
						   o->emb_dim, 3 * o->batch, err, errlen) < 0)
			return -1;
		/* the training mixes: the same track list as the part sets */
		r->aug.src.part[SLAKH_MIX] = &r->train_mel;
		r->aug.src.own = o->remix_own;
		r->aug.src.gain_db = o->remix_gain;
		r->aug.distill_own = o->distill_own;
	}
	if (heads_net(r, o->n_inst, &r->net, err, errlen) < 0)
		return -1;
	is_net_init_params(&r->net, o->seed);
	if (is_step_init(&r->step, &r->net, o->batch, o->threads, o->lr, err, errlen) < 0)
		return -1;
	r->step.mining = o->mining;
	r->step.distill_weight = o->n_teacher ? o->distill_weight : 0.0f;
	r->step.groups = o->n_inst;
	if (o->mining_bank && is_step_set_bank(&r->step, o->mining_bank, err, errlen) < 0)
		return -1;
	/* the first trained block's map; the teacher's at the same depth of the whole model */
	if (o->distill_map > 0.0f &&
		(is_step_set_hint(&r->step, 1, o->distill_map, err, errlen) < 0 ||
		 remix_aug_maps(&r->aug, o->teacher[0], (o->trunk ? o->trunk_blocks : 0) + 1,
						r->step.hint_floats, o->threads, err, errlen) < 0))
		return -1;
	if (o->head_channels)
		is_step_block_diagonal(&r->step);
	r->step.adam.weight_decay = o->weight_decay;
	is_rng_seed(&r->rng, o->seed ^ 0x5eed5eed5eed5eedULL);
	if (o->resume && resume(r, err, errlen) < 0)
		return -1;
	r->batch = malloc(sizeof(float) * 3 * o->batch * mel_set_pixels(&r->train_mel));
	r->label = malloc(sizeof(int) * 3 * o->batch);
	r->group = malloc(sizeof(int) * o->batch);
	if (!r->batch || !r->label || !r->group)
		return is_fail(err, errlen, "out of memory for a batch");
	return 0;
}

/*
 * Head k as a model of its own: the shared blocks, its own last block (with
 * head channels) and its rows of the linear layer, i.e. the default network
 * with one instrument's embedding, which every tool and the server run as
 * they run any model (and the server runs the shared blocks once when several
 * are asked together).
 */
static int
head_net(const run *r, int k, is_net *net, char *err, size_t errlen)
{
	if (heads_net(r, 1, net, err, errlen) < 0)
		return -1;
	for (int i = 0; i < is_net_tensor_count(net); i++)
	{
		is_tensor	whole,
					part;

		is_net_tensor(&r->net, i, &whole);
		is_net_tensor(net, i, &part);
		if (whole.count == part.count)
			memcpy(part.data, whole.data, sizeof(float) * part.count);
		else if (whole.ndim == 2 && whole.shape[1] != part.shape[1])
		{
			/* the block-diagonal linear layer: head k's rows and columns */
			for (int y = 0; y < part.shape[0]; y++)
				memcpy(part.data + (size_t) y * part.shape[1],
					   whole.data + ((size_t) k * part.shape[0] + y) * whole.shape[1] + (size_t) k * part.shape[1],
					   sizeof(float) * part.shape[1]);
		}
		else
			/* head k's leading rows ([out][...] weights, [out] vectors) are contiguous */
			memcpy(part.data, whole.data + (size_t) k * part.count, sizeof(float) * part.count);
	}
	return 0;
}

static int
save_model(run *r, char *err, size_t errlen)
{
	for (int k = 0; k < r->o.n_inst; k++)
	{
		is_model	m;
		char		path[4096];
		int			rc;

		memset(&m, 0, sizeof(m));
		snprintf(m.instrument, sizeof(m.instrument), "%s", slakh_inst_name(r->o.inst[k]));
		m.input = r->o.input;
		m.fe = r->fe;
		if (r->o.n_inst > 1)
			rc = head_net(r, k, &m.net, err, errlen);
		else if (r->o.trunk)
			rc = is_trunk_join(&r->trunk, &r->net, &m.net, err, errlen);
		else
		{
			m.net = r->net;		/* borrowed: freed with the run, not with m */
			rc = 0;
		}
		if (rc < 0)
			return -1;
		out_path(&r->o, k, path, sizeof(path));
		rc = is_model_save_file(&m, path, err, errlen);
		if (r->o.n_inst > 1 || r->o.trunk)
			is_net_free(&m.net);
		if (rc < 0)
			return -1;
		fprintf(stderr, "instsim-train: wrote %s (sha256 %s)\n", path, m.sha256);
	}
	return 0;
}

/* knn_accuracy of the network being trained, with its trunk in front. */
static int
held_out_accuracy(const run *r, double *acc, char *err, size_t errlen)
{
	is_net		whole = {0};
	int			rc;

	if (r->o.trunk && is_trunk_join(&r->trunk, &r->net, &whole, err, errlen) < 0)
		return -1;
	rc = knn_accuracy(r->o.trunk ? &whole : &r->net, r->o.n_inst, &r->test_mel, r->o.threads,
					  acc, err, errlen);
	is_net_free(&whole);
	return rc;
}

static int
train(run *r, char *err, size_t errlen)
{
	options    *o = &r->o;
	int			tty = isatty(STDERR_FILENO);
	int			steps = r->ts.n_anchors / o->batch;
	int			per_step = o->batch;
	double		best = -1.0;
	int			best_epoch = 0;

	if (steps == 0)
	{
		/* fewer segments than one batch: one smaller batch per epoch */
		steps = 1;
		per_step = r->ts.n_anchors;
	}
	for (int epoch = r->epoch0 + 1; epoch <= o->epochs; epoch++)
	{
		double		t0 = now(),
					sum = 0.0,
					distill_sum = 0.0,
					hint_sum = 0.0,
					head_sum[SLAKH_N_INST] = {0},
					head_distill[SLAKH_N_INST] = {0};
		int64_t		targeted = 0;	/* rows with a teacher target */
		int			improved = 0;

		for (int i = r->ts.n_anchors - 1; i > 0; i--)
		{
			int			j = is_rng_below(&r->rng, i + 1);
			is_seg_ref	t = r->ts.anchors[i];

			r->ts.anchors[i] = r->ts.anchors[j];
			r->ts.anchors[j] = t;
		}
		for (int s = 0; s < steps; s++)
		{
			is_step_targets tg = {.has = r->aug.has, .map = r->aug.target_map};
			double		distill = 0.0,
						loss;

			/* from the epoch and step alone, so that --resume continues the decay */
			r->step.adam.lr = is_lr_at(o->lr_schedule, o->lr, (int64_t) (epoch - 1) * steps + s,
									   (int64_t) o->epochs * steps);

			fill_batch(&r->ts, o->remix > 0.0 ? &r->aug : NULL, &r->rng,
					   r->ts.anchors + (size_t) s * per_step, per_step, o->n_inst,
					   r->batch, r->label, r->group);
			if (o->n_teacher && !(tg.emb = remix_aug_targets(&r->aug, r->batch, per_step, err, errlen)))
				return -1;
			for (int i = 0; tg.emb && i < 3 * per_step; i++)
				targeted += r->aug.has[i] != 0;
			if (o->trunk && is_trunk_run(&r->trunk, r->batch, 3 * per_step, r->trunk_out, err, errlen) < 0)
				return -1;
			loss = is_step_run_groups(&r->step, o->trunk ? r->trunk_out : r->batch, r->label, r->group, per_step,
									  tg.emb ? &tg : NULL, &distill, NULL);
			if (loss < 0.0)
				return is_fail(err, errlen, "a training step was refused (batch or heads out of range)");
			sum += loss;
			distill_sum += distill;
			hint_sum += r->step.hint_loss;
			for (int k = 0; k < o->n_inst; k++)
			{
				head_sum[k] += r->step.head_loss[k];
				head_distill[k] += r->step.head_distill[k];
			}
			show_progress(tty, epoch, o->epochs, s + 1, steps, sum / (s + 1),
						  3.0 * per_step * (s + 1) / (now() - t0));
		}
		if (tty)
			fputc('\n', stderr);
		fprintf(stderr, "epoch %d/%d  loss %.4f  %.0f segments/s  %.1f s",
				epoch, o->epochs, sum / steps, 3.0 * per_step * steps / (now() - t0), now() - t0);
		if (o->n_teacher)
		{
			fprintf(stderr, "  (distillation %.4f", distill_sum / steps);
			if (o->distill_map > 0.0f)
				fprintf(stderr, ", map %.4f", hint_sum / steps);
			fprintf(stderr, " on %.1f%% of rows)", 100.0 * targeted / (3.0 * per_step * steps));
		}
		for (int k = 0; k < o->n_inst && o->n_inst > 1; k++)
			fprintf(stderr, "%s%s %.4f/%.4f", k ? ", " : "  (triplet/distillation loss of ",
					slakh_inst_name(o->inst[k]), head_sum[k] / steps, head_distill[k] / steps);
		if (o->n_inst > 1)
			fputc(')', stderr);
		if (r->test_mel.n_images > KNN_K && (epoch % o->eval_every == 0 || epoch == o->epochs))
		{
			double		acc[SLAKH_N_INST],
						mean = 0.0;

			if (held_out_accuracy(r, acc, err, errlen) < 0)
				return -1;
			for (int k = 0; k < o->n_inst; k++)
				mean += acc[k] / o->n_inst;
			if (mean > best)
			{
				best = mean;
				best_epoch = epoch;
				improved = 1;
			}
			if (o->n_inst > 1)
				for (int k = 0; k < o->n_inst; k++)
					fprintf(stderr, "  %s %.2f%%", slakh_inst_name(o->inst[k]), 100.0 * acc[k]);
			fprintf(stderr, "  test kNN accuracy %.2f%% (best %.2f%% at epoch %d)",
					100.0 * mean, 100.0 * best, best_epoch);
		}
		fputc('\n', stderr);
		if (improved && o->keep_best)
		{
			if (save_model(r, err, errlen) < 0)
				return -1;
			r->saved = 1;
		}
		if (o->checkpoint)
		{
			is_ckpt		c = ckpt_of(r);

			c.order = r->ts.anchors;
			c.epoch = epoch;
			if (is_ckpt_save(o->checkpoint, &r->net, &c, err, errlen) < 0)
				return -1;
		}
	}
	return 0;
}

static void
run_free(run *r)
{
	is_step_free(&r->step);
	is_net_free(&r->net);
	trainset_free(&r->ts);
	remix_aug_free(&r->aug);
	is_trunk_close(&r->trunk);
	free(r->trunk_out);
	mel_set_free(&r->train_mel);
	mel_set_free(&r->test_mel);
	split_free(&r->split);
	free(r->batch);
	free(r->label);
	free(r->group);
}

int
main(int argc, char **argv)
{
	static run	r;
	char		err[TOOL_ERRLEN];
	int			rc;

	if (parse_options(argc, argv, &r.o) < 0)
	{
		usage(stderr);
		return 2;
	}
	rc = setup(&r, err, sizeof(err)) == 0 && train(&r, err, sizeof(err)) == 0 &&
		(r.saved || save_model(&r, err, sizeof(err)) == 0) ? 0 : 1;
	if (rc)
		fprintf(stderr, "instsim-train: %s\n", err);
	run_free(&r);
	return rc;
}
