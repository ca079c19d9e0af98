/*
 * All instsim.* configuration parameters.  Kept in one place so that the full
 * list of knobs (and their documented defaults) can be read at a glance.
 */
#include "postgres.h"
#include "utils/guc.h"

#include "instsim.h"

void
instsim_init_gucs(void)
{
	MarkGUCPrefixReserved("instsim");
}
