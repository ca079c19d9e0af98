#include "eval_listen.h"

#include <libpq-fe.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errbuf.h"
#include "eval.h"
#include "rng.h"

#define MIN_PAIRS 3

static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return (x > y) - (x < y);
}

/* Percentile bootstrap of rho over pairs resampled with replacement. */
static int
bootstrap_rho(const double *rating, const double *dist, int n, int b, uint64_t seed,
			  double *lo, double *hi)
{
	double	   *ra = malloc(sizeof(double) * n),
			   *da = malloc(sizeof(double) * n),
			   *rho = malloc(sizeof(double) * (b > 0 ? b : 1));
	int			got = 0;
	is_rng		rng;

	*lo = *hi = NAN;
	if (!ra || !da || !rho)
	{
		free(ra), free(da), free(rho);
		return -1;
	}
	is_rng_seed(&rng, seed);
	for (int k = 0; k < b; k++)
	{
		double		v;

		for (int i = 0; i < n; i++)
		{
			int			j = is_rng_below(&rng, n);

			ra[i] = rating[j];
			da[i] = dist[j];
		}
		/* a resample without spread has no rho: left out, as is usual */
		if (!isnan(v = is_spearman(ra, da, n)))
			rho[got++] = v;
	}
	if (got >= 20)
	{
		qsort(rho, got, sizeof(double), cmp_double);
		*lo = rho[(int) floor(0.025 * (got - 1))];
		*hi = rho[(int) ceil(0.975 * (got - 1))];
	}
	free(ra), free(da), free(rho);
	return 0;
}

/* Mean Spearman over the rater pairs that share MIN_PAIRS rated pairs. */
static int
agreement(const listen_rating *r, int n, int n_pairs, int raters, listen_result *out)
{
	/* ratings[pair][rater], 0 for none; pairs numbered 0.. in r's order */
	int		   *grid = calloc((size_t) n_pairs * raters, sizeof(int));
	double	   *x = malloc(sizeof(double) * n_pairs),
			   *y = malloc(sizeof(double) * n_pairs),
				sum = 0;

	out->agreement = NAN;
	out->rater_pairs = 0;
	if (!grid || !x || !y)
	{
		free(grid), free(x), free(y);
		return -1;
	}
	for (int i = 0, p = -1; i < n; i++)
	{
		if (i == 0 || r[i].pair != r[i - 1].pair)
			p++;
		grid[(size_t) p * raters + r[i].rater] = r[i].rating;
	}
	for (int a = 0; a < raters; a++)
		for (int b = a + 1; b < raters; b++)
		{
			int			m = 0;
			double		rho;

			for (int p = 0; p < n_pairs; p++)
				if (grid[(size_t) p * raters + a] && grid[(size_t) p * raters + b])
				{
					x[m] = grid[(size_t) p * raters + a];
					y[m++] = grid[(size_t) p * raters + b];
				}
			if (m >= MIN_PAIRS && !isnan(rho = is_spearman(x, y, m)))
				sum += rho, out->rater_pairs++;
		}
	if (out->rater_pairs)
		out->agreement = sum / out->rater_pairs;
	free(grid), free(x), free(y);
	return 0;
}

int
listen_evaluate(const listen_rating *r, int n, int bootstrap, uint64_t seed, listen_result *out)
{
	double	   *rating = malloc(sizeof(double) * (n ? n : 1)),
			   *dist = malloc(sizeof(double) * (n ? n : 1));
	int			np = 0,
				raters = 0,
				rc = 0;

	memset(out, 0, sizeof(*out));
	out->rho = out->lo = out->hi = NAN;
	if (!rating || !dist)
	{
		free(rating), free(dist);
		return -1;
	}
	for (int i = 0; i < n;)
	{
		int			j = i;
		double		sum = 0;

		for (; j < n && r[j].pair == r[i].pair; j++)
			sum += r[j].rating;
		rating[np] = sum / (j - i);
		dist[np++] = r[i].distance;
		i = j;
	}
	for (int i = 0; i < n; i++)
		if (r[i].rater + 1 > raters)
			raters = r[i].rater + 1;
	out->pairs = np;
	out->ratings = n;
	if (np >= MIN_PAIRS)
	{
		out->rho = is_spearman(rating, dist, np);
		rc = bootstrap_rho(rating, dist, np, bootstrap, seed, &out->lo, &out->hi);
	}
	if (rc == 0)
		rc = agreement(r, n, np, raters, out);
	/* raters who rated this instrument (numbers are shared across instruments) */
	out->raters = 0;
	for (int k = 0; k < raters; k++)
		for (int i = 0; i < n; i++)
			if (r[i].rater == k)
			{
				out->raters++;
				break;
			}
	free(rating), free(dist);
	return rc;
}

static void
print_result(const char *inst, const listen_result *res)
{
	printf("%-8s %d pairs  %d ratings  %d raters  Spearman %.3f [%.3f, %.3f]", inst, res->pairs,
		   res->ratings, res->raters, res->rho, res->lo, res->hi);
	if (res->rater_pairs)
		printf("  agreement %.3f (%d rater pairs)\n", res->agreement, res->rater_pairs);
	else
		printf("  agreement n/a (no two raters share %d pairs)\n", MIN_PAIRS);
}

int
listen_report(const char *conninfo, const char *catalogue, int bootstrap, uint64_t seed,
			  char *err, size_t errlen)
{
	PGconn	   *conn = PQconnectdb(conninfo);
	const char *values[1] = {catalogue};
	PGresult   *res;
	listen_rating *r = NULL;
	int			n,
				rc = 0;

	if (PQstatus(conn) != CONNECTION_OK)
	{
		is_fail(err, errlen, "cannot connect to \"%s\": %s", conninfo, PQerrorMessage(conn));
		PQfinish(conn);
		return -1;
	}
	/* raters numbered in one dense_rank over the whole result */
	res = PQexecParams(conn, "SELECT instrument, pair, distance, "
					   "  dense_rank() OVER (ORDER BY rater) - 1, rating, catalogue "
					   "FROM instsim.listening_ratings WHERE $1::text IS NULL OR catalogue = $1 "
					   "ORDER BY catalogue, instrument, pair, rater", 1, NULL, values, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		rc = is_fail(err, errlen, "reading instsim.listening_ratings: %s", PQerrorMessage(conn));
	n = rc == 0 ? PQntuples(res) : 0;
	if (rc == 0 && n == 0)
		printf("no ratings yet%s%s\n", catalogue ? " for " : "", catalogue ? catalogue : "");
	if (rc == 0 && n > 0 && !(r = malloc(sizeof(listen_rating) * n)))
		rc = is_fail(err, errlen, "out of memory");
	for (int i = 0; rc == 0 && i < n; i++)
		r[i] = (listen_rating) {atoi(PQgetvalue(res, i, 1)), strtod(PQgetvalue(res, i, 2), NULL),
		atoi(PQgetvalue(res, i, 3)), atoi(PQgetvalue(res, i, 4))};
	if (rc == 0 && n > 0)
		printf("listening test: Spearman between mean rating and distance (negative = the\n"
			   "ears agree with the metric), bootstrap 95%% interval over %d resamples\n", bootstrap);
	for (int i = 0; rc == 0 && i < n;)
	{
		int			j = i;
		listen_result out;

		while (j < n && strcmp(PQgetvalue(res, j, 0), PQgetvalue(res, i, 0)) == 0 &&
			   strcmp(PQgetvalue(res, j, 5), PQgetvalue(res, i, 5)) == 0)
			j++;
		if (i == 0 || strcmp(PQgetvalue(res, i, 5), PQgetvalue(res, i - 1, 5)) != 0)
			printf("catalogue %s\n", PQgetvalue(res, i, 5));
		if (listen_evaluate(r + i, j - i, bootstrap, seed, &out) != 0)
			rc = is_fail(err, errlen, "out of memory");
		else
			print_result(PQgetvalue(res, i, 0), &out);
		i = j;
	}
	free(r);
	PQclear(res);
	PQfinish(conn);
	return rc;
}
