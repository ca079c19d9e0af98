/*
 * Piano and the optional fifth part (pad, strings, organ or a lead line).
 * Piano voicings stay in one octave window per song, which voice-leads the
 * changes; styles are block chords, pulsing eighths, arpeggios, syncopated
 * comping, ballad (left-hand root, right-hand broken chord) and stride.
 */
#include "song_int.h"

enum piano_style
{
	P_BLOCK, P_PULSE, P_ARP, P_COMP, P_BALLAD, P_STRIDE, P_N
};

static const char *const names[P_N] = {
	"block", "pulse", "arpeggio", "comping", "ballad", "stride"
};

static const int styles_for[DR_N][4] = {
	[DR_ROCK] = {P_PULSE, P_BLOCK, P_PULSE, P_ARP},
	[DR_POP] = {P_PULSE, P_ARP, P_BALLAD, P_BLOCK},
	[DR_FUNK] = {P_COMP, P_COMP, P_PULSE, P_COMP},
	[DR_DISCO] = {P_PULSE, P_COMP, P_PULSE, P_ARP},
	[DR_HALFTIME] = {P_BLOCK, P_ARP, P_BALLAD, P_PULSE},
	[DR_SHUFFLE] = {P_STRIDE, P_COMP, P_PULSE, P_STRIDE},
	[DR_JAZZ] = {P_COMP, P_COMP, P_STRIDE, P_COMP},
	[DR_BOSSA] = {P_COMP, P_ARP, P_COMP, P_BLOCK},
	[DR_REGGAE] = {P_COMP, P_COMP, P_PULSE, P_COMP},
	[DR_HIPHOP] = {P_BLOCK, P_ARP, P_BALLAD, P_COMP},
	[DR_WALTZ] = {P_STRIDE, P_ARP, P_BALLAD, P_STRIDE},
};

static const int programs_for[DR_N][4] = {
	[DR_ROCK] = {0, 1, 3, 0},
	[DR_POP] = {0, 1, 4, 5},
	[DR_FUNK] = {4, 7, 5, 4},
	[DR_DISCO] = {4, 0, 1, 5},
	[DR_HALFTIME] = {0, 4, 5, 1},
	[DR_SHUFFLE] = {0, 3, 3, 1},
	[DR_JAZZ] = {0, 4, 0, 2},
	[DR_BOSSA] = {0, 4, 5, 2},
	[DR_REGGAE] = {0, 4, 7, 3},
	[DR_HIPHOP] = {4, 5, 0, 2},
	[DR_WALTZ] = {0, 6, 2, 0},
};

const char *
piano_style_name(int style)
{
	return style >= 0 && style < P_N ? names[style] : "?";
}

static const feel piano_feel = {{5, 15}, {6, 14}, {80, 110}, {34, 94}, {20, 80}, {0, 60}};

int
piano_pick(song *s, part *p)
{
	p->style = styles_for[s->drum_style][rand_below(&s->rng, 4)];
	p->program = programs_for[s->drum_style][rand_below(&s->rng, 4)];
	part_feel(s, p, &piano_feel);
	if (p->program < 4)			/* chorus on electric pianos and the like */
		p->chorus = 0;
	return 0;
}

static void
chord_notes(part *p, double tick, double dur, const int *keys, int n, int vel)
{
	for (int i = 0; i < n; i++)
		part_note(p, tick, dur, keys[i], vel);
}

/* The song's comping rhythm: 2-4 stabs per bar off the beat. */
static void
comp_cell(song *s, cell *c)
{
	if (s->drum_style == DR_REGGAE)
	{
		cell_add(c, 4, 1, 0, 80);
		cell_add(c, 12, 1, 0, 80);
		return;
	}
	for (int st = 0; st < s->steps; st += 2)
		if (rand_chance(&s->rng, st % 4 == 0 ? 0.25 : 0.45))
			cell_add(c, st + (s->drum_style == DR_FUNK && rand_chance(&s->rng, 0.4) ? 1 : 0),
					 rand_chance(&s->rng, 0.5) ? 1 : 2.5, 0, st % 4 == 0 ? 86 : 78);
	if (c->n == 0)
		cell_add(c, 6, 2, 0, 82);
}

static void
piano_bar(song *s, part *p, const cell *comp, int bar, int lo)
{
	const section *sec = song_section(s, bar);
	int			vel = sec->energy == 0 ? 68 : sec->energy == 1 ? 80 : 92;
	int			half = s->steps / 2;
	int			keys[CHORD_TONES];
	int			n;
	int			style = sec->energy == 0 && p->style != P_ARP ? P_BLOCK : p->style;

	switch (style)
	{
		case P_BLOCK:
			for (int st = 0; st < s->steps; st += sec->energy == 2 ? 4 : half)
			{
				n = song_voicing(song_chord_at(s, bar, st), lo, keys);
				chord_notes(p, song_tick(s, bar, st), (sec->energy == 2 ? 3.6 : half - 0.4) * PPQ / 4.0,
							keys, n, vel);
			}
			break;
		case P_PULSE:
			for (int st = 0; st < s->steps; st += 2)
			{
				n = song_voicing(song_chord_at(s, bar, st), lo, keys);
				chord_notes(p, song_tick(s, bar, st), 1.6 * PPQ / 4.0, keys, n, st % 4 ? vel - 12 : vel);
			}
			break;
		case P_ARP:
			{
				int			rate = s->bpm < 100 ? 1 : 2;

				for (int st = 0, i = 0; st < s->steps; st += rate, i++)
				{
					int			seq[2 * CHORD_TONES];
					int			m;

					n = song_voicing(song_chord_at(s, bar, st), lo, keys);
					for (m = 0; m < n; m++)
						seq[m] = keys[m];
					seq[m++] = keys[0] + 12;
					/* up then down, without repeating the turning notes */
					part_note(p, song_tick(s, bar, st), rate * 2.5 * PPQ / 4.0,
							  seq[(i % (2 * m - 2)) < m ? i % (2 * m - 2) : 2 * m - 2 - i % (2 * m - 2)],
							  vel - (st % 4 ? 10 : 0));
				}
			}
			break;
		case P_COMP:
			for (int i = 0; i < comp->n; i++)
			{
				n = song_voicing(song_chord_at(s, bar, comp->hit[i].step), lo, keys);
				chord_notes(p, song_tick(s, bar, comp->hit[i].step), comp->hit[i].len * PPQ / 4.0,
							keys, n, comp->hit[i].vel + vel - 80);
			}
			break;
		case P_BALLAD:
		case P_STRIDE:
			for (int beat = 0; beat < s->beats; beat++)
			{
				const chord *ch = song_chord_at(s, bar, beat * 4);
				bool		bass_beat = style == P_BALLAD ? beat % 2 == 0 : beat == 0 || (s->beats == 4 && beat == 2);

				n = song_voicing(ch, lo, keys);
				if (bass_beat)
					part_note(p, song_tick(s, bar, beat * 4), (style == P_BALLAD ? 7.5 : 3.5) * PPQ / 4.0,
							  key_at_or_above(ch->root, 36), vel);
				if (style == P_STRIDE && !bass_beat)
					chord_notes(p, song_tick(s, bar, beat * 4), 2.5 * PPQ / 4.0, keys, n, vel - 8);
				if (style == P_BALLAD)
					for (int k = 0; k < 2; k++)
						part_note(p, song_tick(s, bar, beat * 4 + 2 * k), 3 * PPQ / 4.0,
								  keys[(beat * 2 + k) % n], vel - 10);
			}
			break;
	}
}

void
piano_compose(song *s, part *p)
{
	cell		comp = {0};
	int			lo = rand_range(&s->rng, 53, 62);
	int			keys[CHORD_TONES];

	comp_cell(s, &comp);
	for (int bar = 0; bar < s->n_bars; bar++)
		if (!song_tacet(s, p, bar))
			piano_bar(s, p, &comp, bar, lo);
	song_ending(s, p, keys, song_voicing(song_chord_at(s, s->n_bars - 1, s->steps - 1), lo, keys));
}

/* ---- the fifth part -------------------------------------------------------- */

static const int pad_programs[] = {48, 49, 50, 16, 17, 19, 88, 89, 90, 91, 94, 52};
static const int lead_programs[] = {80, 81, 56, 65, 66, 73, 71, 61};

static const feel extra_feel = {{6, 14}, {8, 8}, {60, 95}, {24, 104}, {40, 100}, {0, 50}};

int
extra_pick(song *s, part *p)
{
	bool		lead = rand_chance(&s->rng, 0.35);

	p->style = lead;
	p->program = lead ? lead_programs[rand_below(&s->rng, sizeof(lead_programs) / sizeof(int))]
		: pad_programs[rand_below(&s->rng, sizeof(pad_programs) / sizeof(int))];
	part_feel(s, p, &extra_feel);
	return 0;
}

/* A free line over one bar: mostly chord tones, else notes of the key's pentatonic scale. */
static void
lead_phrase(song *s, part *p, int bar, int lo)
{
	static const int major_penta[] = {0, 2, 4, 7, 9};
	static const int minor_penta[] = {0, 3, 5, 7, 10};
	const int  *scale = s->minor ? minor_penta : major_penta;

	for (int st = 0; st < s->steps;)
	{
		const chord *ch = song_chord_at(s, bar, st);
		int			len = rand_chance(&s->rng, 0.5) ? 2 : rand_chance(&s->rng, 0.5) ? 4 : 6;
		int			key = rand_chance(&s->rng, 0.6)
			? key_at_or_above((ch->root + ch->iv[rand_below(&s->rng, (uint32_t) ch->n)]) % 12, lo)
			: key_at_or_above((s->key + scale[rand_below(&s->rng, 5)]) % 12, lo);

		if (rand_chance(&s->rng, 0.8))
			part_note(p, song_tick(s, bar, st), (len - 0.3) * PPQ / 4.0, key, 88);
		st += len;
	}
}

void
extra_compose(song *s, part *p)
{
	int			lo = p->style ? rand_range(&s->rng, 62, 70) : rand_range(&s->rng, 55, 64);
	int			keys[CHORD_TONES];

	for (int bar = 0; bar < s->n_bars; bar++)
	{
		const section *sec = song_section(s, bar);

		if (sec->kind == SEC_INTRO)
			continue;
		if (p->style)
		{
			if (sec->kind == SEC_CHORUS || sec->kind == SEC_BRIDGE)
				lead_phrase(s, p, bar, lo);
			continue;
		}
		for (int h = 0; h < 2; h++)
		{
			int			n = song_voicing(song_chord_at(s, bar, h * s->steps / 2.0), lo, keys);

			chord_notes(p, song_tick(s, bar, h * s->steps / 2.0), (s->steps / 2.0 - 0.2) * PPQ / 4.0,
						keys, n, sec->energy == 2 ? 80 : 66);
		}
	}
}
