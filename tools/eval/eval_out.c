#include "eval_out.h"

#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "errbuf.h"
#include "eval.h"

/* Table II, original stems, in SLAKH_MIX..SLAKH_GUITAR order. */
static const double paper_accuracy[SLAKH_N_INST] = {90.52, 93.68, 84.63, 92.17, 87.59};
/* Table II, separated row: Spleeter's stems (it has no guitar; the mix is not separated). */
static const double paper_separated[SLAKH_N_INST] = {NAN, 76.92, 41.41, 65.69, NAN};

/* Table III, upper triangle in the same order: {Pearson, Spearman}. */
static const double paper_corr[SLAKH_N_INST][SLAKH_N_INST][2] = {
	[SLAKH_MIX] = {[SLAKH_DRUMS] = {0.23, -0.020}, [SLAKH_BASS] = {0.11, 0.088},
	[SLAKH_PIANO] = {0.12, -0.082}, [SLAKH_GUITAR] = {0.32, 0.085}},
	[SLAKH_DRUMS] = {[SLAKH_BASS] = {-0.0016, 0.076}, [SLAKH_PIANO] = {0.16, 0.018},
	[SLAKH_GUITAR] = {0.025, 0.086}},
	[SLAKH_BASS] = {[SLAKH_PIANO] = {0.021, 0.038}, [SLAKH_GUITAR] = {0.021, 0.091}},
	[SLAKH_PIANO] = {[SLAKH_GUITAR] = {0.12, 0.054}},
};

double
eval_paper_accuracy(slakh_inst inst)
{
	return inst < SLAKH_N_INST ? paper_accuracy[inst] : NAN;
}

double
eval_paper_separated(slakh_inst inst)
{
	return inst < SLAKH_N_INST ? paper_separated[inst] : NAN;
}

int
eval_paper_correlation(slakh_inst a, slakh_inst b, double *pearson, double *spearman)
{
	if (a >= b || b >= SLAKH_N_INST)
		return -1;
	*pearson = paper_corr[a][b][0];
	*spearman = paper_corr[a][b][1];
	return 0;
}

/* JSON has no NaN or infinity: such numbers become null. */
static json_object *
jnum(double v)
{
	return isfinite(v) ? json_object_new_double(v) : NULL;
}

typedef struct pair_corr
{
	slakh_inst	a,
				b;
	double		pearson,
				spearman;
} pair_corr;

static int
correlations(const eval_inst *in, int n, pair_corr *out, int *n_out)
{
	*n_out = 0;
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
		{
			pair_corr  *p = &out[(*n_out)++];

			p->a = in[i].inst;
			p->b = in[j].inst;
			if (in[i].n_tracks < 3 ||
				is_matrix_correlation(in[i].dist, in[j].dist, in[i].n_tracks,
									  &p->pearson, &p->spearman) != 0)
				p->pearson = p->spearman = NAN;
		}
	return 0;
}

static json_object *
model_json(const eval_model_result *r)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "path", json_object_new_string(r->model.path));
	json_object_object_add(o, "seed", json_object_new_int(r->model.seed));
	json_object_object_add(o, "accuracy", jnum(r->accuracy));
	if (r->sql_done)
	{
		json_object *s = json_object_new_object();

		json_object_object_add(s, "accuracy", jnum(r->sql_accuracy));
		json_object_object_add(s, "index_used", json_object_new_boolean(r->sql_index_used));
		json_object_object_add(s, "recall", jnum(r->sql_recall));
		json_object_object_add(s, "list_mismatches", json_object_new_int(r->sql_list_mismatch));
		json_object_object_add(s, "vote_mismatches", json_object_new_int(r->sql_pred_mismatch));
		json_object_object_add(s, "max_embedding_diff", jnum(r->sql_max_emb_diff));
		json_object_object_add(o, "sql", s);
	}
	return o;
}

static json_object *
inst_json(const eval_inst *e)
{
	json_object *o = json_object_new_object();
	json_object *models = json_object_new_array();
	json_object *segs = json_object_new_array();
	json_object *dist = json_object_new_array();

	for (int j = 0; j < e->n_models; j++)
		json_object_array_add(models, model_json(&e->res[j]));
	for (int t = 0; t < e->n_tracks; t++)
	{
		json_object *row = json_object_new_array();

		json_object_array_add(segs, json_object_new_int(e->track_segs[t]));
		for (int u = 0; u < e->n_tracks; u++)
			json_object_array_add(row, jnum(e->dist[t * e->n_tracks + u]));
		json_object_array_add(dist, row);
	}
	json_object_object_add(o, "segments", json_object_new_int(e->n));
	json_object_object_add(o, "segments_per_track", segs);
	json_object_object_add(o, "embedding_dim", json_object_new_int(e->dim));
	json_object_object_add(o, "accuracy_mean", jnum(e->mean));
	json_object_object_add(o, "accuracy_variance", jnum(e->var));
	json_object_object_add(o, "paper_accuracy_percent", jnum(eval_paper_accuracy(e->inst)));
	json_object_object_add(o, "models", models);
	json_object_object_add(o, "distance_matrix", dist);
	return o;
}

static json_object *
run_json(const eval_run_info *info)
{
	json_object *o = json_object_new_object();
	json_object *tracks = json_object_new_array();

	for (int t = 0; t < info->test->n; t++)
		json_object_array_add(tracks, json_object_new_string(info->test->names[t]));
	json_object_object_add(o, "corpus", json_object_new_string(info->corpus));
	json_object_object_add(o, "command", json_object_new_string(info->command));
	json_object_object_add(o, "k", json_object_new_int(info->k));
	json_object_object_add(o, "test_tracks", tracks);
	json_object_object_add(o, "sql", json_object_new_boolean(info->sql));
	json_object_object_add(o, "sql_index", json_object_new_boolean(info->sql && info->index));
	json_object_object_add(o, "ef_search", json_object_new_int(info->ef_search));
	return o;
}

static int
write_json(const char *dir, const eval_run_info *info, const eval_inst *in, int n,
		   const pair_corr *pc, int n_pc, char *err, size_t errlen)
{
	json_object *root = json_object_new_object();
	json_object *insts = json_object_new_object();
	json_object *t3 = json_object_new_array();
	char		path[4096];
	int			rc;

	json_object_object_add(root, "run", run_json(info));
	for (int i = 0; i < n; i++)
		json_object_object_add(insts, slakh_inst_name(in[i].inst), inst_json(&in[i]));
	for (int i = 0; i < n_pc; i++)
	{
		json_object *p = json_object_new_object();
		double		pp,
					ps;

		json_object_object_add(p, "a", json_object_new_string(slakh_inst_name(pc[i].a)));
		json_object_object_add(p, "b", json_object_new_string(slakh_inst_name(pc[i].b)));
		json_object_object_add(p, "pearson", jnum(pc[i].pearson));
		json_object_object_add(p, "spearman", jnum(pc[i].spearman));
		if (eval_paper_correlation(pc[i].a, pc[i].b, &pp, &ps) == 0)
		{
			json_object_object_add(p, "paper_pearson", jnum(pp));
			json_object_object_add(p, "paper_spearman", jnum(ps));
		}
		json_object_array_add(t3, p);
	}
	json_object_object_add(root, "instruments", insts);
	json_object_object_add(root, "table3", t3);
	snprintf(path, sizeof(path), "%s/results.json", dir);
	rc = json_object_to_file_ext(path, root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	json_object_put(root);
	return rc == 0 ? 0 : is_fail(err, errlen, "cannot write %s: %s", path, json_util_get_last_err());
}

static FILE *
open_csv(const char *dir, const char *name, const char *suffix, char *err, size_t errlen)
{
	char		path[4096];
	FILE	   *f;

	snprintf(path, sizeof(path), "%s/%s%s.csv", dir, name, suffix);
	f = fopen(path, "w");
	if (!f)
		is_fail(err, errlen, "cannot write %s: %s", path, strerror(errno));
	return f;
}

static int
close_csv(FILE *f, const char *what, char *err, size_t errlen)
{
	bool		bad = ferror(f) != 0;

	if (fclose(f) != 0 || bad)
		return is_fail(err, errlen, "error writing %s.csv", what);
	return 0;
}

static int
write_tables(const char *dir, const eval_inst *in, int n, const pair_corr *pc, int n_pc,
			 char *err, size_t errlen)
{
	FILE	   *f;

	if (!(f = open_csv(dir, "table2", "", err, errlen)))
		return -1;
	fprintf(f, "instrument,models,segments,accuracy_mean_percent,accuracy_variance,paper_percent\n");
	for (int i = 0; i < n; i++)
		fprintf(f, "%s,%d,%d,%.4f,%.6g,%.2f\n", slakh_inst_name(in[i].inst), in[i].n_models,
				in[i].n, 100 * in[i].mean, in[i].var, eval_paper_accuracy(in[i].inst));
	if (close_csv(f, "table2", err, errlen) != 0 ||
		!(f = open_csv(dir, "table3", "", err, errlen)))
		return -1;
	fprintf(f, "pair,pearson,spearman,paper_pearson,paper_spearman\n");
	for (int i = 0; i < n_pc; i++)
	{
		double		pp = NAN,
					ps = NAN;

		eval_paper_correlation(pc[i].a, pc[i].b, &pp, &ps);
		fprintf(f, "%s-%s,%.4f,%.4f,%g,%g\n", slakh_inst_name(pc[i].a), slakh_inst_name(pc[i].b),
				pc[i].pearson, pc[i].spearman, pp, ps);
	}
	if (close_csv(f, "table3", err, errlen) != 0 ||
		!(f = open_csv(dir, "accuracy", "", err, errlen)))
		return -1;
	fprintf(f, "instrument,seed,model,segments,accuracy,sql_accuracy,sql_recall,"
			"sql_list_mismatches,sql_vote_mismatches,sql_max_embedding_diff,sql_index_used\n");
	for (int i = 0; i < n; i++)
		for (int j = 0; j < in[i].n_models; j++)
		{
			const eval_model_result *r = &in[i].res[j];

			fprintf(f, "%s,%d,%s,%d,%.6f,", slakh_inst_name(in[i].inst), r->model.seed,
					r->model.path, in[i].n, r->accuracy);
			if (r->sql_done)
				fprintf(f, "%.6f,%.6f,%d,%d,%.3g,%s\n", r->sql_accuracy, r->sql_recall,
						r->sql_list_mismatch, r->sql_pred_mismatch, r->sql_max_emb_diff,
						r->sql_index_used ? "true" : "false");
			else
				fprintf(f, ",,,,,\n");
		}
	return close_csv(f, "accuracy", err, errlen);
}

static int
write_matrices(const char *dir, const eval_run_info *info, const eval_inst *e,
			   char *err, size_t errlen)
{
	const char *name = slakh_inst_name(e->inst);
	FILE	   *f = open_csv(dir, "distances_", name, err, errlen);

	if (!f)
		return -1;
	fprintf(f, "track");
	for (int t = 0; t < e->n_tracks; t++)
		fprintf(f, ",%s", info->test->names[t]);
	fputc('\n', f);
	for (int t = 0; t < e->n_tracks; t++)
	{
		fprintf(f, "%s", info->test->names[t]);
		for (int u = 0; u < e->n_tracks; u++)
			fprintf(f, ",%.6f", e->dist[t * e->n_tracks + u]);
		fputc('\n', f);
	}
	if (close_csv(f, "distances", err, errlen) != 0 ||
		!(f = open_csv(dir, "segments_", name, err, errlen)))
		return -1;
	fprintf(f, "track");
	for (int d = 0; d < e->dim; d++)
		fprintf(f, ",e%d", d);
	fputc('\n', f);
	for (int i = 0; i < e->n; i++)
	{
		fprintf(f, "%s", info->test->names[e->labels[i]]);
		for (int d = 0; d < e->dim; d++)
			fprintf(f, ",%.6g", e->emb[(size_t) i * e->dim + d]);
		fputc('\n', f);
	}
	return close_csv(f, "segments", err, errlen);
}

int
eval_write_outputs(const char *dir, const eval_run_info *info, const eval_inst *insts,
				   int n_insts, char *err, size_t errlen)
{
	pair_corr	pc[SLAKH_N_INST * SLAKH_N_INST];
	int			n_pc;

	if (mkdir(dir, 0777) != 0 && errno != EEXIST)
		return is_fail(err, errlen, "cannot create %s: %s", dir, strerror(errno));
	correlations(insts, n_insts, pc, &n_pc);
	if (write_json(dir, info, insts, n_insts, pc, n_pc, err, errlen) != 0 ||
		write_tables(dir, insts, n_insts, pc, n_pc, err, errlen) != 0)
		return -1;
	for (int i = 0; i < n_insts; i++)
		if (write_matrices(dir, info, &insts[i], err, errlen) != 0)
			return -1;
	return 0;
}
