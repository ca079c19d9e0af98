/*
 * The corpus's fixed train/test split, kept in ROOT/split.yaml so that every
 * trainer and evaluator run sees the same tracks:
 *
 *   min_segments: 40          selection rule the split was made with
 *   seed: 0                   shuffle seed of the test draw
 *   train: [Track00001, ...]  paths relative to ROOT
 *   test: [...]
 *   excluded: [...]           tracks failing the selection
 */
#ifndef INSTSIM_SPLIT_H
#define INSTSIM_SPLIT_H

#include <stdint.h>

#include "slakh.h"

#define SPLIT_FILE "split.yaml"

typedef struct corpus_split
{
	int			min_segments;
	uint64_t	seed;
	slakh_tracks train;
	slakh_tracks test;
	slakh_tracks excluded;
} corpus_split;

int			split_read(const char *path, corpus_split *s, char *err, size_t errlen);
int			split_write(const char *path, const corpus_split *s, char *err, size_t errlen);
void		split_free(corpus_split *s);

#endif
