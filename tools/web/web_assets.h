/*
 * The page's files (tools/web/assets/), compiled into the program so that
 * it runs from anywhere without an install step.
 */
#ifndef INSTSIM_WEB_ASSETS_H
#define INSTSIM_WEB_ASSETS_H

#include <stddef.h>

typedef struct web_asset
{
	const char *path;			/* as requested, e.g. "/app.js" */
	const char *type;
	const unsigned char *start;
	const unsigned char *end;	/* one past the last byte */
} web_asset;

/* The asset served at path, or NULL. */
const web_asset *web_asset_find(const char *path);

#endif
