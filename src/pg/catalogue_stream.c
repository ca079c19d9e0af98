/*
 * Index-ordered streams for the catalogue questions: SPI cursors read a
 * batch at a time (see catalogue.h).
 *
 * Planned with CURSOR_OPT_FAST_PLAN: the caller usually needs a few rows of a
 * stream that could go on for the whole table, so the plan that starts
 * returning rows soonest (the index scan, and nested loops through a view's
 * joins) is the right one.  Each stream reads at most instsim.max_scan_tuples
 * rows; an instsim_hnsw scan under it stops by itself after visiting that many
 * graph elements, which instsim_hnsw_scans_cut tells apart from the index
 * running out of rows.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "catalogue.h"
#include "hnsw.h"

void
cat_stream_open(CatStream *s, const char *label, const char *sql,
				int nargs, Oid *argtypes, Datum *args, int batch_rows)
{
	memset(s, 0, sizeof(*s));
	s->label = label;
	s->batch_rows = Max(batch_rows, 1);
	s->max_rows = instsim_hnsw_max_scan_tuples;
	s->portal = SPI_cursor_open_with_args(NULL, sql, nargs, argtypes, args, NULL, true,
										  CURSOR_OPT_FAST_PLAN | CURSOR_OPT_NO_SCROLL);
}

/* Ends the stream; cut says whether rows may have been left unread. */
static void
stream_end(CatStream *s, bool cut)
{
	s->ended = true;
	s->cut = cut;
	if (s->batch)
		SPI_freetuptable(s->batch);
	s->batch = NULL;
}

HeapTuple
cat_stream_next(CatStream *s)
{
	if (s->ended)
		return NULL;
	if (s->batch == NULL || s->pos >= s->batch->numvals)
	{
		uint64		cut_before = instsim_hnsw_scans_cut;
		long		want;

		if (s->rows >= s->max_rows)
		{
			stream_end(s, true);
			return NULL;
		}
		CHECK_FOR_INTERRUPTS();
		if (s->batch)
			SPI_freetuptable(s->batch);
		want = (long) Min((int64) s->batch_rows, s->max_rows - s->rows);
		SPI_cursor_fetch(s->portal, true, want);
		/* an index scan that stops mid-fetch still returns that fetch's rows */
		if (instsim_hnsw_scans_cut != cut_before)
			s->index_cut = true;
		s->batch = SPI_tuptable;
		s->pos = 0;
		if (s->batch == NULL || s->batch->numvals == 0)
		{
			stream_end(s, s->index_cut);
			return NULL;
		}
	}
	s->rows++;
	return s->batch->vals[s->pos++];
}

TupleDesc
cat_stream_desc(CatStream *s)
{
	/* the portal's result shape, known before any row is fetched */
	return s->portal->tupDesc;
}

void
cat_stream_close(CatStream *s)
{
	if (s->batch)
		SPI_freetuptable(s->batch);
	s->batch = NULL;
	SPI_cursor_close(s->portal);
	s->portal = NULL;
}

void
cat_stream_check_column(CatStream *s, int attno, Oid expected)
{
	TupleDesc	desc = cat_stream_desc(s);

	if (desc == NULL || desc->natts < attno)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("the query ordered by %s returns %d columns, expected at least %d",
						s->label, desc ? desc->natts : 0, attno)));
	if (TupleDescAttr(desc, attno - 1)->atttypid != expected)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("column %d of the query ordered by %s is of type %s, expected %s",
						attno, s->label, format_type_be(TupleDescAttr(desc, attno - 1)->atttypid),
						format_type_be(expected))));
}

void
cat_stream_notice_cut(CatStream *s, int k)
{
	ereport(NOTICE,
			(errmsg("instsim: the scan ordered by %s stopped at instsim.max_scan_tuples (%lld) "
					"before the best %d rows were certain",
					s->label, (long long) s->max_rows, k),
			 errdetail("The result is the best found among the rows read; closer rows may "
					   "have been left unread."),
			 errhint("Raise instsim.max_scan_tuples, or make the filter less selective.")));
}
