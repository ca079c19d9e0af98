/*
 * What every request handler of instsim-web shares: the catalogue, its
 * statements, the database sessions and the options that change behaviour.
 */
#ifndef INSTSIM_WEB_APP_H
#define INSTSIM_WEB_APP_H

#include <stdbool.h>

#include "web_catalog.h"
#include "web_pool.h"
#include "web_sql.h"

typedef struct web_app
{
	web_catalog cat;
	web_sql		sql;
	web_pool   *pool;
	int			k;				/* neighbours per instrument */
	bool		ratings;		/* the listening test may store ratings */
	bool		check_host;		/* refuse Host headers other than our loopback names */
	int			port;
} web_app;

#endif
