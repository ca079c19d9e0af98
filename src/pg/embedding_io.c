/*
 * Construction, validation and the text / binary / typmod I/O of `embedding`.
 */
#include "postgres.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "catalog/pg_type.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "common/shortest_dec.h"
#include "utils/float.h"

#include "embedding.h"

Embedding *
new_embedding(int dim)
{
	Size		size = EMBEDDING_SIZE(dim);
	Embedding  *result = (Embedding *) palloc0(size);

	SET_VARSIZE(result, size);
	result->dim = dim;
	return result;
}

void
check_embedding_dim(int dim)
{
	if (dim < 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("embedding must have at least 1 dimension")));
	if (dim > EMBEDDING_MAX_DIM)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("embedding cannot have more than %d dimensions", EMBEDDING_MAX_DIM),
				 errdetail("It has %d.", dim)));
}

void
check_same_dims(const Embedding *a, const Embedding *b)
{
	if (a->dim != b->dim)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("different embedding dimensions %d and %d", a->dim, b->dim),
				 errhint("Compare embeddings from the same model, or cast with embedding(n).")));
}

void
check_element(float value)
{
	if (isnan(value))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("NaN not allowed in embedding")));
	if (isinf(value))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("infinite value not allowed in embedding")));
}

/*
 * A double as an element: rounded to float4 as float8::float4 does, so values
 * just past FLT_MAX that round to it are accepted (like the text form), and
 * larger ones are out of range rather than infinite.
 */
float
element_from_double(double v)
{
	float		f = (float) v;

	if (unlikely(isinf(f)) && isfinite(v))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("value %g is out of range for type embedding", v)));
	check_element(f);
	return f;
}

/* Checks a value against the column's declared dimension, if any. */
void
check_typmod_dim(int dim, int32 typmod)
{
	if (typmod != -1 && dim != typmod)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("expected %d dimensions, not %d", typmod, dim)));
}

static inline bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static void
bad_text(const char *lit, const char *why)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type embedding: \"%s\"", lit),
			 errdetail("%s", why),
			 errhint("Write embeddings as [1.5,2,-3e-2].")));
}

PG_FUNCTION_INFO_V1(embedding_in);
Datum
embedding_in(PG_FUNCTION_ARGS)
{
	char	   *lit = PG_GETARG_CSTRING(0);
	int32		typmod = PG_GETARG_INT32(2);
	float	   *values;
	int			capacity = 16;
	int			dim = 0;
	char	   *p = lit;
	Embedding  *result;

	while (is_space(*p))
		p++;
	if (*p != '[')
		bad_text(lit, "Embedding contents must start with \"[\".");
	p++;
	while (is_space(*p))
		p++;
	if (*p == ']')
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("embedding must have at least 1 dimension")));

	values = palloc(sizeof(float) * capacity);
	for (;;)
	{
		char	   *end;
		float		v;

		if (dim == EMBEDDING_MAX_DIM)
			check_embedding_dim(dim + 1);
		while (is_space(*p))
			p++;
		/* strtof would accept these spellings; reject them before it does */
		if (pg_strncasecmp(p, "nan", 3) == 0 || pg_strncasecmp(p, "inf", 3) == 0 ||
			pg_strncasecmp(p, "+inf", 4) == 0 || pg_strncasecmp(p, "-inf", 4) == 0)
			check_element(pg_strncasecmp(p, "nan", 3) == 0 ? NAN : INFINITY);
		if (*p == '\0' || *p == ',' || *p == ']')
			bad_text(lit, "Expected a number.");
		errno = 0;
		v = strtof(p, &end);
		if (end == p)
			bad_text(lit, "Expected a number.");
		if (errno == ERANGE && isinf(v))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("\"%.*s\" is out of range for type embedding", (int) (end - p), p)));
		check_element(v);
		if (dim == capacity)
		{
			capacity *= 2;
			values = repalloc(values, sizeof(float) * capacity);
		}
		values[dim++] = v;
		p = end;
		while (is_space(*p))
			p++;
		if (*p == ',')
		{
			p++;
			continue;
		}
		if (*p == ']')
			break;
		bad_text(lit, *p == '\0' ? "Missing \"]\"." : "Expected \",\" or \"]\".");
	}
	p++;
	while (is_space(*p))
		p++;
	if (*p != '\0')
		bad_text(lit, "Junk after closing \"]\".");

	check_typmod_dim(dim, typmod);
	result = new_embedding(dim);
	memcpy(result->x, values, sizeof(float) * dim);
	pfree(values);
	PG_RETURN_EMBEDDING_P(result);
}

PG_FUNCTION_INFO_V1(embedding_out);
Datum
embedding_out(PG_FUNCTION_ARGS)
{
	Embedding  *e = PG_GETARG_EMBEDDING_P(0);
	StringInfoData buf;

	/* shortest exact float text is at most 15 chars; plus a separator */
	initStringInfo(&buf);
	enlargeStringInfo(&buf, e->dim * 16 + 2);
	appendStringInfoChar(&buf, '[');
	for (int i = 0; i < e->dim; i++)
	{
		if (i > 0)
			appendStringInfoChar(&buf, ',');
		/* float_to_shortest_decimal_buf: round-trips exactly, like float4out */
		buf.len += float_to_shortest_decimal_buf(e->x[i], buf.data + buf.len);
	}
	appendStringInfoChar(&buf, ']');
	PG_FREE_IF_COPY(e, 0);
	PG_RETURN_CSTRING(buf.data);
}

PG_FUNCTION_INFO_V1(embedding_typmod_in);
Datum
embedding_typmod_in(PG_FUNCTION_ARGS)
{
	ArrayType  *ta = PG_GETARG_ARRAYTYPE_P(0);
	int32	   *mods;
	int			n;

	mods = ArrayGetIntegerTypmods(ta, &n);
	if (n != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid type modifier"),
				 errdetail("embedding takes one modifier: the number of dimensions.")));
	check_embedding_dim(mods[0]);
	PG_RETURN_INT32(mods[0]);
}

PG_FUNCTION_INFO_V1(embedding_typmod_out);
Datum
embedding_typmod_out(PG_FUNCTION_ARGS)
{
	int32		typmod = PG_GETARG_INT32(0);

	PG_RETURN_CSTRING(typmod < 0 ? pstrdup("") : psprintf("(%d)", typmod));
}

/* Length coercion: `::embedding(n)` and assignment to an embedding(n) column. */
PG_FUNCTION_INFO_V1(embedding_coerce);
Datum
embedding_coerce(PG_FUNCTION_ARGS)
{
	Embedding  *e = PG_GETARG_EMBEDDING_P(0);

	check_typmod_dim(e->dim, PG_GETARG_INT32(1));
	PG_RETURN_EMBEDDING_P(e);
}

PG_FUNCTION_INFO_V1(embedding_recv);
Datum
embedding_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int32		typmod = PG_GETARG_INT32(2);
	int			dim = (int16) pq_getmsgint(buf, sizeof(int16));
	int			unused = (int16) pq_getmsgint(buf, sizeof(int16));
	Embedding  *result;

	check_embedding_dim(dim);
	if (unused != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary embedding: reserved field is %d, expected 0", unused)));
	if (buf->len - buf->cursor != (int) sizeof(float) * dim)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary embedding: %d dimensions need %d bytes, message has %d",
						dim, (int) sizeof(float) * dim, buf->len - buf->cursor)));
	check_typmod_dim(dim, typmod);

	result = new_embedding(dim);
	for (int i = 0; i < dim; i++)
	{
		result->x[i] = pq_getmsgfloat4(buf);
		check_element(result->x[i]);
	}
	PG_RETURN_EMBEDDING_P(result);
}

PG_FUNCTION_INFO_V1(embedding_send);
Datum
embedding_send(PG_FUNCTION_ARGS)
{
	Embedding  *e = PG_GETARG_EMBEDDING_P(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendint16(&buf, e->dim);
	pq_sendint16(&buf, e->unused);
	for (int i = 0; i < e->dim; i++)
		pq_sendfloat4(&buf, e->x[i]);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}
