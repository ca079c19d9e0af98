/*
 * Drum grooves.  A groove is a one-bar pattern per drum voice on a sixteenth
 * grid ('X' accent, 'x' hit, 'g' ghost, 'o' open hi-hat on the hat line),
 * plus the genre it implies: tempo range, metre and swing.  Each song mutates
 * its groove (extra or missing kicks, sixteenth hats, ride in the chorus),
 * crashes into sections and plays fills at their ends.
 */
#include "song_int.h"

#include <string.h>

#define KICK 36
#define SNARE 38
#define SIDE_STICK 37
#define CLAP 39
#define CLOSED_HAT 42
#define PEDAL_HAT 44
#define OPEN_HAT 46
#define CRASH 49
#define RIDE 51

typedef struct groove
{
	const char *name;
	int			beats;
	double		bpm_lo, bpm_hi;
	double		swing8;
	double		swing16_max;
	const char *kick;
	const char *snare;
	const char *hat;
	const char *ride;			/* NULL: the chorus may switch hats to ride anyway */
	int			snare_note;
	int			hat_note;
	int			kits[3];
} groove;

static const groove grooves[DR_N] = {
	[DR_ROCK] = {"rock", 4, 100, 150, 0, 0, "x.......x.x.....", "....x.......x...",
	"x.x.x.x.x.x.x.x.", NULL, SNARE, CLOSED_HAT, {0, 8, 16}},
	[DR_POP] = {"pop", 4, 88, 128, 0, 0.2, "x.....x...x.....", "....x.......x...",
	"X.x.X.x.X.x.X.x.", NULL, SNARE, CLOSED_HAT, {0, 8, 24}},
	[DR_FUNK] = {"funk", 4, 90, 115, 0, 0.3, "x..x..x...x..x..", "..g.x..g.g..x..g",
	"xgxgxgxgxgxgxgxo", NULL, SNARE, CLOSED_HAT, {0, 8, 0}},
	[DR_DISCO] = {"disco", 4, 112, 128, 0, 0, "x...x...x...x...", "....x.......x...",
	"x.o.x.o.x.o.x.o.", NULL, CLAP, CLOSED_HAT, {0, 24, 25}},
	[DR_HALFTIME] = {"half-time", 4, 130, 160, 0, 0, "x.........x.....", "........x.......",
	"x.x.x.x.x.x.x.x.", NULL, SNARE, CLOSED_HAT, {16, 0, 8}},
	[DR_SHUFFLE] = {"shuffle", 4, 90, 130, 0.67, 0, "x.......x.......", "....x.......x...",
	"x.x.x.x.x.x.x.x.", NULL, SNARE, CLOSED_HAT, {0, 8, 32}},
	[DR_JAZZ] = {"jazz", 4, 110, 180, 0.67, 0, "x..........x....", "......g.......g.",
	"....x.......x...", "x...x.x.x...x.x.", SNARE, PEDAL_HAT, {32, 40, 32}},
	[DR_BOSSA] = {"bossa", 4, 120, 145, 0, 0, "x..xx..xx..xx..x", "x..x..x...x.x...",
	"x.x.x.x.x.x.x.x.", NULL, SIDE_STICK, CLOSED_HAT, {0, 32, 40}},
	[DR_REGGAE] = {"reggae", 4, 68, 90, 0.3, 0, "........x.......", "........x.......",
	"x.x.x.x.x.x.x.x.", NULL, SIDE_STICK, CLOSED_HAT, {0, 8, 0}},
	[DR_HIPHOP] = {"hip-hop", 4, 80, 100, 0, 0.35, "x......x..x.....", "....x.......x...",
	"x.x.x.x.x.x.x.x.", NULL, SNARE, CLOSED_HAT, {25, 24, 0}},
	[DR_WALTZ] = {"waltz", 3, 90, 160, 0, 0, "x...........", "....x...x...",
	"x...x...x...", NULL, SNARE, CLOSED_HAT, {0, 32, 40}},
};

static const int toms[] = {50, 48, 47, 45, 43, 41};

const char *
drums_style_name(int style)
{
	return style >= 0 && style < DR_N ? grooves[style].name : "?";
}

void
drums_genre(song *s)
{
	const groove *g;

	s->drum_style = (int) rand_below(&s->rng, DR_N);
	g = &grooves[s->drum_style];
	s->beats = g->beats;
	s->steps = 4 * g->beats;
	s->bpm = g->bpm_lo + (g->bpm_hi - g->bpm_lo) * is_rng_unit(&s->rng);
	s->bpm = (double) (int) (s->bpm + 0.5);
	s->swing8 = g->swing8;
	s->swing16 = g->swing16_max * is_rng_unit(&s->rng);
}

int
drums_pick(song *s, part *p)
{
	static const feel drums_feel = {{3, 8}, {5, 12}, {95, 115}, {64, 64}, {15, 60}, {0, 0}};
	const groove *g = &grooves[s->drum_style];

	p->program = g->kits[rand_below(&s->rng, 3)];
	p->style = s->drum_style;
	part_feel(s, p, &drums_feel);
	return 0;
}

static int
hit_velocity(char c, double scale)
{
	int			v = c == 'X' ? 112 : c == 'g' ? 42 : 90;

	return (int) (v * scale);
}

/* One bar of a pattern line; 'o' plays open_note instead of note. */
static void
play_line(song *s, part *p, int bar, const char *line, int note, int open_note,
		  double scale, int from_step, int to_step)
{
	for (int st = from_step; st < to_step && line[st]; st++)
	{
		char		c = line[st];

		if (c == '.')
			continue;
		part_note(p, song_tick(s, bar, st), PPQ / 4.0,
				  c == 'o' ? open_note : note, hit_velocity(c, scale));
	}
}

/* Snare and toms on sixteenths over the bar's last `beats` beats, getting louder. */
static void
fill(song *s, part *p, int bar, int beats)
{
	int			from = s->steps - 4 * beats;
	int			tom = rand_range(&s->rng, 0, 2);

	for (int st = from; st < s->steps; st++)
	{
		int			key = rand_chance(&s->rng, 0.4) ? SNARE : toms[(tom + (st - from) / 2) % 6];

		if (rand_chance(&s->rng, 0.15))
			continue;
		part_note(p, song_tick(s, bar, st), PPQ / 4.0, key, 70 + 40 * (st - from) / (s->steps - from));
	}
}

/* The song's own variant of the groove: one mutated kick line and hat line. */
static void
mutate(song *s, const groove *g, char *kick, char *hat)
{
	strcpy(kick, g->kick);
	strcpy(hat, g->hat);
	if (rand_chance(&s->rng, 0.5))
	{
		int			st = 2 * rand_range(&s->rng, 1, s->steps / 2 - 1);

		if (g->snare[st] == '.')
			kick[st] = 'x';
	}
	if (rand_chance(&s->rng, 0.25))
		kick[s->steps - 1 - 2 * rand_range(&s->rng, 0, 1)] = 'g';
	if (g->hat_note == CLOSED_HAT && rand_chance(&s->rng, 0.3))
		for (int st = 1; st < s->steps; st += 2)
			if (hat[st] == '.')
				hat[st] = 'g';
}

void
drums_compose(song *s, part *p)
{
	const groove *g = &grooves[s->drum_style];
	char		kick[17],
				hat[17];
	bool		ride_chorus = g->ride || rand_chance(&s->rng, 0.4);
	double		fill_p = 0.4 + 0.5 * is_rng_unit(&s->rng);

	mutate(s, g, kick, hat);
	for (int bar = 0; bar < s->n_bars; bar++)
	{
		const section *sec = song_section(s, bar);
		double		scale = sec->energy == 0 ? 0.78 : sec->energy == 1 ? 0.9 : 1.0;
		bool		last = song_last_bar_of_section(s, bar) && bar < s->n_bars - 1;
		int			fill_beats = last && rand_chance(&s->rng, fill_p) ? rand_range(&s->rng, 1, 2) : 0;
		int			end = s->steps - 4 * fill_beats;

		if (bar == sec->start_bar && sec->energy > 0)
			part_note(p, song_tick(s, bar, 0), PPQ, CRASH, (int) (105 * scale));
		play_line(s, p, bar, kick, KICK, KICK, scale, 0, end);
		if (sec->energy > 0 || bar % 2 == 1)
			play_line(s, p, bar, g->snare, g->snare_note, g->snare_note, scale, 0, end);
		if (sec->energy == 2 && ride_chorus)
			play_line(s, p, bar, g->ride ? g->ride : "x.x.x.x.x.x.x.x.", RIDE, RIDE, scale, 0, end);
		else
			play_line(s, p, bar, g->ride && sec->energy > 0 ? g->ride : hat,
					  g->ride && sec->energy > 0 ? RIDE : g->hat_note, OPEN_HAT, scale, 0, end);
		if (g->ride && sec->energy > 0)
			play_line(s, p, bar, hat, g->hat_note, OPEN_HAT, scale, 0, end);
		if (fill_beats)
			fill(s, p, bar, fill_beats);
	}
	/* Let the last chord ring on a crash. */
	part_note(p, song_tick(s, s->n_bars, 0), PPQ, CRASH, 100);
	part_note(p, song_tick(s, s->n_bars, 0), PPQ / 4.0, KICK, 100);
}
