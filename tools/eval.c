/*
 * instsim-eval: the paper's evaluation (Tables II and III, Figs. 3 and 4) of
 * per-instrument models on the test split of a Slakh-layout corpus, in memory
 * and, with --db, through the extension with a cross-check of the two.
 * tools/plot_eval.py turns the output directory into figures and report.md.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eval_db.h"
#include "eval_inst.h"
#include "eval_listen.h"
#include "eval_mixin.h"
#include "eval_models.h"
#include "eval_out.h"
#include "parse_int.h"
#include "split.h"

/* sets of --music-id-tracks tracks drawn: the mean moves by < 0.1 point between seeds */
#define MUSIC_ID_DRAWS 200

typedef struct options
{
	const char *corpus;
	const char *models;
	const char *out;
	const char *split;
	const char *instruments;
	int			seeds;
	int			k;
	int			jobs;
	eval_db_opts db;
	bool		listening;
	const char *catalogue;
	int			bootstrap;
	int			seed;
	bool		remix;
	int			remix_pairs;
	double		remix_start;
	bool		plays_only;
	bool		mix_windows;	/* --mix-windows given */
	int			id_tracks;		/* --music-id-tracks: 0, or 2 and more */
	bool		id_tracks_given;
} options;

static void
usage(FILE *f)
{
	fprintf(f,
			"usage: instsim-eval --corpus DIR --models DIR_OR_LIST [options]\n"
			"       instsim-eval --remix --corpus DIR --models DIR_OR_LIST [--remix-pairs N] [--remix-start SEC]\n"
			"                    [--mix-windows all|plays] [--music-id-tracks N] [--seed S]\n"
			"       instsim-eval --listening --db CONNSTR [--catalogue TABLE] [--bootstrap N] [--seed S]\n"
			"\n"
			"Embeds every non-silent segment of the corpus's test tracks (DIR/%s)\n"
			"with each model and reports music-ID accuracy by k-NN vote (mean and\n"
			"variance over the models of an instrument), track distance matrices\n"
			"and their correlations between instruments.  Models are found by file\n"
			"name: INSTRUMENT-seedS.safetensors (one per training seed) or\n"
			"INSTRUMENT.safetensors, INSTRUMENT one of mix, drums, bass, piano, guitar.\n"
			"\n"
			"options:\n"
			"  --seeds N          at most N models per instrument, lowest seeds first\n"
			"  --instruments L    comma-separated subset (default: every one with models)\n"
			"  --k K              neighbours in the vote (default 5, as the paper)\n"
			"  --out DIR          output directory (default eval-out)\n"
			"  --split FILE       train/test split (default CORPUS/%s)\n"
			"  --jobs J           threads (default: online CPUs)\n"
			"  --db CONNSTR       also run the kNN through the extension on this database\n"
			"  --no-index         ... with an exact scan instead of the instsim_hnsw index\n"
			"  --ef-search N      instsim.ef_search for the index scans (default 200)\n"
			"  --table PREFIX     work tables and model names (default instsim_eval)\n"
			"  --keep             keep the work tables and models in the database\n"
			"\n"
			"--remix evaluates instruments from the mix (issue #14): per instrument, its\n"
			"stem models (INSTRUMENT[-seedS]) fed the mix, the baseline, and its mix-input\n"
			"models (INSTRUMENT_mix[-seedS]): the remix test (X's stems of track A + every\n"
			"other stem of B over one 30-s window; %% of pairs nearer A's mix than B's, and\n"
			"rank-1 rate of A among the test mixes), music-ID accuracy from the mix, and\n"
			"Pearson/Spearman of the track distances against the stem models' on stems.\n"
			"Writes remix.csv and remix.md into --out.\n"
			"  --remix-pairs N    ordered pairs (A, B) drawn with --seed (default 200, at most 100000)\n"
			"  --remix-start SEC  window start, moved earlier on shorter tracks (default 30)\n"
			"  --mix-windows all|plays  music-ID and track distances from the mix over\n"
			"                     every sounding window of the mix, or only those where\n"
			"                     the instrument's stem sounds too, as the paper's\n"
			"                     separated stems (default all)\n"
			"  --music-id-tracks N  music-ID also as on a test set of N tracks, the mean\n"
			"                     over %d random sets of N held-out tracks (default %d,\n"
			"                     the paper's test set; 0: not)\n"
			"\n"
			"--listening reports the listening test stored in the database (instsim-web):\n"
			"per instrument, Spearman between the pairs' mean ratings and distances\n"
			"(negative = agreement) with a bootstrap 95%% interval, and the mean Spearman\n"
			"between raters over the pairs they both rated.\n"
			"  --catalogue TABLE  only that catalogue (schema-qualified, as stored)\n"
			"  --bootstrap N      resamples (default 2000)\n"
			"  --seed S           of the resampling, or of the remix pairs (default 1)\n",
			SPLIT_FILE, SPLIT_FILE, MUSIC_ID_DRAWS, EVAL_PAPER_TEST_TRACKS);
}


static int
parse_options(int argc, char **argv, options *o)
{
	static const struct option longopts[] = {
		{"corpus", required_argument, NULL, 'c'},
		{"models", required_argument, NULL, 'm'},
		{"seeds", required_argument, NULL, 's'},
		{"instruments", required_argument, NULL, 'i'},
		{"k", required_argument, NULL, 'k'},
		{"out", required_argument, NULL, 'o'},
		{"split", required_argument, NULL, 'p'},
		{"jobs", required_argument, NULL, 'j'},
		{"db", required_argument, NULL, 'd'},
		{"no-index", no_argument, NULL, 'n'},
		{"ef-search", required_argument, NULL, 'e'},
		{"table", required_argument, NULL, 't'},
		{"keep", no_argument, NULL, 'K'},
		{"listening", no_argument, NULL, 'L'},
		{"catalogue", required_argument, NULL, 'C'},
		{"bootstrap", required_argument, NULL, 'B'},
		{"seed", required_argument, NULL, 'S'},
		{"remix", no_argument, NULL, 'R'},
		{"remix-pairs", required_argument, NULL, 'P'},
		{"remix-start", required_argument, NULL, 'T'},
		{"mix-windows", required_argument, NULL, 'W'},
		{"music-id-tracks", required_argument, NULL, 'N'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}
	};
	long		cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int			c,
				li = 0;

	memset(o, 0, sizeof(*o));
	o->out = "eval-out";
	o->k = 5;
	o->jobs = cpus > 0 ? (int) cpus : 1;
	o->db.table = "instsim_eval";
	o->db.use_index = true;
	o->db.ef_search = 200;
	o->bootstrap = 2000;
	o->seed = 1;
	o->remix_pairs = 200;
	o->remix_start = 30.0;
	o->id_tracks = EVAL_PAPER_TEST_TRACKS;
	while ((c = getopt_long(argc, argv, "", longopts, &li)) != -1)
	{
		int			bad = 0;

		switch (c)
		{
			case 'c': o->corpus = optarg; break;
			case 'm': o->models = optarg; break;
			case 's': bad = parse_int(optarg, 1, 1000, &o->seeds); break;
			case 'i': o->instruments = optarg; break;
			case 'k': bad = parse_int(optarg, 1, 1000, &o->k); break;
			case 'o': o->out = optarg; break;
			case 'p': o->split = optarg; break;
			case 'j': bad = parse_int(optarg, 1, 256, &o->jobs); break;
			case 'd': o->db.conninfo = optarg; break;
			case 'n': o->db.use_index = false; break;
			case 'e': bad = parse_int(optarg, 1, 100000, &o->db.ef_search); break;
			case 't': o->db.table = optarg; break;
			case 'K': o->db.keep = true; break;
			case 'L': o->listening = true; break;
			case 'C': o->catalogue = optarg; break;
			case 'B': bad = parse_int(optarg, 100, 1000000, &o->bootstrap); break;
			case 'S': bad = parse_int(optarg, 0, 1 << 30, &o->seed); break;
			case 'R': o->remix = true; break;
			case 'W':
				bad = strcmp(optarg, "plays") != 0 && strcmp(optarg, "all") != 0;
				o->plays_only = strcmp(optarg, "plays") == 0;
				o->mix_windows = true;
				break;
			case 'P': bad = parse_int(optarg, 1, 100000, &o->remix_pairs); break;
			case 'N':
				bad = parse_int(optarg, 0, 100000, &o->id_tracks) || o->id_tracks == 1;
				o->id_tracks_given = true;
				break;
			case 'T':
				{
					char	   *end;

					o->remix_start = strtod(optarg, &end);
					bad = *end || !(o->remix_start >= 0.0 && o->remix_start <= 36000.0);
					break;
				}
			case 'h': usage(stdout); exit(0);
			default: return -1;
		}
		if (bad)
		{
			fprintf(stderr, "instsim-eval: bad value for --%s: %s\n", longopts[li].name, optarg);
			return -1;
		}
	}
	if (optind != argc || (o->listening ? !o->db.conninfo : !o->corpus || !o->models))
		return -1;
	if (o->remix && (o->listening || o->db.conninfo))
	{
		fprintf(stderr, "instsim-eval: --remix runs in memory; it takes neither --db nor --listening\n");
		return -1;
	}
	if (o->mix_windows && !o->remix)
	{
		fprintf(stderr, "instsim-eval: --mix-windows is for --remix: without it the models hear their stems\n");
		return -1;
	}
	if (o->id_tracks_given && !o->remix)
	{
		fprintf(stderr, "instsim-eval: --music-id-tracks is for --remix\n");
		return -1;
	}
	if (strlen(o->db.table) > 48 || strspn(o->db.table, "abcdefghijklmnopqrstuvwxyz_0123456789") != strlen(o->db.table))
	{
		fprintf(stderr, "instsim-eval: --table wants up to 48 lower-case letters, digits or _\n");
		return -1;
	}
	return 0;
}

/* Is inst among the comma-separated names (NULL: all)? */
static bool
wanted(const char *list, slakh_inst inst)
{
	const char *name = slakh_inst_name(inst);
	size_t		len = strlen(name);

	if (!list)
		return true;
	for (const char *p = list; p; p = strchr(p, ','), p = p ? p + 1 : NULL)
		if (strncmp(p, name, len) == 0 && (p[len] == ',' || p[len] == '\0'))
			return true;
	return false;
}

static char *
join_command(int argc, char **argv)
{
	size_t		len = 1;
	char	   *s;

	for (int i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	s = calloc(len, 1);
	for (int i = 0; s && i < argc; i++)
	{
		if (i)
			strcat(s, " ");
		strcat(s, argv[i]);
	}
	return s;
}

static void
print_instrument(const eval_inst *e)
{
	printf("%-7s %d model(s), %d segments, %d tracks: accuracy %.2f%% (variance %.2g)",
		   slakh_inst_name(e->inst), e->n_models, e->n, e->n_tracks, 100 * e->mean, e->var);
	for (int j = 0; j < e->n_models; j++)
	{
		const eval_model_result *r = &e->res[j];

		if (r->sql_done)
			printf("\n        seed %d through SQL%s: accuracy %.2f%%, recall %.4f, "
				   "%d list / %d vote mismatches, max embedding diff %.2g",
				   r->model.seed, r->sql_index_used ? " (index)" : " (exact scan)",
				   100 * r->sql_accuracy, r->sql_recall, r->sql_list_mismatch,
				   r->sql_pred_mismatch, r->sql_max_emb_diff);
	}
	printf("\n");
	fflush(stdout);
}

/* Finds the models of inst and evaluates them; 1 when there are none. */
static int
evaluate(const options *o, const slakh_tracks *test, slakh_inst inst, eval_db *db,
		 eval_inst *out, char *err, size_t errlen)
{
	eval_model *models;
	int			n,
				rc;

	if (eval_find_models(o->models, inst, IS_INPUT_STEM, o->seeds, &models, &n, err, errlen) != 0)
		return -1;
	if (n == 0)
	{
		free(models);
		return 1;
	}
	rc = eval_inst_run(o->corpus, test, inst, inst, false, models, n, o->k, o->jobs, out, err, errlen);
	free(models);
	if (rc == 0 && db)
		rc = eval_db_run(db, o->corpus, test, out, err, errlen);
	if (rc == 0)
		print_instrument(out);
	return rc;
}

static int
remix_report(const options *o, const slakh_tracks *test, const char *command, char *err, size_t errlen)
{
	mixin_run	run = {.corpus = o->corpus, .models = o->models, .command = command, .test = test,
		.seeds = o->seeds, .k = o->k, .plays_only = o->plays_only, .id_tracks = o->id_tracks,
		.id_draws = MUSIC_ID_DRAWS,
	.remix = {.pairs = o->remix_pairs, .seed = (uint64_t) o->seed, .start_s = o->remix_start,
	.window_s = 30.0, .jobs = o->jobs}};

	for (int i = 0; i < SLAKH_N_INST; i++)
		run.wanted[i] = wanted(o->instruments, (slakh_inst) i);
	return eval_mixin_report(&run, o->out, err, errlen);
}

int
main(int argc, char **argv)
{
	options		o;
	corpus_split split = {0};
	char		path[4096],
				err[1024] = "";
	eval_inst	insts[SLAKH_N_INST];
	int			n_insts = 0,
				rc = 0;
	eval_db    *db = NULL;
	char	   *command = join_command(argc, argv);

	if (parse_options(argc, argv, &o) != 0)
	{
		usage(stderr);
		free(command);
		return 2;
	}
	if (o.listening)
	{
		free(command);
		if (listen_report(o.db.conninfo, o.catalogue, o.bootstrap, (uint64_t) o.seed, err, sizeof(err)) == 0)
			return 0;
		fprintf(stderr, "instsim-eval: %s\n", err);
		return 1;
	}
	snprintf(path, sizeof(path), "%s/%s", o.corpus, SPLIT_FILE);
	if (split_read(o.split ? o.split : path, &split, err, sizeof(err)) != 0)
		rc = -1;
	else if (split.test.n < 2)
		rc = -1, snprintf(err, sizeof(err), "the split has %d test tracks; need at least 2",
						  split.test.n);
	if (rc == 0 && o.remix)
		rc = remix_report(&o, &split.test, command ? command : "", err, sizeof(err));
	if (rc == 0 && o.db.conninfo && !(db = eval_db_open(&o.db, err, sizeof(err))))
		rc = -1;
	for (int i = 0; i < SLAKH_N_INST && rc == 0 && !o.remix; i++)
	{
		int			r;

		if (!wanted(o.instruments, (slakh_inst) i))
			continue;
		r = evaluate(&o, &split.test, (slakh_inst) i, db, &insts[n_insts], err, sizeof(err));
		if (r < 0)
			rc = -1;
		else if (r == 0)
			n_insts++;
	}
	if (rc == 0 && n_insts == 0 && !o.remix)
		rc = -1, snprintf(err, sizeof(err), "no model files found in %s", o.models);
	if (rc == 0 && !o.remix)
	{
		eval_run_info info = {o.corpus, command ? command : "", &split.test, o.k,
		db != NULL, o.db.use_index, o.db.ef_search};

		rc = eval_write_outputs(o.out, &info, insts, n_insts, err, sizeof(err));
		if (rc == 0)
			printf("results in %s/ (figures and report.md: /usr/bin/python3 tools/plot_eval.py %s)\n",
				   o.out, o.out);
	}
	if (rc != 0)
		fprintf(stderr, "instsim-eval: %s\n", err);
	for (int i = 0; i < n_insts; i++)
		eval_inst_free(&insts[i]);
	eval_db_close(db);
	split_free(&split);
	free(command);
	return rc == 0 ? 0 : 1;
}
