#include "web_pool.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "errbuf.h"

struct web_pool
{
	pthread_mutex_t lock;
	pthread_cond_t freed;
	int			n;
	PGconn	  **conns;
	bool	   *busy;
};

static const char *const session_setup =
	"SET search_path = pg_catalog, pg_temp; "
	"SET default_transaction_read_only = on; "
	"SET instsim.iterative_scan = on; "
	"SET application_name = 'instsim-web'";

static int
setup(PGconn *conn)
{
	PGresult   *r = PQexec(conn, session_setup);
	int			rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : -1;

	PQclear(r);
	return rc;
}

web_pool *
web_pool_open(const char *conninfo, int n, char *err, size_t errlen)
{
	web_pool   *p = calloc(1, sizeof(web_pool));

	if (!p || !(p->conns = calloc(n, sizeof(PGconn *))) || !(p->busy = calloc(n, sizeof(bool))))
	{
		is_fail(err, errlen, "out of memory");
		if (p)
			free(p->conns);
		free(p);
		return NULL;
	}
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->freed, NULL);
	p->n = n;
	for (int i = 0; i < n; i++)
	{
		p->conns[i] = PQconnectdb(conninfo);
		if (PQstatus(p->conns[i]) != CONNECTION_OK || setup(p->conns[i]) != 0)
		{
			is_fail(err, errlen, "cannot open a database session: %s", PQerrorMessage(p->conns[i]));
			web_pool_close(p);
			return NULL;
		}
	}
	return p;
}

void
web_pool_close(web_pool *p)
{
	if (!p)
		return;
	for (int i = 0; i < p->n; i++)
		PQfinish(p->conns[i]);
	pthread_cond_destroy(&p->freed);
	pthread_mutex_destroy(&p->lock);
	free(p->conns);
	free(p->busy);
	free(p);
}

PGconn *
web_pool_get(web_pool *p)
{
	PGconn	   *conn = NULL;

	pthread_mutex_lock(&p->lock);
	while (!conn)
	{
		for (int i = 0; i < p->n && !conn; i++)
			if (!p->busy[i])
			{
				p->busy[i] = true;
				conn = p->conns[i];
			}
		if (!conn)
			pthread_cond_wait(&p->freed, &p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	/* a server restart leaves the session broken: try once to get it back */
	if (PQstatus(conn) == CONNECTION_BAD)
	{
		PQreset(conn);
		if (PQstatus(conn) == CONNECTION_OK)
			setup(conn);
	}
	return conn;
}

void
web_pool_put(web_pool *p, PGconn *conn)
{
	/* a request that failed inside a transaction must not leave it open */
	if (PQtransactionStatus(conn) != PQTRANS_IDLE)
		PQclear(PQexec(conn, "ROLLBACK"));
	pthread_mutex_lock(&p->lock);
	for (int i = 0; i < p->n; i++)
		if (p->conns[i] == conn)
			p->busy[i] = false;
	pthread_cond_signal(&p->freed);
	pthread_mutex_unlock(&p->lock);
}
