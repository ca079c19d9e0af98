/*
 * instsim-web: a page over a catalogue table to hear per-instrument
 * neighbours, and the listening test that checks the distances by ear.
 * Reads the database through read-only sessions; stores ratings only with
 * --ratings, and draws test pairs only with --draw.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "errbuf.h"
#include "parse_int.h"
#include "web_app.h"
#include "web_http.h"
#include "web_listen.h"

typedef struct options
{
	const char *conninfo;
	const char *listen;
	int			port;
	int			threads;
	int			draw;
	int			strata;
	web_catalog_opts cat;
} options;

static void
usage(FILE *f)
{
	fprintf(f,
			"usage: instsim-web [options]\n"
			"\n"
			"Serves a page to search a catalogue table, play its tracks and hear their\n"
			"nearest tracks per instrument (embedding column), each from the moment that\n"
			"matches best; and the listening test (page #listen).\n"
			"\n"
			"options:\n"
			"  --db CONNSTR        libpq connection string (default: the PG* environment)\n"
			"  --listen ADDR       address to listen on (default 127.0.0.1)\n"
			"  --port N            port (default 8080; 0: any free one, printed)\n"
			"  --threads N         HTTP threads and database sessions (default 4)\n"
			"  --k N               neighbours per instrument (default 10)\n"
			"catalogue (columns are checked against the table at startup):\n"
			"  --table NAME        the catalogue table (default tracks)\n"
			"  --key COL           the column that identifies a track (default: primary key)\n"
			"  --title COL         default title\n"
			"  --artist COL        default artist, when the table has it\n"
			"  --meta COL,...      more columns shown with a track\n"
			"  --audio COL         the track's audio, bytea (default mix_audio, else audio)\n"
			"  --instrument EMB[:AUDIO[:MODEL]]\n"
			"                      an embedding column, the audio it was computed from\n"
			"                      (default EMB_audio if it exists, else --audio) and its\n"
			"                      model (default: the model named EMB, if any), for the\n"
			"                      matching moments; repeat for each (default: every\n"
			"                      embedding column)\n"
			"listening test:\n"
			"  --ratings           store ratings (the role needs INSERT on\n"
			"                      instsim.listening_rating); otherwise read-only\n"
			"  --draw N            first add N pairs per instrument to the test\n"
			"                      (instsim_listening_draw; needs INSERT on instsim.listening_pair)\n"
			"  --strata S          distance quantiles the pairs are drawn over (default 4)\n");
}


static int
parse_options(int argc, char **argv, options *o, web_app *a)
{
	static const struct option longopts[] = {
		{"db", required_argument, NULL, 'd'},
		{"listen", required_argument, NULL, 'l'},
		{"port", required_argument, NULL, 'p'},
		{"threads", required_argument, NULL, 'j'},
		{"k", required_argument, NULL, 'k'},
		{"table", required_argument, NULL, 't'},
		{"key", required_argument, NULL, 'K'},
		{"title", required_argument, NULL, 'T'},
		{"artist", required_argument, NULL, 'A'},
		{"meta", required_argument, NULL, 'M'},
		{"audio", required_argument, NULL, 'a'},
		{"instrument", required_argument, NULL, 'i'},
		{"ratings", no_argument, NULL, 'r'},
		{"draw", required_argument, NULL, 'D'},
		{"strata", required_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}
	};
	int			c,
				li = 0;

	memset(o, 0, sizeof(*o));
	o->conninfo = "";
	o->listen = "127.0.0.1";
	o->port = 8080;
	o->threads = 4;
	o->strata = 4;
	o->cat.table = "tracks";
	a->k = 10;
	while ((c = getopt_long(argc, argv, "", longopts, &li)) != -1)
	{
		int			bad = 0;

		switch (c)
		{
			case 'd': o->conninfo = optarg; break;
			case 'l': o->listen = optarg; break;
			case 'p': bad = parse_int(optarg, 0, 65535, &o->port); break;
			case 'j': bad = parse_int(optarg, 1, 64, &o->threads); break;
			case 'k': bad = parse_int(optarg, 1, 1000, &a->k); break;
			case 't': o->cat.table = optarg; break;
			case 'K': o->cat.key = optarg; break;
			case 'T': o->cat.title = optarg; break;
			case 'A': o->cat.artist = optarg; break;
			case 'M': o->cat.meta = optarg; break;
			case 'a': o->cat.audio = optarg; break;
			case 'i':
				bad = o->cat.n_instruments == WEB_MAX_SPECS;
				if (!bad)
					o->cat.instruments[o->cat.n_instruments++] = optarg;
				break;
			case 'r': a->ratings = true; break;
			case 'D': bad = parse_int(optarg, 1, 100000, &o->draw); break;
			case 's': bad = parse_int(optarg, 1, 1000, &o->strata); break;
			case 'h': usage(stdout); exit(0);
			default: return -1;
		}
		if (bad)
		{
			fprintf(stderr, "instsim-web: bad value for --%s: %s\n", longopts[li].name, optarg);
			return -1;
		}
	}
	if (o->draw && o->strata > o->draw)
	{
		fprintf(stderr, "instsim-web: --strata %d is more than --draw %d\n", o->strata, o->draw);
		return -1;
	}
	return optind == argc ? 0 : -1;
}

/* Looks the catalogue up and writes the statements, on a session of its own. */
static int
open_catalogue(const options *o, web_app *a, char *err, size_t errlen)
{
	PGconn	   *conn = PQconnectdb(o->conninfo);
	int			rc = -1;

	if (PQstatus(conn) != CONNECTION_OK)
		is_fail(err, errlen, "cannot connect: %s", PQerrorMessage(conn));
	else if (web_catalog_load(conn, &o->cat, &a->cat, err, errlen) == 0)
	{
		if (web_sql_build(&a->cat, &a->sql) != 0)
			is_fail(err, errlen, "out of memory");
		else
			rc = 0;
	}
	PQfinish(conn);
	return rc;
}

int
main(int argc, char **argv)
{
	options		o;
	web_app		a = {0};
	web_http   *http = NULL;
	char		err[TOOL_ERRLEN] = "";
	sigset_t	stop;
	int			sig,
				rc = -1;

	if (parse_options(argc, argv, &o, &a) != 0)
	{
		usage(stderr);
		return 2;
	}
	/* the HTTP threads inherit this mask, so only sigwait below sees these */
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (open_catalogue(&o, &a, err, sizeof(err)) == 0 &&
		(a.pool = web_pool_open(o.conninfo, o.threads, err, sizeof(err))))
	{
		PGconn	   *conn = web_pool_get(a.pool);
		int			added = o.draw ? web_listen_draw(&a, conn, o.draw, o.strata, err, sizeof(err)) : 0;

		web_pool_put(a.pool, conn);
		if (added >= 0 && o.draw)
			printf("instsim-web: %d new listening-test pairs\n", added);
		if (added >= 0)
			http = web_http_start(&a, o.listen, o.port, o.threads, err, sizeof(err));
	}
	if (http)
	{
		printf("instsim-web: %s (%d instruments) on http://%s%s%s:%d/%s\n", a.cat.table_text, a.cat.n_inst,
			   strchr(o.listen, ':') ? "[" : "", o.listen, strchr(o.listen, ':') ? "]" : "", a.port,
			   a.ratings ? " (storing ratings)" : "");
		fflush(stdout);
		sigwait(&stop, &sig);
		web_http_stop(http);
		rc = 0;
	}
	else
		fprintf(stderr, "instsim-web: %s\n", err);
	web_pool_close(a.pool);
	web_sql_free(&a.sql);
	web_catalog_free(&a.cat);
	return rc == 0 ? 0 : 1;
}
