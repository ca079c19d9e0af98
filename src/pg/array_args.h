/*
 * Array arguments of the SQL functions: checked once, with messages that
 * name the argument.
 */
#ifndef INSTSIM_ARRAY_ARGS_H
#define INSTSIM_ARRAY_ARGS_H

#include "postgres.h"

#include "utils/array.h"

extern Datum *array_arg_elements(ArrayType *a, const char *what, int *n);

#endif
