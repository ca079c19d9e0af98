/*
 * What instsim-web serves, read from the database at startup: the catalogue
 * table, its key, title, artist and metadata columns, the audio columns and
 * the instruments (one embedding column each, with the audio and the model
 * that made it).  Every identifier named by an option is looked up in the
 * system catalog and quoted here, once; requests then only choose among
 * these by index and pass their values as query parameters.
 */
#ifndef INSTSIM_WEB_CATALOG_H
#define INSTSIM_WEB_CATALOG_H

#include <libpq-fe.h>

#define WEB_MAX_INSTRUMENTS 16
#define WEB_MAX_META 8
#define WEB_MAX_AUDIO (WEB_MAX_INSTRUMENTS + 1)
#define WEB_MAX_SPECS 32

/* The catalogue as the options name it; NULL fields take the defaults. */
typedef struct web_catalog_opts
{
	const char *table;			/* default "tracks" */
	const char *key;			/* default: the single-column primary key */
	const char *title;			/* default "title" */
	const char *artist;			/* default "artist" when it exists, else none */
	const char *meta;			/* comma-separated columns shown with a track */
	const char *audio;			/* default "mix_audio" or "audio", whichever exists */
	/* EMB[:AUDIO[:MODEL]]; none: every embedding column */
	const char *instruments[WEB_MAX_SPECS];
	int			n_instruments;
} web_catalog_opts;

typedef struct web_audio_col
{
	char		name[64];		/* the column's name, as requests name it */
	char	   *col;			/* quoted */
} web_audio_col;

typedef struct web_instrument
{
	char		name[64];		/* the embedding column's name */
	char	   *emb;			/* quoted */
	int			audio;			/* index into audio[] */
	char		model[64];		/* "" when no model of this name: no moments */
} web_instrument;

typedef struct web_catalog
{
	char	   *table;			/* schema-qualified, quoted */
	char	   *table_text;		/* tbl::regclass::text, as listening_pair.catalogue */
	char	   *key;			/* quoted */
	char		key_name[64];	/* as named in the catalog */
	char	   *key_type;		/* format_type, for casts from text */
	unsigned int key_oid;		/* the type of the key parameters */
	char	   *key_eq;			/* OPERATOR(schema.=) of the key's btree class */
	char	   *title;
	char	   *artist;			/* NULL: none */
	char	   *meta[WEB_MAX_META];
	char		meta_name[WEB_MAX_META][64];
	int			n_meta;
	web_audio_col audio[WEB_MAX_AUDIO];	/* [0] is the track's main audio */
	int			n_audio;
	web_instrument inst[WEB_MAX_INSTRUMENTS];
	int			n_inst;
	char	   *ext;			/* the extension's schema, quoted */
	char	   *inst_array;		/* the instruments as a text[] literal */
} web_catalog;

/* Looks everything up through conn; 0, or -1 with err. */
int			web_catalog_load(PGconn *conn, const web_catalog_opts *o, web_catalog *c,
							 char *err, size_t errlen);
void		web_catalog_free(web_catalog *c);

/* The instrument or audio column of that name, or -1. */
int			web_catalog_instrument(const web_catalog *c, const char *name);
int			web_catalog_audio(const web_catalog *c, const char *name);

#endif
