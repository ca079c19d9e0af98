/*
 * Where the CPU time of instsim_embed goes: three passes over the same
 * in-memory audio files through the core API the server uses (embed.h), each
 * doing one more stage, so that differences give the cost of each stage.
 *
 *   decode        is_audio_open + is_audio_read to the end (mono, 44.1 kHz)
 *   + mel         decode, segmenter (3-s windows, silence test), log-mel
 *   + CNN         the whole pipeline: is_embed_begin / is_embed_next, batch 16
 *
 * Usage: split MODEL.safetensors REPEATS FILE...  (one thread; the server runs
 * one per backend).  Prints the size of the network's activation arena at
 * batch 16, then one tab-separated line per pass: pass, audio seconds,
 * segments, CPU seconds, CPU seconds per audio second, audio seconds per CPU
 * second.  Process CPU time, not wall time: the machine is shared.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "audio.h"
#include "embed.h"
#include "mel.h"
#include "model.h"
#include "segment.h"

#define BATCH 16

typedef struct file
{
	unsigned char *data;
	size_t		len;
} file;

typedef struct pass_result
{
	double		audio_s;
	int64_t		segments;
} pass_result;

/* One pass over one file; 0 on success. */
typedef int (*pass_fn) (is_embedder *e, const file *f, pass_result *res);

static double
cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int
read_file(const char *path, file *f)
{
	FILE	   *fp = fopen(path, "rb");
	long		n;

	if (!fp || fseek(fp, 0, SEEK_END) != 0 || (n = ftell(fp)) <= 0 || fseek(fp, 0, SEEK_SET) != 0)
	{
		if (fp)
			fclose(fp);
		return -1;
	}
	f->len = (size_t) n;
	f->data = malloc(f->len);
	if (!f->data || fread(f->data, 1, f->len, fp) != f->len)
	{
		fclose(fp);
		return -1;
	}
	fclose(fp);
	return 0;
}

static is_audio_stream *
open_stream(const file *f, is_embedder *e, pass_result *res)
{
	is_audio_stream *s;
	is_audio_error err;

	if (is_audio_open(f->data, f->len, is_embedder_frontend(e)->sample_rate, &s, &err) != IS_AUDIO_OK)
	{
		fprintf(stderr, "split: %s\n", err.message);
		return NULL;
	}
	res->audio_s += is_audio_stream_info(s)->seconds;
	return s;
}

/* Ends a pass over one file: status < 0 means err says why. */
static int
pass_end(int status, is_audio_stream *s, const is_audio_error *err)
{
	if (status < 0)
		fprintf(stderr, "split: %s\n", err->message);
	is_audio_close(s);
	return status < 0 ? -1 : 0;
}

static int
pass_decode(is_embedder *e, const file *f, pass_result *res)
{
	static float buf[IS_AUDIO_BLOCK];
	is_audio_error err;
	is_audio_stream *s = open_stream(f, e, res);
	ssize_t		got;

	if (!s)
		return -1;
	while ((got = is_audio_read(s, buf, IS_AUDIO_BLOCK, &err)) > 0)
		;
	return pass_end((int) got, s, &err);
}

static int
pass_mel(is_embedder *e, const file *f, pass_result *res)
{
	static float *mel;
	is_audio_error err;
	is_audio_stream *s;
	is_segmenter *sg;
	is_segment	seg;
	int			got = -1;

	if (!mel && !(mel = malloc(sizeof(float) * is_embedder_mel_size(e))))
	{
		fprintf(stderr, "split: out of memory\n");
		return -1;
	}
	if (!(s = open_stream(f, e, res)))
		return -1;
	if (is_segmenter_new(is_embedder_frontend(e), 0, is_segment_read_stream, s, &sg, &err) == IS_AUDIO_OK)
	{
		while ((got = is_segmenter_next(sg, &seg, &err)) > 0)
		{
			is_embedder_mel(e, seg.samples, mel);
			res->segments++;
		}
		is_segmenter_free(sg);
	}
	return pass_end(got, s, &err);
}

static int
pass_embed(is_embedder *e, const file *f, pass_result *res)
{
	static float emb[BATCH * 1024];
	is_audio_error err;
	is_audio_stream *s = open_stream(f, e, res);
	is_embed_run *r;
	int			n = -1;

	if (!s)
		return -1;
	if ((r = is_embed_begin(e, is_segment_read_stream, s, 0, &err)) != NULL)
	{
		while ((n = is_embed_next(r, emb, NULL, NULL, &err)) > 0)
			res->segments += n;
		is_embed_end(r);
	}
	return pass_end(n, s, &err);
}

static int
run_pass(const char *name, pass_fn fn, is_embedder *e, const file *files, int n_files, int repeats)
{
	pass_result res = {0};
	double		t0 = cpu_seconds(),
				cpu;

	for (int r = 0; r < repeats; r++)
		for (int i = 0; i < n_files; i++)
			if (fn(e, &files[i], &res) != 0)
				return -1;
	cpu = cpu_seconds() - t0;
	printf("%s\t%.1f\t%lld\t%.3f\t%.6f\t%.1f\n", name, res.audio_s, (long long) res.segments,
		   cpu, cpu / res.audio_s, res.audio_s / cpu);
	fflush(stdout);
	return 0;
}

/* The activation arena of the plan the embedder builds, for the memory bound. */
static void
print_arena(const is_model *m)
{
	is_infer_opts opts = {.max_batch = BATCH,.threads = 1,.conv = IS_CONV_AUTO};
	char		err[256];
	is_infer   *plan = is_infer_create(&m->net, &opts, err, sizeof(err));

	if (plan)
		printf("arena_bytes\t%zu\n", is_infer_arena_bytes(plan));
	is_infer_free(plan);
}

int
main(int argc, char **argv)
{
	is_model	m;
	char		err[256];
	is_embedder *e;
	file	   *files;
	int			n_files = argc - 3;
	int			repeats = argc > 2 ? atoi(argv[2]) : 0;
	int			rc = 0;

	if (argc < 4 || repeats <= 0)
	{
		fprintf(stderr, "usage: %s MODEL.safetensors REPEATS FILE...\n", argv[0]);
		return 2;
	}
	if (is_model_load_file(&m, argv[1], err, sizeof(err)) != 0)
	{
		fprintf(stderr, "split: %s: %s\n", argv[1], err);
		return 1;
	}
	e = is_embedder_new(&m, BATCH, 1, err, sizeof(err));
	print_arena(&m);
	is_model_free(&m);
	if (!e || is_embedder_dim(e) > 1024)
	{
		fprintf(stderr, "split: %s\n", e ? "embedding too wide" : err);
		return 1;
	}
	files = calloc(n_files, sizeof(file));
	for (int i = 0; i < n_files; i++)
		if (!files || read_file(argv[3 + i], &files[i]) != 0)
		{
			fprintf(stderr, "split: cannot read %s\n", argv[3 + i]);
			return 1;
		}
	/* one untimed full pass: page faults, FFTW and BLAS warm-up */
	if (run_pass("warm-up", pass_embed, e, files, n_files, 1) != 0 ||
		run_pass("decode", pass_decode, e, files, n_files, repeats) != 0 ||
		run_pass("decode+mel", pass_mel, e, files, n_files, repeats) != 0 ||
		run_pass("decode+mel+cnn", pass_embed, e, files, n_files, repeats) != 0)
		rc = 1;
	is_embedder_free(e);
	for (int i = 0; i < n_files; i++)
		free(files[i].data);
	free(files);
	return rc;
}
