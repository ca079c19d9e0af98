#include "render.h"
#include "errbuf.h"
#include "gm.h"
#include "hash.h"
#include "soundfonts.h"

#include <fluidsynth.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RATE 44100
#define BLOCK 1024				/* frames per fluid_synth_process call */
#define CHANNELS 256			/* file channels tracked (16 per MIDI port) */
#define MIDI_CHANNEL_STEP 16	/* FluidSynth wants channels in multiples of 16 */
#define NOTE_ON 0x90
#define NOTE_OFF 0x80
#define KEY_PRESSURE 0xA0
#define CONTROL_CHANGE 0xB0
#define PROGRAM_CHANGE 0xC0
#define CHANNEL_PRESSURE 0xD0
#define PITCH_BEND 0xE0
#define CC_BANK_MSB 0
#define CC_BANK_LSB 32

/*
 * The soundfonts are loaded once, into the scan synthesiser (which plays no
 * notes: it only clocks the player in the first pass).  Each file then gets a
 * fresh synthesiser sharing them, with exactly one audio group and effects
 * unit per part: a reused one would carry reverb tails and modulation phases
 * from the previous file into the next, and spare groups cost mixing time.
 */
struct renderer
{
	bool		effects;
	render_choice choice;
	fluid_settings_t *scan_settings;
	fluid_synth_t *scan_synth;
	soundfonts	sf;
};

/* Player callback state: which file channel/program plays which part. */
typedef struct router
{
	fluid_synth_t *synth;		/* NULL while scanning */
	render_out *out;
	int			program[CHANNELS];
	unsigned char sounding[CHANNELS][128];	/* part + 1 holding the key, 0 none */
	int			first_note[RENDER_MAX_PARTS];
	int			n_notes_seen;
	bool		overflow;		/* more than RENDER_MAX_PARTS parts */
} router;

static pthread_once_t fluid_once = PTHREAD_ONCE_INIT;

/*
 * Once per process, before renderers are made on several threads: FluidSynth
 * warns on stderr about harmless file quirks (errors surface through our
 * return codes), and its first synthesiser fills global tables, which we
 * would rather not have two threads race to do.
 */
static void
fluid_global_init(void)
{
	fluid_settings_t *s;

	fluid_set_log_function(FLUID_PANIC, NULL, NULL);
	fluid_set_log_function(FLUID_ERR, NULL, NULL);
	fluid_set_log_function(FLUID_WARN, NULL, NULL);
	fluid_set_log_function(FLUID_INFO, NULL, NULL);
	fluid_set_log_function(FLUID_DBG, NULL, NULL);
	if ((s = new_fluid_settings()) != NULL)
	{
		fluid_synth_t *synth = new_fluid_synth(s);

		if (synth)
			delete_fluid_synth(synth);
		delete_fluid_settings(s);
	}
}

static fluid_settings_t *
offline_settings(int parts, bool effects)
{
	fluid_settings_t *s = new_fluid_settings();
	int			channels = (parts + MIDI_CHANNEL_STEP - 1) / MIDI_CHANNEL_STEP * MIDI_CHANNEL_STEP;

	if (!s)
		return NULL;
	fluid_settings_setnum(s, "synth.sample-rate", RATE);
	fluid_settings_setint(s, "synth.threadsafe-api", 0);
	fluid_settings_setint(s, "synth.cpu-cores", 1);
	fluid_settings_setint(s, "synth.polyphony", 1024);
	fluid_settings_setint(s, "synth.midi-channels", channels);
	fluid_settings_setint(s, "synth.audio-groups", parts);
	fluid_settings_setint(s, "synth.audio-channels", parts);
	fluid_settings_setint(s, "synth.effects-groups", parts);
	fluid_settings_setint(s, "synth.reverb.active", effects);
	fluid_settings_setint(s, "synth.chorus.active", effects);
	/* No deadline offline: the soundfonts' samples (hundreds of MB) need not be pinned. */
	fluid_settings_setint(s, "synth.lock-memory", 0);
	/* Clock the player by rendered samples, and leave our channel setup alone. */
	fluid_settings_setstr(s, "player.timing-source", "sample");
	fluid_settings_setint(s, "player.reset-synth", 0);
	return s;
}

renderer *
renderer_new(const char *const *soundfonts, int n, render_choice choice, bool effects,
			 char *err, size_t errlen)
{
	static const char *const default_soundfont[] = {RENDER_DEFAULT_SOUNDFONT};
	renderer   *r = calloc(1, sizeof(renderer));

	pthread_once(&fluid_once, fluid_global_init);
	if (!r)
	{
		is_fail(err, errlen, "out of memory");
		return NULL;
	}
	r->effects = effects;
	r->choice = choice;
	if (n == 0)
	{
		soundfonts = default_soundfont;
		n = 1;
	}
	r->scan_settings = offline_settings(1, false);
	if (!r->scan_settings || !(r->scan_synth = new_fluid_synth(r->scan_settings)))
	{
		is_fail(err, errlen, "cannot create a FluidSynth synthesiser");
		renderer_free(r);
		return NULL;
	}
	if (soundfonts_load(&r->sf, r->scan_synth, soundfonts, n, err, errlen) != 0)
	{
		renderer_free(r);
		return NULL;
	}
	return r;
}

void
renderer_free(renderer *r)
{
	if (!r)
		return;
	if (r->scan_synth)
		delete_fluid_synth(r->scan_synth);
	if (r->scan_settings)
		delete_fluid_settings(r->scan_settings);
	free(r);
}

void
render_out_free(render_out *out)
{
	for (int i = 0; i < RENDER_MAX_PARTS; i++)
		free(out->stem[i]);
	memset(out, 0, sizeof(*out));
}

/* ---- routing --------------------------------------------------------------- */

static bool
is_drum_channel(int ch)
{
	return ch % 16 == GM_DRUM_CHANNEL;
}

static int
find_part(router *rt, int ch)
{
	int			prog = is_drum_channel(ch) ? -1 : rt->program[ch];

	for (int i = 0; i < rt->out->n_parts; i++)
	{
		render_part *p = &rt->out->parts[i];

		if (p->channel == ch && (p->is_drum || p->program == prog))
			return i;
	}
	return -1;
}

static int
add_part(router *rt, int ch)
{
	render_out *o = rt->out;
	render_part *p;

	if (o->n_parts == RENDER_MAX_PARTS)
	{
		rt->overflow = true;
		return -1;
	}
	p = &o->parts[o->n_parts];
	memset(p, 0, sizeof(*p));
	p->channel = ch;
	p->is_drum = is_drum_channel(ch);
	p->program = rt->program[ch];
	rt->first_note[o->n_parts] = rt->n_notes_seen;
	return o->n_parts++;
}

/* Sends a channel message of file channel ch to every part playing on it. */
static void
broadcast(router *rt, int ch, int type, fluid_midi_event_t *ev)
{
	for (int i = 0; i < rt->out->n_parts; i++)
	{
		if (rt->out->parts[i].channel != ch)
			continue;
		switch (type)
		{
			case CONTROL_CHANGE:
				fluid_synth_cc(rt->synth, i, fluid_midi_event_get_control(ev),
							   fluid_midi_event_get_value(ev));
				break;
			case PITCH_BEND:
				fluid_synth_pitch_bend(rt->synth, i, fluid_midi_event_get_pitch(ev));
				break;
			case CHANNEL_PRESSURE:
				fluid_synth_channel_pressure(rt->synth, i, fluid_midi_event_get_program(ev));
				break;
			case KEY_PRESSURE:
				fluid_synth_key_pressure(rt->synth, i, fluid_midi_event_get_key(ev),
										 fluid_midi_event_get_value(ev));
				break;
		}
	}
}

static void
note_on(router *rt, int ch, int key, int vel)
{
	int			part = find_part(rt, ch);

	if (!rt->synth)
	{
		if (part < 0)
			part = add_part(rt, ch);
		if (part >= 0)
			rt->out->parts[part].n_notes++;
		rt->n_notes_seen++;
		return;
	}
	if (part < 0)
		return;
	fluid_synth_noteon(rt->synth, part, key, vel);
	rt->sounding[ch][key] = (unsigned char) (part + 1);
}

static void
note_off(router *rt, int ch, int key)
{
	if (rt->synth && rt->sounding[ch][key])
	{
		fluid_synth_noteoff(rt->synth, rt->sounding[ch][key] - 1, key);
		rt->sounding[ch][key] = 0;
	}
}

static int
route_event(void *data, fluid_midi_event_t *ev)
{
	router	   *rt = data;
	int			type = fluid_midi_event_get_type(ev);
	int			ch = fluid_midi_event_get_channel(ev);
	int			key = fluid_midi_event_get_key(ev) & 127;
	int			vel;

	if (ch < 0 || ch >= CHANNELS)
		return FLUID_OK;
	switch (type)
	{
		case PROGRAM_CHANGE:
			rt->program[ch] = fluid_midi_event_get_program(ev) & 127;
			break;
		case NOTE_ON:
			vel = fluid_midi_event_get_velocity(ev);
			if (vel > 0)
				note_on(rt, ch, key, vel);
			else
				note_off(rt, ch, key);
			break;
		case NOTE_OFF:
			note_off(rt, ch, key);
			break;
		case CONTROL_CHANGE:
			/* Each part's program was chosen up front; bank changes would undo it. */
			if (rt->synth && fluid_midi_event_get_control(ev) != CC_BANK_MSB &&
				fluid_midi_event_get_control(ev) != CC_BANK_LSB)
				broadcast(rt, ch, type, ev);
			break;
		case PITCH_BEND:
		case CHANNEL_PRESSURE:
		case KEY_PRESSURE:
			if (rt->synth)
				broadcast(rt, ch, type, ev);
			break;
		default:
			/* sysex and meta events: a GM/GS reset would undo the routing */
			break;
	}
	return FLUID_OK;
}

/* ---- passes ---------------------------------------------------------------- */

typedef int (*block_fn) (void *ctx, size_t frames_done);

/*
 * The player reports DONE only some seconds after its last event; the file
 * ends at its last tick (the last end-of-track), after which we render our
 * own fixed tail.
 */
static bool
still_playing(fluid_player_t *player)
{
	int			total = fluid_player_get_total_ticks(player);

	return fluid_player_get_status(player) == FLUID_PLAYER_PLAYING &&
		(total <= 0 || fluid_player_get_current_tick(player) < total);
}

/*
 * Plays midi on synth through the router, calling each_block after every
 * BLOCK frames, until the player is done plus tail_frames or max_frames.
 */
static int
play(fluid_synth_t *synth, router *rt, const void *midi, size_t len,
	 size_t tail_frames, size_t max_frames, block_fn each_block, void *ctx,
	 bool *truncated, char *err, size_t errlen)
{
	fluid_player_t *player = new_fluid_player(synth);
	size_t		frames = 0;
	size_t		end = max_frames;
	int			rc = 0;

	if (!player)
		return is_fail(err, errlen, "cannot create a FluidSynth MIDI player");
	if (fluid_player_set_playback_callback(player, route_event, rt) != FLUID_OK ||
		fluid_player_add_mem(player, midi, len) != FLUID_OK ||
		fluid_player_play(player) != FLUID_OK)
	{
		delete_fluid_player(player);
		return is_fail(err, errlen, "FluidSynth cannot play this MIDI data");
	}
	*truncated = false;
	while (frames < end)
	{
		if (end == max_frames && !still_playing(player))
			end = frames + tail_frames < max_frames ? frames + tail_frames : max_frames;
		if ((rc = each_block(ctx, frames)) != 0)
			break;
		frames += BLOCK;
	}
	if (rc == 0 && end == max_frames && still_playing(player))
		*truncated = true;
	fluid_player_stop(player);
	delete_fluid_player(player);
	if (rc != 0)
		return is_fail(err, errlen, "out of memory while rendering");
	return 0;
}

static int
scan_block(void *ctx, size_t frames_done)
{
	fluid_synth_t *synth = ctx;

	(void) frames_done;
	return fluid_synth_process(synth, BLOCK, 0, NULL, 0, NULL) == FLUID_FAILED;
}

/* Parts by file channel, then by first note: stable and close to track order. */
static void
sort_parts(router *rt)
{
	render_out *o = rt->out;

	for (int i = 1; i < o->n_parts; i++)
		for (int j = i; j > 0; j--)
		{
			render_part *a = &o->parts[j - 1],
					   *b = &o->parts[j];
			render_part t;
			int			tf;

			if (a->channel < b->channel ||
				(a->channel == b->channel && rt->first_note[j - 1] <= rt->first_note[j]))
				break;
			t = *a;
			*a = *b;
			*b = t;
			tf = rt->first_note[j - 1];
			rt->first_note[j - 1] = rt->first_note[j];
			rt->first_note[j] = tf;
		}
}

typedef struct synth_pass
{
	fluid_synth_t *synth;
	render_out *out;
	size_t		cap_frames;
	float	   *buf;			/* 6 planes per part: dry L/R, reverb L/R, chorus L/R */
	float	   *dry[2 * RENDER_MAX_PARTS];
	float	   *fx[4 * RENDER_MAX_PARTS];
} synth_pass;

static int
synth_block(void *ctx, size_t at)
{
	synth_pass *sp = ctx;
	render_out *o = sp->out;
	int			np = o->n_parts;

	if (at + BLOCK > sp->cap_frames)
	{
		size_t		cap = sp->cap_frames ? sp->cap_frames * 2 : (size_t) RATE * 64;

		for (int p = 0; p < np; p++)
		{
			float	   *s = realloc(o->stem[p], cap * sizeof(float));

			if (!s)
				return -1;
			o->stem[p] = s;
		}
		sp->cap_frames = cap;
	}
	memset(sp->buf, 0, sizeof(float) * BLOCK * 6 * (size_t) np);
	if (fluid_synth_process(sp->synth, BLOCK, 4 * np, sp->fx, 2 * np, sp->dry) == FLUID_FAILED)
		return -1;
	for (int p = 0; p < np; p++)
	{
		const float *dl = sp->dry[2 * p],
				   *dr = sp->dry[2 * p + 1];
		const float *const *fx = (const float *const *) &sp->fx[4 * p];
		float	   *dst = o->stem[p] + at;

		for (int i = 0; i < BLOCK; i++)
			dst[i] = 0.5f * (dl[i] + dr[i] + fx[0][i] + fx[1][i] + fx[2][i] + fx[3][i]);
	}
	o->n_frames = at + BLOCK;
	return 0;
}

/*
 * Puts part i on synth channel i (and audio group i) with its program from
 * the soundfont drawn for it.
 */
static void
setup_channels(const renderer *r, fluid_synth_t *synth, const int *sf_ids, uint64_t key,
			   render_out *o)
{
	for (int i = 0; i < o->n_parts; i++)
	{
		render_part *p = &o->parts[i];
		int			want = soundfonts_draw(key, r->choice == RENDER_CHOICE_STEM ? i : 0, r->sf.n);
		int			used;
		fluid_preset_t *preset;

		fluid_synth_set_channel_type(synth, i, p->is_drum ? CHANNEL_TYPE_DRUM : CHANNEL_TYPE_MELODIC);
		used = soundfonts_select(&r->sf, synth, sf_ids, i, want, p->is_drum, &p->program);
		preset = used >= 0 ? fluid_synth_get_channel_preset(synth, i) : NULL;
		snprintf(p->preset, sizeof(p->preset), "%s",
				 preset ? fluid_preset_get_name(preset) : "(none)");
		snprintf(p->soundfont, sizeof(p->soundfont), "%s", used >= 0 ? r->sf.name[used] : "");
	}
}

static int
synthesise(renderer *r, router *rt, const void *midi, size_t len,
		   size_t max_frames, uint64_t key, char *err, size_t errlen)
{
	render_out *o = rt->out;
	synth_pass	sp = {0};
	fluid_settings_t *settings = offline_settings(o->n_parts, r->effects);
	fluid_synth_t *synth = settings ? new_fluid_synth(settings) : NULL;
	int			sf_ids[SOUNDFONTS_MAX];
	int			rc;

	if (!synth || soundfonts_attach(&r->sf, synth, sf_ids) != 0)
	{
		if (synth)
			delete_fluid_synth(synth);
		if (settings)
			delete_fluid_settings(settings);
		return is_fail(err, errlen, "cannot create a FluidSynth synthesiser");
	}
	setup_channels(r, synth, sf_ids, key, o);
	sp.synth = synth;
	sp.out = o;
	sp.buf = malloc(sizeof(float) * BLOCK * 6 * (size_t) o->n_parts);
	if (!sp.buf)
		rc = is_fail(err, errlen, "out of memory");
	else
	{
		for (int i = 0; i < 2 * o->n_parts; i++)
			sp.dry[i] = sp.buf + (size_t) i * BLOCK;
		for (int i = 0; i < 4 * o->n_parts; i++)
			sp.fx[i] = sp.buf + (size_t) (2 * o->n_parts + i) * BLOCK;
		memset(rt->program, 0, sizeof(rt->program));
		rt->synth = synth;
		rc = play(synth, rt, midi, len, (size_t) (RENDER_TAIL_SECONDS * RATE),
				  max_frames, synth_block, &sp, &o->truncated, err, errlen);
		free(sp.buf);
	}
	/* The soundfonts belong to the renderer: detach them before the synth goes. */
	soundfonts_detach(&r->sf, synth);
	delete_fluid_synth(synth);
	delete_fluid_settings(settings);
	return rc;
}

int
renderer_render(renderer *r, const void *midi, size_t len, double max_seconds,
				uint64_t seed, render_out *out, char *err, size_t errlen)
{
	router	   *rt;
	size_t		max_frames;
	bool		truncated;
	int			rc;

	memset(out, 0, sizeof(*out));
	out->rate = RATE;
	if (len < 14 || memcmp(midi, "MThd", 4) != 0)
		return is_fail(err, errlen, "not a Standard MIDI File (no MThd header)");
	if (!(max_seconds >= (double) BLOCK / RATE && max_seconds <= RENDER_MAX_SECONDS))
		return is_fail(err, errlen, "max_seconds %.3g is outside [%.3g, %d]", max_seconds,
					   (double) BLOCK / RATE, RENDER_MAX_SECONDS);
	max_frames = (size_t) (max_seconds * RATE) / BLOCK * BLOCK;
	rt = calloc(1, sizeof(router));
	if (!rt)
		return is_fail(err, errlen, "out of memory");
	rt->out = out;
	fluid_synth_system_reset(r->scan_synth);
	rc = play(r->scan_synth, rt, midi, len, 0, max_frames, scan_block,
			  r->scan_synth, &truncated, err, errlen);
	if (rc == 0 && rt->overflow)
		rc = is_fail(err, errlen, "more than %d instrument parts", RENDER_MAX_PARTS);
	if (rc == 0 && out->n_parts == 0)
		rc = is_fail(err, errlen, "no notes: the MIDI file has none, or FluidSynth could not "
					 "read it (it refuses a damaged track, and running status after a "
					 "meta event, and then plays nothing)");
	if (rc == 0)
	{
		sort_parts(rt);
		rc = synthesise(r, rt, midi, len, max_frames,
						seed ^ fnv1a64(FNV1A64_BASIS, midi, len), err, errlen);
	}
	free(rt);
	if (rc != 0)
		render_out_free(out);
	return rc;
}
