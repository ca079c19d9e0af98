#include "soundfonts.h"
#include "errbuf.h"
#include "rng.h"

#include <stdio.h>
#include <string.h>

#define DRUM_BANK 128

int
soundfonts_load(soundfonts *s, fluid_synth_t *owner, const char *const *paths, int n,
				char *err, size_t errlen)
{
	memset(s, 0, sizeof(*s));
	if (n < 1 || n > SOUNDFONTS_MAX)
		return is_fail(err, errlen, "between 1 and %d soundfonts can be used, not %d",
					   SOUNDFONTS_MAX, n);
	for (int i = 0; i < n; i++)
	{
		const char *base = strrchr(paths[i], '/');
		int			id;

		base = base ? base + 1 : paths[i];
		for (int k = 0; k < i; k++)
			if (strcmp(s->name[k], base) == 0)
				return is_fail(err, errlen, "two soundfonts named %s: the metadata could "
							   "not tell them apart", base);
		/* .sf3 needs FluidSynth built with libsndfile and Ogg Vorbis, as Debian's is */
		id = fluid_synth_sfload(owner, paths[i], 0);
		if (id == FLUID_FAILED || !(s->sfont[i] = fluid_synth_get_sfont_by_id(owner, id)))
			return is_fail(err, errlen, "cannot load soundfont %s (missing, unreadable, "
						   "or a format this FluidSynth cannot read)", paths[i]);
		snprintf(s->name[i], sizeof(s->name[i]), "%s", base);
		s->n++;
	}
	return 0;
}

int
soundfonts_draw(uint64_t key, int slot, int n)
{
	uint64_t	x = key + (uint64_t) slot;

	return (int) (((unsigned __int128) is_rng_splitmix(&x) * (uint64_t) n) >> 64);
}

int
soundfonts_attach(const soundfonts *s, fluid_synth_t *synth, int *ids)
{
	for (int i = 0; i < s->n; i++)
	{
		if ((ids[i] = fluid_synth_add_sfont(synth, s->sfont[i])) == FLUID_FAILED)
		{
			for (int k = 0; k < i; k++)
				fluid_synth_remove_sfont(synth, s->sfont[k]);
			return -1;
		}
	}
	return 0;
}

void
soundfonts_detach(const soundfonts *s, fluid_synth_t *synth)
{
	for (int i = 0; i < s->n; i++)
		fluid_synth_remove_sfont(synth, s->sfont[i]);
}

int
soundfonts_select(const soundfonts *s, fluid_synth_t *synth, const int *ids, int chan,
				  int want, bool drum, int *program)
{
	int			bank = drum ? DRUM_BANK : 0;

	for (int k = 0; k < s->n; k++)
	{
		int			i = (want + k) % s->n;

		if (fluid_synth_program_select(synth, chan, ids[i], bank, *program) == FLUID_OK)
			return i;
		if (drum && fluid_synth_program_select(synth, chan, ids[i], bank, 0) == FLUID_OK)
		{
			*program = 0;
			return i;
		}
	}
	return -1;
}
