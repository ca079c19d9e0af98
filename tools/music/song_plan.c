/*
 * The song plan as the parts read it: where a sixteenth falls once swing is
 * applied, the chord and section of a bar, and the song's humanisation
 * noise.  song.c draws the plan; the instrument files and song_part.c only
 * query it, so the generator's files depend downward: song.c -> song_<part>.c
 * -> song_part.c -> song_plan.c.
 */
#include "song_int.h"

double
song_noise(song *s)
{
	return is_rng_unit(&s->rng) - is_rng_unit(&s->rng);
}

double
song_tick(const song *s, int bar, double step)
{
	double		t = (double) bar * s->beats * PPQ + step * (PPQ / 4.0);
	int			is = (int) step;

	if (step == (double) is)
	{
		if (is % 4 == 2)
			t += s->swing8 * (PPQ / 4.0);
		else if (is % 2 == 1)
			t += s->swing16 * (PPQ / 4.0);
	}
	return t;
}

const chord *
song_chord_at(const song *s, int bar, double step)
{
	if (bar < 0)
		bar = 0;
	if (bar >= s->n_bars)
		bar = s->n_bars - 1;
	return &s->chords[bar][step >= s->steps / 2.0];
}

const section *
song_section(const song *s, int bar)
{
	if (bar < 0 || bar >= s->n_bars)
		bar = s->n_bars - 1;
	return &s->sec[s->sec_of_bar[bar]];
}

bool
song_last_bar_of_section(const song *s, int bar)
{
	const section *sec = song_section(s, bar);

	return bar == sec->start_bar + sec->n_bars - 1;
}

bool
song_tacet(const song *s, const part *p, int bar)
{
	return p - s->parts == s->tacet_part && song_section(s, bar)->kind == SEC_INTRO;
}
