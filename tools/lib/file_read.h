/*
 * Reading a whole small file (a model, a MIDI file) into memory.
 */
#ifndef INSTSIM_FILE_READ_H
#define INSTSIM_FILE_READ_H

#include <stddef.h>

/*
 * *buf is malloc'd (one spare byte, so callers may NUL-terminate) and *len
 * set.  Files larger than max_bytes are refused.  0, or -1 with err.
 */
int			file_read(const char *path, size_t max_bytes, char **buf, size_t *len,
					  char *err, size_t errlen);

#endif
