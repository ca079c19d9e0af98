#include "eval_db.h"

#include <libpq-fe.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audio_encode.h"
#include "distance.h"
#include "errbuf.h"
#include "eval.h"
#include "file_read.h"

/* Distances within this are ties of one kNN list, not disagreements. */
#define DIST_TOLERANCE 1e-5

/* Model files are small (about 1 MB); this only guards against a wrong path. */
#define MODEL_MAX_BYTES ((size_t) 1 << 30)

struct eval_db
{
	PGconn	   *conn;
	eval_db_opts opts;
};

/* Per-model work names: the model in instsim.model and its segment table. */
typedef struct work_names
{
	char		model[128];
	char		table[128];		/* quoted identifier */
	char		index[128];		/* unquoted, as EXPLAIN prints it */
} work_names;

static int
db_error(eval_db *db, PGresult *r, const char *what, char *err, size_t errlen)
{
	is_fail(err, errlen, "%s: %s", what, PQerrorMessage(db->conn));
	PQclear(r);
	return -1;
}

/* Runs a command (or a query whose rows are ignored) with text parameters. */
static int
exec_params(eval_db *db, const char *sql, int n, const char *const *values,
			const int *lengths, const int *formats, char *err, size_t errlen)
{
	PGresult   *r = PQexecParams(db->conn, sql, n, NULL, values, lengths, formats, 0);
	ExecStatusType st = PQresultStatus(r);

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		return db_error(db, r, sql, err, errlen);
	PQclear(r);
	return 0;
}

static int
exec_sql(eval_db *db, const char *sql, char *err, size_t errlen)
{
	return exec_params(db, sql, 0, NULL, NULL, NULL, err, errlen);
}

eval_db *
eval_db_open(const eval_db_opts *opts, char *err, size_t errlen)
{
	eval_db    *db = calloc(1, sizeof(eval_db));
	char		sql[128];

	if (!db)
	{
		is_fail(err, errlen, "out of memory");
		return NULL;
	}
	db->opts = *opts;
	db->conn = PQconnectdb(opts->conninfo);
	if (PQstatus(db->conn) != CONNECTION_OK)
	{
		is_fail(err, errlen, "cannot connect to \"%s\": %s", opts->conninfo,
				PQerrorMessage(db->conn));
		eval_db_close(db);
		return NULL;
	}
	snprintf(sql, sizeof(sql), "SET instsim.ef_search = %d", opts->ef_search);
	if (exec_sql(db, "SET client_min_messages = warning", err, errlen) != 0 ||
		exec_sql(db, "CREATE EXTENSION IF NOT EXISTS instsim", err, errlen) != 0 ||
		exec_sql(db, sql, err, errlen) != 0 ||
		(opts->use_index && exec_sql(db, "SET enable_seqscan = off", err, errlen) != 0))
	{
		eval_db_close(db);
		return NULL;
	}
	return db;
}

void
eval_db_close(eval_db *db)
{
	if (!db)
		return;
	PQfinish(db->conn);
	free(db);
}

static int
load_model(eval_db *db, const char *name, const char *path, char *err, size_t errlen)
{
	char	   *buf;
	size_t		len = 0;
	const char *values[2];
	int			lengths[2] = {0, 0};
	int			formats[2] = {0, 1};
	int			rc;

	if (file_read(path, MODEL_MAX_BYTES, &buf, &len, err, errlen) != 0)
		return -1;
	values[0] = name;
	values[1] = buf;
	lengths[1] = (int) len;
	rc = exec_params(db, "SELECT instsim_model_load($1, $2)", 2, values, lengths, formats,
					 err, errlen);
	free(buf);
	return rc;
}

static int
create_table(eval_db *db, const work_names *w, char *err, size_t errlen)
{
	char		sql[512];

	snprintf(sql, sizeof(sql), "DROP TABLE IF EXISTS %s", w->table);
	if (exec_sql(db, sql, err, errlen) != 0)
		return -1;
	snprintf(sql, sizeof(sql),
			 "CREATE TABLE %s (id int PRIMARY KEY, track int NOT NULL, "
			 "seg int NOT NULL, emb embedding NOT NULL)", w->table);
	return exec_sql(db, sql, err, errlen);
}

/*
 * Sends one track's signal and lets every model's table receive its
 * segments, numbered from first in window order like the in-memory set.
 */
static int
add_track(eval_db *db, const char *root, const slakh_tracks *test, eval_inst *e,
		  const work_names *w, int track, int first, char *err, size_t errlen)
{
	char		dir[4096],
				sql[512],
				tr[16],
				fi[16];
	float	   *x = NULL;
	size_t		n = 0;
	unsigned char *wav = NULL;
	size_t		wav_len = 0;
	is_audio_error ae = {0};
	int			rc = 0;

	snprintf(dir, sizeof(dir), "%s/%s", root, test->names[track]);
	if (slakh_load(dir, NULL, e->inst, &x, &n, err, errlen) != 0)
		return -1;
	if (!x)
		return 0;				/* no such instrument: no segments either way */
	if (is_audio_encode(x, n, 1, SLAKH_RATE, IS_AUDIO_WAV_FLOAT, &wav, &wav_len, &ae) != IS_AUDIO_OK)
		rc = is_fail(err, errlen, "%s: encoding: %s", test->names[track], ae.message);
	free(x);
	snprintf(tr, sizeof(tr), "%d", track);
	snprintf(fi, sizeof(fi), "%d", first);
	for (int j = 0; j < e->n_models && rc == 0; j++)
	{
		const char *values[4] = {(const char *) wav, tr, fi, w[j].model};
		int			lengths[4] = {(int) wav_len, 0, 0, 0};
		int			formats[4] = {1, 0, 0, 0};
		PGresult   *r;

		snprintf(sql, sizeof(sql),
				 "INSERT INTO %s SELECT $3::int + (row_number() OVER (ORDER BY s.seg))::int - 1, "
				 "$2::int, s.seg, s.emb FROM instsim_segments($1, $4) s", w[j].table);
		r = PQexecParams(db->conn, sql, 4, NULL, values, lengths, formats, 0);
		if (PQresultStatus(r) != PGRES_COMMAND_OK)
			rc = db_error(db, r, test->names[track], err, errlen);
		else
		{
			int			got = atoi(PQcmdTuples(r));

			PQclear(r);
			if (got != e->track_segs[track])
				rc = is_fail(err, errlen, "%s %s: the server cut %d segments, the in-memory path %d",
							 test->names[track], slakh_inst_name(e->inst), got, e->track_segs[track]);
		}
	}
	free(wav);
	return rc;
}

static int
build_index(eval_db *db, const work_names *w, char *err, size_t errlen)
{
	char		sql[512];

	snprintf(sql, sizeof(sql),
			 "CREATE INDEX %s ON %s USING instsim_hnsw (emb embedding_cosine_ops)",
			 w->index, w->table);
	if (exec_sql(db, sql, err, errlen) != 0)
		return -1;
	snprintf(sql, sizeof(sql), "ANALYZE %s", w->table);
	return exec_sql(db, sql, err, errlen);
}

/* Does the plan of the kNN query scan the index? */
static int
plan_uses_index(eval_db *db, const char *query, const work_names *w, bool *used,
				char *err, size_t errlen)
{
	char		sql[1024];
	const char *zero = "0";
	PGresult   *r;

	snprintf(sql, sizeof(sql), "EXPLAIN (COSTS OFF) %s", query);
	r = PQexecParams(db->conn, sql, 1, NULL, &zero, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		return db_error(db, r, "EXPLAIN", err, errlen);
	*used = false;
	for (int i = 0; i < PQntuples(r); i++)
		if (strstr(PQgetvalue(r, i, 0), w->index))
			*used = true;
	PQclear(r);
	return 0;
}

/* The k neighbours of segment q other than q itself, through SQL. */
static int
query_knn(eval_db *db, int q, int k, int *out, char *err, size_t errlen)
{
	char		id[16];
	const char *values[1] = {id};
	PGresult   *r;
	int			got = 0;

	snprintf(id, sizeof(id), "%d", q);
	r = PQexecPrepared(db->conn, "knn", 1, values, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		return db_error(db, r, "kNN query", err, errlen);
	for (int i = 0; i < PQntuples(r) && got < k; i++)
	{
		int			v = atoi(PQgetvalue(r, i, 0));

		if (v != q)
			out[got++] = v;
	}
	while (got < k)
		out[got++] = -1;		/* the scan returned too few rows: a miss */
	PQclear(r);
	return 0;
}

/* Compares one SQL neighbour list with the exact one (distances in memory). */
static void
compare_lists(const eval_inst *e, const float *x, int q, const int *exact,
			  const int *sql, int *labels_buf, double *found, bool *list_diff,
			  bool *pred_diff, bool *pred_ok)
{
	const float *xq = x + (size_t) q * e->dim;
	int			k = e->k;

	*list_diff = false;
	for (int i = 0; i < k; i++)
	{
		double		de = is_cosine_distance(xq, x + (size_t) exact[i] * e->dim, e->dim);
		double		ds = sql[i] < 0 || sql[i] >= e->n ? INFINITY :
			is_cosine_distance(xq, x + (size_t) sql[i] * e->dim, e->dim);

		if (!(fabs(de - ds) <= DIST_TOLERANCE))
			*list_diff = true;
		for (int j = 0; j < k; j++)
			if (sql[i] == exact[j])
				*found += 1;
	}
	for (int i = 0; i < k; i++)
		labels_buf[i] = sql[i] < 0 || sql[i] >= e->n ? -1 : e->labels[sql[i]];
	*pred_ok = is_knn_vote(labels_buf, k) == e->labels[q];
	for (int i = 0; i < k; i++)
		labels_buf[i] = e->labels[exact[i]];
	*pred_diff = *pred_ok != (is_knn_vote(labels_buf, k) == e->labels[q]);
}

static int
run_knn(eval_db *db, const work_names *w, eval_inst *e, int j, char *err, size_t errlen)
{
	eval_model_result *res = &e->res[j];
	const float *x = e->emb + (size_t) j * e->n * e->dim;
	char		query[512];
	int		   *sql = malloc(sizeof(int) * e->k);
	int		   *lab = malloc(sizeof(int) * e->k);
	double		found = 0;
	int			correct = 0;
	PGresult   *r;
	int			rc = 0;

	snprintf(query, sizeof(query),
			 "SELECT id FROM %s ORDER BY emb <=> (SELECT emb FROM %s WHERE id = $1) LIMIT %d",
			 w->table, w->table, e->k + 1);
	if (!sql || !lab)
		rc = is_fail(err, errlen, "out of memory");
	if (rc == 0)
		rc = plan_uses_index(db, query, w, &res->sql_index_used, err, errlen);
	if (rc == 0)
	{
		exec_sql(db, "DEALLOCATE ALL", err, errlen);
		r = PQprepare(db->conn, "knn", query, 1, NULL);
		if (PQresultStatus(r) != PGRES_COMMAND_OK)
			rc = db_error(db, r, "PREPARE", err, errlen);
		else
			PQclear(r);
	}
	res->sql_list_mismatch = res->sql_pred_mismatch = 0;
	for (int q = 0; q < e->n && rc == 0; q++)
	{
		bool		list_diff,
					pred_diff,
					ok;

		rc = query_knn(db, q, e->k, sql, err, errlen);
		if (rc != 0)
			break;
		compare_lists(e, x, q, e->nn + ((size_t) j * e->n + q) * e->k, sql, lab,
					  &found, &list_diff, &pred_diff, &ok);
		res->sql_list_mismatch += list_diff;
		res->sql_pred_mismatch += pred_diff;
		correct += ok;
	}
	res->sql_accuracy = e->n ? (double) correct / e->n : 0;
	res->sql_recall = e->n ? found / ((double) e->n * e->k) : 0;
	free(sql);
	free(lab);
	return rc;
}

/* Largest difference between the server's embeddings and the in-memory ones. */
static int
compare_embeddings(eval_db *db, const work_names *w, eval_inst *e, int j,
				   char *err, size_t errlen)
{
	const float *x = e->emb + (size_t) j * e->n * e->dim;
	char		sql[256];
	PGresult   *r;
	double		worst = 0;

	snprintf(sql, sizeof(sql), "SELECT id, emb FROM %s ORDER BY id", w->table);
	r = PQexec(db->conn, sql);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		return db_error(db, r, sql, err, errlen);
	if (PQntuples(r) != e->n)
	{
		PQclear(r);
		return is_fail(err, errlen, "%s holds %d segments, expected %d", w->table,
					   PQntuples(r), e->n);
	}
	for (int i = 0; i < e->n; i++)
	{
		const char *p = PQgetvalue(r, i, 1);
		int			id = atoi(PQgetvalue(r, i, 0));

		for (int d = 0; d < e->dim && id >= 0 && id < e->n; d++)
		{
			char	   *end;
			double		v = strtod(p + 1, &end);	/* skips '[' or ',' */

			worst = fmax(worst, end == p + 1 ? INFINITY : fabs(v - x[(size_t) id * e->dim + d]));
			p = end;
		}
	}
	PQclear(r);
	e->res[j].sql_max_emb_diff = worst;
	return 0;
}

static void
name_work(const eval_db *db, const eval_inst *e, int j, work_names *w)
{
	char		plain[96];
	char	   *quoted;

	snprintf(w->model, sizeof(w->model), "%s_%s_%d", db->opts.table,
			 slakh_inst_name(e->inst), j);
	snprintf(plain, sizeof(plain), "%s_%s_%d", db->opts.table, slakh_inst_name(e->inst), j);
	quoted = PQescapeIdentifier(db->conn, plain, strlen(plain));
	snprintf(w->table, sizeof(w->table), "%s", quoted ? quoted : "\"?\"");
	PQfreemem(quoted);
	snprintf(w->index, sizeof(w->index), "%s_emb", plain);
}

static void
drop_work(eval_db *db, const work_names *w, int n)
{
	char		sql[512],
				err[256];

	for (int j = 0; j < n; j++)
	{
		const char *v = w[j].model;

		snprintf(sql, sizeof(sql), "DROP TABLE IF EXISTS %s", w[j].table);
		exec_sql(db, sql, err, sizeof(err));
		exec_params(db, "SELECT instsim_model_drop($1)", 1, &v, NULL, NULL, err, sizeof(err));
	}
}

int
eval_db_run(eval_db *db, const char *root, const slakh_tracks *test, eval_inst *e,
			char *err, size_t errlen)
{
	work_names *w = calloc(e->n_models, sizeof(work_names));
	int			rc = 0,
				first = 0;

	if (!w)
		return is_fail(err, errlen, "out of memory");
	for (int j = 0; j < e->n_models; j++)
		name_work(db, e, j, &w[j]);
	for (int j = 0; j < e->n_models && rc == 0; j++)
	{
		rc = load_model(db, w[j].model, e->res[j].model.path, err, errlen);
		if (rc == 0)
			rc = create_table(db, &w[j], err, errlen);
	}
	for (int t = 0; t < test->n && rc == 0; first += e->track_segs[t], t++)
		rc = add_track(db, root, test, e, w, t, first, err, errlen);
	for (int j = 0; j < e->n_models && rc == 0; j++)
	{
		if (db->opts.use_index)
			rc = build_index(db, &w[j], err, errlen);
		if (rc == 0)
			rc = compare_embeddings(db, &w[j], e, j, err, errlen);
		if (rc == 0)
			rc = run_knn(db, &w[j], e, j, err, errlen);
		e->res[j].sql_done = rc == 0;
	}
	if (!db->opts.keep)
		drop_work(db, w, e->n_models);
	free(w);
	return rc;
}
