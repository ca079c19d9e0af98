/*
 * instsim-makemodel: writes the deterministic synthetic model (nn_synth.h)
 * as a model file, for tests and benchmarks until trained models exist.
 *
 *   instsim-makemodel OUT.safetensors [SEED [INSTRUMENT [stem|mix]]]
 */
#include <stdio.h>
#include <stdlib.h>

#include "nn_synth.h"

int
main(int argc, char **argv)
{
	is_frontend fe = IS_FRONTEND_DEFAULT;
	is_model	m;
	char		err[256];
	unsigned long long seed = argc > 2 ? strtoull(argv[2], NULL, 10) : 1;
	int			rc;
	is_input_kind input = IS_INPUT_STEM;

	if (argc < 2 || argc > 5 || (argc > 4 && is_input_kind_parse(argv[4], &input) < 0))
	{
		fprintf(stderr, "usage: %s OUT.safetensors [SEED [INSTRUMENT [stem|mix]]]\n", argv[0]);
		return 2;
	}
	rc = is_model_synth(&m, argc > 3 ? argv[3] : "mix", &fe, seed, err, sizeof(err));
	m.input = input;
	if (rc == 0)
		rc = is_model_save_file(&m, argv[1], err, sizeof(err));
	if (rc == 0)
		printf("%s: %d parameters, sha256 %s\n", argv[1], (int) m.net.n_floats, m.sha256);
	else
		fprintf(stderr, "instsim-makemodel: %s\n", err);
	is_model_free(&m);
	return rc ? 1 : 0;
}
