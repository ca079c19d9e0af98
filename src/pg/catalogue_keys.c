/*
 * A set of key values with a counter each (catalogue.h), on simplehash.
 *
 * Keys are hashed and compared by their binary image (datum_image_hash /
 * datum_image_eq, which see through TOAST and short headers): the same row's
 * key read by two streams has the same image, and the key's type needs no
 * hash opclass.  Two distinct values that compare equal under the type's own
 * equality (numeric 1.0 and 1.00) count as different keys, which only
 * matters for a key column that is not unique.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"

#include "catalogue.h"

typedef struct KeyEntry
{
	Datum		key;
	uint32		hash;
	int			count;
	char		status;
} KeyEntry;

typedef struct KeyType
{
	int16		typlen;
	bool		typbyval;
} KeyType;

#define SH_PREFIX		keyset
#define SH_ELEMENT_TYPE	KeyEntry
#define SH_KEY_TYPE		Datum
#define SH_KEY			key
#define SH_HASH_KEY(tb, k) \
	datum_image_hash(k, ((KeyType *) (tb)->private_data)->typbyval, \
					 ((KeyType *) (tb)->private_data)->typlen)
#define SH_EQUAL(tb, a, b) \
	datum_image_eq(a, b, ((KeyType *) (tb)->private_data)->typbyval, \
				   ((KeyType *) (tb)->private_data)->typlen)
#define SH_STORE_HASH
#define SH_GET_HASH(tb, a) ((a)->hash)
#define SH_SCOPE		static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

struct CatKeys
{
	MemoryContext cxt;
	KeyType		type;
	keyset_hash *hash;
};

CatKeys *
cat_keys_create(MemoryContext cxt, Oid type)
{
	CatKeys    *keys = MemoryContextAlloc(cxt, sizeof(CatKeys));

	keys->cxt = cxt;
	get_typlenbyval(type, &keys->type.typlen, &keys->type.typbyval);
	keys->hash = keyset_create(cxt, 256, &keys->type);
	return keys;
}

int *
cat_keys_counter(CatKeys *keys, Datum key, Datum *stored)
{
	bool		found;
	KeyEntry   *e = keyset_lookup(keys->hash, key);

	if (e == NULL)
	{
		/* the set outlives the row the key came from, and its TOAST pointer */
		MemoryContext old = MemoryContextSwitchTo(keys->cxt);
		Datum		copy = keys->type.typlen == -1 ?
			PointerGetDatum(PG_DETOAST_DATUM_COPY(key)) :
			datumCopy(key, keys->type.typbyval, keys->type.typlen);

		MemoryContextSwitchTo(old);
		e = keyset_insert(keys->hash, copy, &found);
		e->count = 0;
	}
	*stored = e->key;
	return &e->count;
}
