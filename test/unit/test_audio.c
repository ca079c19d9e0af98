/*
 * Decoding from memory: every container we encode ourselves, mono downmix,
 * resampling, streaming in small reads, every error path, and a bounded-memory
 * stream over a virtual 8-hour WAV.
 */
#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audio.h"
#include "audio_encode.h"
#include "tap.h"

#define RATE 44100

/* Stereo test tone: left a sine of amplitude 0.5, right the same at 0.3. */
static float *
stereo_tone(int frames, int rate, double hz)
{
	float	   *x = malloc(sizeof(float) * 2 * frames);

	for (int i = 0; x && i < frames; i++)
	{
		double		s = sin(2.0 * M_PI * hz * i / rate);

		x[2 * i] = (float) (0.5 * s);
		x[2 * i + 1] = (float) (0.3 * s);
	}
	return x;
}

/* Frequency from the rising zero crossings between the first and the last. */
static double
tone_hz(const float *x, size_t n, int rate)
{
	long		first = -1,
				last = -1,
				count = 0;

	for (size_t i = 1; i < n; i++)
		if (x[i - 1] < 0.0f && x[i] >= 0.0f)
		{
			double		pos = (i - 1) + x[i - 1] / (x[i - 1] - x[i]);

			if (first < 0)
				first = (long) (pos * 1000);
			last = (long) (pos * 1000);
			count++;
		}
	return count > 1 ? (count - 1) * (double) rate / ((last - first) / 1000.0) : 0.0;
}

static double
rms(const float *x, size_t n)
{
	double		s = 0;

	for (size_t i = 0; i < n; i++)
		s += (double) x[i] * x[i];
	return n ? sqrt(s / n) : 0.0;
}

static unsigned char *
encode(const float *x, int frames, int channels, int rate, is_audio_container c, size_t *len)
{
	unsigned char *buf = NULL;
	is_audio_error err = {0};

	if (is_audio_encode(x, (size_t) frames, channels, rate, c, &buf, len, &err) != IS_AUDIO_OK)
		tap_diag("encode failed: %s", err.message);
	return buf;
}

static const struct
{
	is_audio_container c;
	const char *name;
	const char *format;
	double		tol;			/* max |decoded - expected| per sample */
} containers[] = {
	{IS_AUDIO_WAV_PCM16, "WAV 16-bit", "WAV", 1e-4},
	{IS_AUDIO_WAV_FLOAT, "WAV float", "WAV", 1e-7},
	{IS_AUDIO_FLAC_PCM16, "FLAC", "FLAC", 1e-4},
	{IS_AUDIO_OGG_VORBIS, "OGG Vorbis", "OGG", -1},
	{IS_AUDIO_AIFF_PCM16, "AIFF", "AIFF", 1e-4},
};

static void
check_containers(void)
{
	int			frames = RATE;
	float	   *x = stereo_tone(frames, RATE, 440.0);

	for (size_t c = 0; c < sizeof(containers) / sizeof(containers[0]); c++)
	{
		size_t		len = 0;
		unsigned char *file = encode(x, frames, 2, RATE, containers[c].c, &len);
		is_audio_info info = {0};
		is_audio_error err = {0};
		float	   *mono = NULL;
		size_t		n = 0;
		double		maxdiff = 0;

		is_audio_status probed = is_audio_probe(file, len, &info, &err);
		is_audio_status decoded = is_audio_decode(file, len, RATE, 10 * RATE, &mono, &n, &err);

		tap_ok(file != NULL, "%s: encoded %zu bytes", containers[c].name, len);
		tap_ok(probed == IS_AUDIO_OK &&
			   info.sample_rate == RATE && info.channels == 2 && info.frames == frames &&
			   fabs(info.seconds - 1.0) < 1e-9 &&
			   strncmp(info.format, containers[c].format, strlen(containers[c].format)) == 0,
			   "%s: probe says %d Hz, %d ch, %lld frames, %s / %s", containers[c].name,
			   info.sample_rate, info.channels, (long long) info.frames, info.format,
			   info.encoding);
		tap_ok(decoded == IS_AUDIO_OK &&
			   n == (size_t) frames, "%s: decodes %zu frames %s", containers[c].name, n,
			   err.message);
		if (mono && n == (size_t) frames)
		{
			for (int i = 0; i < frames; i++)
				maxdiff = fmax(maxdiff, fabs(mono[i] - 0.5 * (x[2 * i] + x[2 * i + 1])));
			if (containers[c].tol > 0)
				tap_ok(maxdiff <= containers[c].tol, "%s: mono is the channel mean (max err %.3g)",
					   containers[c].name, maxdiff);
			else
				tap_ok(fabs(rms(mono, n) - 0.4 / sqrt(2.0)) < 0.01 &&
					   fabs(tone_hz(mono, n, RATE) - 440.0) < 0.5,
					   "%s: lossy mono keeps level %.4f and pitch %.2f Hz", containers[c].name,
					   rms(mono, n), tone_hz(mono, n, RATE));
		}
		free(mono);
		free(file);
	}
	free(x);
}

static void
check_resample(int from, double hz)
{
	int			frames = 2 * from;
	float	   *x = stereo_tone(frames, from, hz);
	size_t		len = 0;
	unsigned char *file = encode(x, frames, 2, from, IS_AUDIO_WAV_FLOAT, &len);
	float	   *mono = NULL;
	size_t		n = 0;
	is_audio_error err = {0};
	/* Ignore the resampler's edge transients when measuring the level. */
	size_t		edge = 2048;

	tap_ok(is_audio_decode(file, len, RATE, 10 * RATE, &mono, &n, &err) == IS_AUDIO_OK,
		   "%d Hz -> %d Hz decodes %s", from, RATE, err.message);
	if (mono)
	{
		tap_ok(labs((long) n - 2 * RATE) <= 2, "%d Hz -> %d Hz: %zu frames for 2 s", from, RATE, n);
		tap_near(tone_hz(mono, n, RATE), hz, 0.05, "resampled tone keeps its frequency");
		tap_near(rms(mono + edge, n - 2 * edge), 0.4 / sqrt(2.0), 0.002,
				 "resampled tone keeps its level");
	}
	free(mono);
	free(file);
	free(x);
}

/* Reading in odd-sized pieces gives exactly the whole-signal result. */
static void
check_streaming(void)
{
	int			frames = 3 * 48000;
	float	   *x = stereo_tone(frames, 48000, 1234.5);
	size_t		len = 0;
	unsigned char *file = encode(x, frames, 2, 48000, IS_AUDIO_FLAC_PCM16, &len);
	float	   *whole = NULL;
	size_t		n = 0;
	float	   *pieces = malloc(sizeof(float) * 4 * RATE);
	size_t		got_total = 0;
	ssize_t		got;
	is_audio_stream *s = NULL;
	is_audio_error err = {0};

	is_audio_decode(file, len, RATE, 10 * RATE, &whole, &n, &err);
	tap_ok(is_audio_open(file, len, RATE, &s, &err) == IS_AUDIO_OK, "stream opens");
	tap_ok(is_audio_stream_info(s)->sample_rate == 48000, "stream reports the file's rate");
	while ((got = is_audio_read(s, pieces + got_total, 997, &err)) > 0)
		got_total += (size_t) got;
	tap_ok(got == 0 && got_total == n && whole &&
		   memcmp(whole, pieces, n * sizeof(float)) == 0,
		   "997-frame reads equal the whole decode (%zu frames)", got_total);
	tap_ok(is_audio_read(s, pieces, 10, &err) == 0, "reading past the end returns 0");
	is_audio_close(s);
	free(pieces);
	free(whole);
	free(file);
	free(x);
}

static void
expect_error(const char *what, const void *data, size_t len, is_audio_status want)
{
	is_audio_error err = {0};
	float	   *mono = NULL;
	size_t		n = 0;
	is_audio_status st = is_audio_decode(data, len, RATE, 100 * RATE, &mono, &n, &err);

	tap_ok(st == want && mono == NULL && err.status == want && err.message[0],
		   "%s: %s (%s)", what, is_audio_status_name(want), err.message);
	free(mono);
}

static void
check_errors(void)
{
	int			frames = RATE / 2;
	float	   *x = stereo_tone(frames, RATE, 440.0);
	size_t		len = 0;
	unsigned char *wav = encode(x, frames, 2, RATE, IS_AUDIO_WAV_PCM16, &len);
	size_t		flac_len = 0;
	unsigned char *flac = encode(x, frames, 2, RATE, IS_AUDIO_FLAC_PCM16, &flac_len);
	size_t		ogg_len = 0;
	float	   *longer = stereo_tone(4 * frames, RATE, 440.0);
	/* Long enough that a cut in the middle falls past the Vorbis headers. */
	unsigned char *ogg = encode(longer, 4 * frames, 2, RATE, IS_AUDIO_OGG_VORBIS, &ogg_len);
	unsigned char garbage[4096];
	unsigned char *patched = malloc(len);
	uint32_t	state = 7;
	is_audio_error err = {0};
	is_audio_stream *s = NULL;
	is_audio_status st;
	float	   *mono = NULL;
	size_t		n = 0;

	for (size_t i = 0; i < sizeof(garbage); i++)
		garbage[i] = (unsigned char) ((state = state * 1103515245u + 12345u) >> 24);
	expect_error("zero-length input", wav, 0, IS_AUDIO_EMPTY);
	expect_error("NULL input", NULL, 0, IS_AUDIO_EMPTY);
	expect_error("random bytes", garbage, sizeof(garbage), IS_AUDIO_UNRECOGNISED);
	expect_error("text", "hello, this is not audio at all", 31, IS_AUDIO_UNRECOGNISED);
	expect_error("WAV cut inside its header", wav, 30, IS_AUDIO_UNRECOGNISED);
	expect_error("FLAC cut inside its frames", flac, flac_len * 3 / 4, IS_AUDIO_CORRUPT);
	expect_error("OGG cut mid-stream", ogg, ogg_len / 2, IS_AUDIO_CORRUPT);

	/* A WAV cut inside its samples is recovered, shorter (documented). */
	st = is_audio_decode(wav, len / 2, RATE, 100 * RATE, &mono, &n, &err);
	tap_ok(st == IS_AUDIO_OK && n > 0 && n < (size_t) frames, "WAV cut in its data decodes what is there (%zu frames)", n);
	free(mono);

	/* WAV header fields: channels at byte 22, sample rate at byte 24. */
	memcpy(patched, wav, len);
	memcpy(patched + 24, &(uint32_t) {500}, 4);
	expect_error("500 Hz sample rate", patched, len, IS_AUDIO_BAD_RATE);
	memcpy(patched + 24, &(uint32_t) {1000000}, 4);
	expect_error("1 MHz sample rate", patched, len, IS_AUDIO_BAD_RATE);
	memcpy(patched, wav, len);
	memcpy(patched + 22, &(uint16_t) {0}, 2);
	expect_error("zero channels", patched, len, IS_AUDIO_UNRECOGNISED);
	memcpy(patched + 22, &(uint16_t) {100}, 2);
	memcpy(patched + 32, &(uint16_t) {200}, 2);
	expect_error("100 channels", patched, len, IS_AUDIO_BAD_CHANNELS);

	/* Float WAV holding NaN/Inf: damage, not audio. */
	x[100] = NAN;
	free(patched);
	patched = encode(x, frames, 2, RATE, IS_AUDIO_WAV_FLOAT, &len);
	expect_error("NaN sample", patched, len, IS_AUDIO_CORRUPT);
	free(patched);
	x[100] = INFINITY;
	patched = encode(x, frames, 2, RATE, IS_AUDIO_WAV_FLOAT, &len);
	expect_error("infinite sample", patched, len, IS_AUDIO_CORRUPT);

	tap_ok(is_audio_decode(flac, flac_len, RATE, 1000, &mono, &n, &err) == IS_AUDIO_TOO_LONG &&
		   mono == NULL, "max_frames caps is_audio_decode (%s)", err.message);
	tap_ok(is_audio_open(flac, flac_len, 100, &s, &err) == IS_AUDIO_INVALID_ARG && s == NULL,
		   "absurd target rate is refused (%s)", err.message);
	tap_ok(is_audio_encode(x, 10, 2, RATE, IS_AUDIO_WAV_PCM16, NULL, &len, &err) ==
		   IS_AUDIO_INVALID_ARG, "encode without output is refused");
	tap_ok(strcmp(is_audio_status_name(IS_AUDIO_CORRUPT), "corrupt audio") == 0,
		   "status names");
	free(patched);
	free(ogg);
	free(longer);
	free(flac);
	free(wav);
	free(x);
}

/* ---- a virtual 8-hour WAV served by a callback ---------------------------- */

#define LONG_SECONDS (8 * 3600)
#define WAV_HEADER 44

static void
put32(unsigned char *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static ssize_t
long_wav_read(void *ctx, int64_t offset, void *buf, size_t n)
{
	unsigned char *out = buf;
	const unsigned char *hdr = ctx;

	for (size_t i = 0; i < n; i++)
	{
		int64_t		o = offset + (int64_t) i;

		/* Samples: a quiet sawtooth, so no window is silent. */
		out[i] = o < WAV_HEADER ? hdr[o] : ((o - WAV_HEADER) & 1) ? (unsigned char) (o >> 9) : 0;
	}
	return (ssize_t) n;
}

/* Fails past the first MiB: after the header has been parsed. */
static ssize_t
failing_read(void *ctx, int64_t offset, void *buf, size_t n)
{
	return offset < (1 << 20) ? long_wav_read(ctx, offset, buf, n) : -1;
}

/* Resident set size now, from /proc (Linux); 0 where unavailable. */
static long
rss_kib(void)
{
	FILE	   *f = fopen("/proc/self/statm", "r");
	long		size = 0,
				resident = 0;

	if (f)
	{
		if (fscanf(f, "%ld %ld", &size, &resident) != 2)
			resident = 0;
		fclose(f);
	}
	return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static void
check_long_stream(void)
{
	unsigned char hdr[WAV_HEADER];
	uint32_t	data_bytes = (uint32_t) LONG_SECONDS * RATE * 2;
	is_audio_source src = {WAV_HEADER + (int64_t) data_bytes, long_wav_read, hdr};
	is_audio_stream *s = NULL;
	is_audio_error err = {0};
	float	   *buf = malloc(sizeof(float) * RATE);
	int64_t		total = 0;
	ssize_t		got = 0;
	long		rss_before;

	memcpy(hdr, "RIFF\0\0\0\0WAVEfmt \x10\0\0\0\x01\0\x01\0\0\0\0\0\0\0\0\0\x02\0\x10\0data", 40);
	put32(hdr + 4, data_bytes + 36);
	put32(hdr + 24, RATE);
	put32(hdr + 28, RATE * 2);
	put32(hdr + 40, data_bytes);

	tap_ok(is_audio_open_source(&src, 48000, &s, &err) == IS_AUDIO_OK &&
		   is_audio_stream_info(s)->seconds == LONG_SECONDS,
		   "8-hour WAV opens through a callback source (%s)", err.message);
	rss_before = rss_kib();
	/* Two minutes through the resampler: enough to show the footprint is flat. */
	for (int i = 0; s && i < 120; i++)
	{
		got = is_audio_read(s, buf, RATE, &err);
		if (got <= 0)
			break;
		total += got;
	}
	tap_ok(total == 120 * RATE, "streamed %lld resampled frames", (long long) total);
	/* A whole-signal buffer would be 2 * 60 * 48000 * 4 B = 22 MiB. */
	tap_ok(rss_kib() - rss_before < 8 * 1024, "RSS grew by %ld KiB while streaming (< 8 MiB)",
		   rss_kib() - rss_before);
	is_audio_close(s);

	src.read_at = failing_read;
	s = NULL;
	total = 0;
	if (is_audio_open_source(&src, RATE, &s, &err) == IS_AUDIO_OK)
		while ((got = is_audio_read(s, buf, RATE, &err)) > 0)
			total += got;
	tap_ok(s && got == -1 && err.status == IS_AUDIO_SOURCE_ERROR &&
		   is_audio_read(s, buf, RATE, &err) == -1 && total < RATE * 12,
		   "a failing source is an error, and stays one (%s)", err.message);
	is_audio_close(s);
	free(buf);
}

/*
 * Bytes that look like MPEG (raw frames, or MPEG inside a WAV) are refused
 * before libsndfile passes them to libmpg123, which would print warnings to
 * stderr, i.e. unprefixed into the server log.
 */
static void
check_silent_refusals(void)
{
	static const unsigned char wav_mpeg[] = {
		'R', 'I', 'F', 'F', 0x44, 0x4e, 0, 0, 'W', 'A', 'V', 'E', 'f', 'm', 't', ' ', 30, 0, 0, 0,
		0x55, 0, 2, 0, 0x44, 0xac, 0, 0, 0x80, 0x3e, 0, 0, 1, 0, 0, 0, 12, 0,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 'd', 'a', 't', 'a', 0x20, 0x4e, 0, 0};
	size_t		frames_len = 20000;
	unsigned char *raw = malloc(sizeof(wav_mpeg) + frames_len);
	char		path[] = "/tmp/instsim_test_stderr_XXXXXX";
	int			fd = mkstemp(path),
				saved = dup(2);
	is_audio_stream *s = NULL;
	is_audio_error e1 = {0},
				e2 = {0};
	is_audio_status st1,
				st2;
	off_t		printed;

	for (size_t i = 0; i < frames_len; i++)
		raw[sizeof(wav_mpeg) + i] = "\xff\xfb\x90\x64"[i % 4];
	memcpy(raw, wav_mpeg, sizeof(wav_mpeg));
	fflush(stderr);
	dup2(fd, 2);
	st1 = is_audio_open(raw + sizeof(wav_mpeg), frames_len, 44100, &s, &e1);
	is_audio_close(s);
	s = NULL;
	st2 = is_audio_open(raw, sizeof(wav_mpeg) + frames_len, 44100, &s, &e2);
	is_audio_close(s);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	printed = lseek(fd, 0, SEEK_END);
	close(fd);
	unlink(path);
	tap_ok(st1 == IS_AUDIO_UNRECOGNISED && st2 == IS_AUDIO_UNRECOGNISED,
		   "MPEG frames and MPEG in WAV are refused: %s; %s", e1.message, e2.message);
	tap_ok(printed == 0, "nothing printed to stderr (%lld bytes)", (long long) printed);
	free(raw);
}

int
main(void)
{
	check_containers();
	check_silent_refusals();
	check_resample(48000, 1000.0);
	check_resample(22050, 440.0);
	check_streaming();
	check_errors();
	check_long_stream();
	return tap_done();
}
