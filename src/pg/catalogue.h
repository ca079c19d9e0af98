/*
 * The catalogue questions (src/sql/8?_*.sql) are answered by reading
 * index-ordered streams: SPI cursors over "SELECT key, ... ORDER BY distance",
 * which an instsim_hnsw index serves with its iterative scan.  A stream is
 * read a batch at a time and stops as soon as the caller has its answer, so
 * the index does only the work the question needs.
 */
#ifndef INSTSIM_CATALOGUE_H
#define INSTSIM_CATALOGUE_H

#include "postgres.h"

#include "executor/spi.h"

typedef struct CatStream
{
	const char *label;			/* what a NOTICE names: the column ordered by */
	Portal		portal;
	int			batch_rows;		/* rows per fetch */
	SPITupleTable *batch;
	uint64		pos;			/* next row of batch */
	int64		rows;			/* rows read so far */
	int64		max_rows;		/* instsim.max_scan_tuples when opened */
	bool		index_cut;		/* an index scan under it stopped at instsim.max_scan_tuples */
	bool		ended;
	bool		cut;			/* ended by instsim.max_scan_tuples, not by running out */
} CatStream;

/*
 * Opens a read-only cursor over sql with parameters $1..$nargs (none NULL),
 * planned for a fast start.  Call inside SPI_connect.
 */
extern void cat_stream_open(CatStream *s, const char *label, const char *sql,
							int nargs, Oid *argtypes, Datum *args, int batch_rows);

/*
 * The next row, or NULL once the stream has ended (s->cut then tells whether
 * an index scan, or this stream's own bound of instsim.max_scan_tuples rows,
 * cut it short).  The row lives until the next call.
 */
extern HeapTuple cat_stream_next(CatStream *s);
extern TupleDesc cat_stream_desc(CatStream *s);
extern void cat_stream_close(CatStream *s);

/*
 * Checks that column attno of the stream's rows has type expected (the
 * callers' SQL guarantees it, but the helpers can be called directly).
 */
extern void cat_stream_check_column(CatStream *s, int attno, Oid expected);

/*
 * The NOTICE for a stream cut short before the answer was certain; the
 * result stays the best found among the rows read.
 */
extern void cat_stream_notice_cut(CatStream *s, int k);

/*
 * A set of key values, each with a counter: the rows a question has already
 * seen (or counted) by key.  Keys are compared by their binary image, so any
 * type works, including types without a hash opclass.
 */
typedef struct CatKeys CatKeys;

extern CatKeys *cat_keys_create(MemoryContext cxt, Oid type);

/*
 * The counter of key (0 when new; the key is then copied into the set's
 * memory) and, in *stored, the set's copy of the key, valid as long as the
 * set.
 */
extern int *cat_keys_counter(CatKeys *keys, Datum key, Datum *stored);

#endif
