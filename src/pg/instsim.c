/*
 * Module entry point.  Each subsystem registers its own GUCs from here so that
 * they exist as soon as the library is loaded, whichever function loads it.
 */
#include "postgres.h"
#include "fmgr.h"

#include "instsim.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
	instsim_init_gucs();
}
