/*
 * The on-disk and in-memory form of the `embedding` type.
 *
 * A varlena holding a 16-bit dimension count and float4 elements.  The layout
 * is deliberately the same shape as pgvector's `vector` (so dumps and binary
 * COPY look familiar to its users) but the type has its own name so both
 * extensions can live in one database.
 */
#ifndef INSTSIM_EMBEDDING_H
#define INSTSIM_EMBEDDING_H

#include "postgres.h"
#include "fmgr.h"

#define EMBEDDING_MAX_DIM 16000

typedef struct Embedding
{
	int32		vl_len_;		/* varlena header (do not touch directly!) */
	int16		dim;			/* number of elements */
	int16		unused;			/* reserved, always zero */
	float		x[FLEXIBLE_ARRAY_MEMBER];
} Embedding;

#define EMBEDDING_SIZE(dim)		(offsetof(Embedding, x) + sizeof(float) * (dim))
#define DatumGetEmbedding(d)	((Embedding *) PG_DETOAST_DATUM(d))
#define PG_GETARG_EMBEDDING_P(n) DatumGetEmbedding(PG_GETARG_DATUM(n))
#define PG_RETURN_EMBEDDING_P(e) PG_RETURN_POINTER(e)

extern Embedding *new_embedding(int dim);
extern void check_embedding_dim(int dim);
extern void check_same_dims(const Embedding *a, const Embedding *b);
extern void check_typmod_dim(int dim, int32 typmod);
extern void check_element(float value);
extern float element_from_double(double v);

#endif
