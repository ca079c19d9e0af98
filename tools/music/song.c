#include "song.h"
#include "errbuf.h"
#include "song_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum quality
{
	MAJ, MIN, DIM, SUS4
};

typedef struct prog_chord
{
	int			offset;			/* semitones above the tonic */
	int			quality;
} prog_chord;

#define PROG_LEN 4

static const prog_chord major_progs[][PROG_LEN] = {
	{{0, MAJ}, {7, MAJ}, {9, MIN}, {5, MAJ}},
	{{0, MAJ}, {5, MAJ}, {7, MAJ}, {5, MAJ}},
	{{9, MIN}, {5, MAJ}, {0, MAJ}, {7, MAJ}},
	{{0, MAJ}, {9, MIN}, {5, MAJ}, {7, MAJ}},
	{{2, MIN}, {7, MAJ}, {0, MAJ}, {0, MAJ}},
	{{0, MAJ}, {5, MAJ}, {0, MAJ}, {7, MAJ}},
	{{0, MAJ}, {4, MIN}, {5, MAJ}, {7, MAJ}},
	{{5, MAJ}, {0, MAJ}, {7, MAJ}, {9, MIN}},
	{{0, MAJ}, {10, MAJ}, {5, MAJ}, {0, MAJ}},
	{{0, MAJ}, {2, MIN}, {5, MAJ}, {7, SUS4}},
	{{5, MAJ}, {7, MAJ}, {4, MIN}, {9, MIN}},
};

static const prog_chord minor_progs[][PROG_LEN] = {
	{{0, MIN}, {8, MAJ}, {3, MAJ}, {10, MAJ}},
	{{0, MIN}, {5, MIN}, {7, MIN}, {0, MIN}},
	{{0, MIN}, {10, MAJ}, {8, MAJ}, {10, MAJ}},
	{{0, MIN}, {5, MIN}, {10, MAJ}, {3, MAJ}},
	{{0, MIN}, {8, MAJ}, {5, MIN}, {7, MAJ}},
	{{0, MIN}, {3, MAJ}, {10, MAJ}, {5, MIN}},
	{{0, MIN}, {0, MIN}, {8, MAJ}, {7, MAJ}},
	{{2, DIM}, {7, MAJ}, {0, MIN}, {0, MIN}},
};

#define N_MAJOR_PROGS (int) (sizeof(major_progs) / sizeof(major_progs[0]))
#define N_MINOR_PROGS (int) (sizeof(minor_progs) / sizeof(minor_progs[0]))

static const char *const key_names[12] = {
	"C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"
};

static chord
make_chord(const song *s, prog_chord pc, bool dominant)
{
	chord		c = {.root = (s->key + pc.offset) % 12, .n = 3};

	c.iv[0] = 0;
	c.iv[2] = pc.quality == DIM ? 6 : 7;
	c.iv[1] = pc.quality == MAJ ? 4 : pc.quality == SUS4 ? 5 : 3;
	if (s->sevenths && pc.quality != SUS4)
	{
		c.n = 4;
		c.iv[3] = pc.quality == MAJ ? (dominant ? 10 : 11) : pc.quality == DIM ? 9 : 10;
	}
	return c;
}

/* Section lengths in bars and their energies, extended until the song is long enough. */
static void
plan_form(song *s, int min_bars)
{
	static const int cycle[] = {SEC_VERSE, SEC_CHORUS, SEC_VERSE, SEC_CHORUS,
	SEC_BRIDGE, SEC_CHORUS};
	int			verse_len = rand_chance(&s->rng, 0.7) ? 8 : 4;
	int			chorus_len = rand_chance(&s->rng, 0.7) ? 8 : 4;
	int			bar = 0;
	int			i = 0;

	if (s->beats == 3)
	{
		verse_len *= 2;
		chorus_len *= 2;
	}
	s->n_sections = 0;
	s->sec[s->n_sections++] = (section)
	{
		SEC_INTRO, 0, rand_chance(&s->rng, 0.5) ? 2 : 4, 0
	};
	bar = s->sec[0].n_bars;
	while (bar < min_bars && s->n_sections < MAX_SECTIONS - 1)
	{
		int			kind = cycle[i++ % (int) (sizeof(cycle) / sizeof(cycle[0]))];
		int			len = kind == SEC_VERSE ? verse_len : kind == SEC_CHORUS ? chorus_len : 4;

		if (bar + len > MAX_BARS - 4)
			break;
		s->sec[s->n_sections++] = (section)
		{
			kind, bar, len, kind == SEC_CHORUS ? 2 : kind == SEC_BRIDGE ? rand_range(&s->rng, 0, 1) : 1
		};
		bar += len;
	}
	s->sec[s->n_sections++] = (section)
	{
		SEC_OUTRO, bar, rand_chance(&s->rng, 0.5) ? 2 : 4, 1
	};
	s->n_bars = bar + s->sec[s->n_sections - 1].n_bars;
	for (int k = 0; k < s->n_sections; k++)
		for (int b = s->sec[k].start_bar; b < s->sec[k].start_bar + s->sec[k].n_bars; b++)
			s->sec_of_bar[b] = k;
}

/* One progression (and harmonic rhythm) per section kind; intro and outro borrow. */
static void
plan_harmony(song *s)
{
	const prog_chord *prog[5];
	int			per_bar[5];		/* chords per bar: 1 or 2; 0 = one per two bars */

	for (int k = 0; k < 5; k++)
	{
		prog[k] = s->minor ? minor_progs[rand_below(&s->rng, N_MINOR_PROGS)]
			: major_progs[rand_below(&s->rng, N_MAJOR_PROGS)];
		per_bar[k] = s->beats == 3 ? rand_range(&s->rng, 0, 1) : rand_range(&s->rng, 0, 2);
		if (per_bar[k] == 2 && s->bpm < 100)
			per_bar[k] = 1;
	}
	prog[SEC_INTRO] = prog[rand_chance(&s->rng, 0.5) ? SEC_VERSE : SEC_CHORUS];
	prog[SEC_OUTRO] = prog[SEC_CHORUS];
	per_bar[SEC_OUTRO] = per_bar[SEC_CHORUS];
	for (int bar = 0; bar < s->n_bars; bar++)
	{
		const section *sec = song_section(s, bar);
		int			rel = bar - sec->start_bar;

		for (int half = 0; half < 2; half++)
		{
			int			idx;
			prog_chord	pc;

			if (per_bar[sec->kind] == 2)
				idx = (rel * 2 + half) % PROG_LEN;
			else if (per_bar[sec->kind] == 1)
				idx = rel % PROG_LEN;
			else
				idx = (rel / 2) % PROG_LEN;
			pc = prog[sec->kind][idx];
			s->chords[bar][half] = make_chord(s, pc, pc.offset == 7);
		}
	}
}

static void
add_part(song *s, const char *role, int channel, int (*pick) (song *, part *))
{
	part	   *p = &s->parts[s->n_parts++];

	memset(p, 0, sizeof(*p));
	p->role = role;
	p->channel = channel;
	pick(s, p);
}

static void
summarise(song *s)
{
	int			len = snprintf(s->summary, sizeof(s->summary),
							   "%s %.0f bpm %d/4 %s %s, %d bars:",
							   drums_style_name(s->drum_style), s->bpm, s->beats,
							   key_names[s->key], s->minor ? "minor" : "major", s->n_bars);

	for (int i = 0; i < s->n_parts && len < (int) sizeof(s->summary); i++)
	{
		const part *p = &s->parts[i];
		const char *style = i == 1 ? bass_style_name(p->style) : i == 2 ? piano_style_name(p->style)
			: i == 3 ? guitar_style_name(p->style) : "";

		len += snprintf(s->summary + len, sizeof(s->summary) - (size_t) len,
						" %s %d%s%s", p->role, p->program, *style ? " " : "", style);
	}
}

static void
free_song(song *s)
{
	for (int i = 0; i < s->n_parts; i++)
		free(s->parts[i].notes);
}

int
song_generate(uint64_t seed, double seconds, smf *out, song_info *info,
			   char *err, size_t errlen)
{
	song	   *s = calloc(1, sizeof(song));
	int			min_bars;
	bool		failed = false;

	smf_init(out, PPQ);
	memset(info, 0, sizeof(*info));
	if (!s)
		return is_fail(err, errlen, "out of memory");
	if (!(seconds > 0 && seconds < 3600))
	{
		free(s);
		return is_fail(err, errlen, "song length %.3g s is out of range (0, 3600)", seconds);
	}
	is_rng_seed(&s->rng, seed);
	drums_genre(s);
	s->key = rand_range(&s->rng, 0, 11);
	s->minor = rand_chance(&s->rng, 0.4);
	s->sevenths = s->drum_style == DR_JAZZ || s->drum_style == DR_BOSSA ||
		(s->drum_style == DR_FUNK && rand_chance(&s->rng, 0.7)) || rand_chance(&s->rng, 0.15);
	min_bars = (int) ceil(seconds * (1.0 + 0.15 * is_rng_unit(&s->rng)) * s->bpm / 60.0 / s->beats);
	plan_form(s, min_bars);
	plan_harmony(s);
	s->tacet_part = rand_chance(&s->rng, 0.5) ? rand_range(&s->rng, 2, 3) : -1;

	add_part(s, "drums", 9, drums_pick);
	add_part(s, "bass", 0, bass_pick);
	add_part(s, "piano", 1, piano_pick);
	add_part(s, "guitar", 2, guitar_pick);
	if (rand_chance(&s->rng, 0.65))
		add_part(s, "other", 3, extra_pick);
	drums_compose(s, &s->parts[0]);
	bass_compose(s, &s->parts[1]);
	piano_compose(s, &s->parts[2]);
	guitar_compose(s, &s->parts[3]);
	if (s->n_parts > 4)
		extra_compose(s, &s->parts[4]);

	{
		int			t0 = smf_add_track(out, "song");

		smf_tempo(out, t0, 0, s->bpm);
		smf_time_signature(out, t0, 0, s->beats, 2);
	}
	for (int i = 0; i < s->n_parts; i++)
	{
		int			t = smf_add_track(out, s->parts[i].role);

		failed |= s->parts[i].failed;
		part_to_smf(s, &s->parts[i], out, t);
		info->part_track[i] = t;
		info->part_channel[i] = s->parts[i].channel;
	}
	summarise(s);
	info->n_parts = s->n_parts;
	info->bpm = s->bpm;
	info->beats_per_bar = s->beats;
	info->key = s->key;
	info->minor = s->minor;
	info->n_bars = s->n_bars;
	snprintf(info->summary, sizeof(info->summary), "%s", s->summary);
	free_song(s);
	free(s);
	if (failed || out->failed)
	{
		smf_free(out);
		return is_fail(err, errlen, "out of memory composing a song");
	}
	return 0;
}
