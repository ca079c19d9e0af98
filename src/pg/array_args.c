/*
 * Array arguments of the SQL functions (see array_args.h).
 */
#include "postgres.h"

#include "utils/lsyscache.h"

#include "array_args.h"

/*
 * The elements of a one-dimensional array argument without NULLs; `what`
 * names the argument in the errors.
 */
Datum *
array_arg_elements(ArrayType *a, const char *what, int *n)
{
	int16		typlen;
	bool		typbyval;
	char		typalign;
	Datum	   *elems;
	bool	   *nulls;

	if (ARR_NDIM(a) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s must be a one-dimensional array", what)));
	get_typlenbyvalalign(ARR_ELEMTYPE(a), &typlen, &typbyval, &typalign);
	deconstruct_array(a, ARR_ELEMTYPE(a), typlen, typbyval, typalign, &elems, &nulls, n);
	for (int i = 0; i < *n; i++)
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s must not contain NULL (element %d is NULL)", what, i + 1)));
	return elems;
}
