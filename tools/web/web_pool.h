/*
 * A fixed set of database sessions shared by the HTTP threads: a thread
 * takes one for the length of a request (or of one block of a streamed
 * response) and gives it back.  Every session is read-only by default
 * (default_transaction_read_only), resolves names in pg_catalog only, and
 * lets filtered index scans go on until LIMIT rows pass (iterative_scan).
 */
#ifndef INSTSIM_WEB_POOL_H
#define INSTSIM_WEB_POOL_H

#include <libpq-fe.h>

typedef struct web_pool web_pool;

/* Opens n sessions to conninfo; NULL with err. */
web_pool   *web_pool_open(const char *conninfo, int n, char *err, size_t errlen);
void		web_pool_close(web_pool *p);

/* Waits for a free session; a broken one is reconnected first. */
PGconn	   *web_pool_get(web_pool *p);
void		web_pool_put(web_pool *p, PGconn *conn);

#endif
