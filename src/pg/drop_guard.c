/*
 * DROP EXTENSION instsim drops instsim.model with it, and with it every model
 * a user loaded, and the listening test's ratings, which people gave and no
 * one can compute again: that takes an explicit CASCADE, like other drops
 * that take more than what was named.
 */
#include "postgres.h"

#include "commands/event_trigger.h"
#include "executor/spi.h"
#include "nodes/parsenodes.h"

/* The models users loaded and the ratings stored. */
static void
count_user_data(int64 *models, int64 *ratings)
{
	bool		isnull;

	SPI_connect();
	if (SPI_execute("SELECT (SELECT pg_catalog.count(*) FROM instsim.model WHERE NOT builtin), "
					"(SELECT pg_catalog.count(*) FROM instsim.listening_rating)",
					true, 1) != SPI_OK_SELECT)
		elog(ERROR, "counting instsim models and ratings failed");
	*models = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	*ratings = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	SPI_finish();
}

static bool
names_instsim(List *objects)
{
	ListCell   *lc;

	foreach(lc, objects)
		if (strcmp(strVal(lfirst(lc)), "instsim") == 0)
			return true;
	return false;
}

PG_FUNCTION_INFO_V1(instsim_drop_guard);
Datum
instsim_drop_guard(PG_FUNCTION_ARGS)
{
	EventTriggerData *trig;
	DropStmt   *stmt;
	int64		models,
				ratings;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("instsim_drop_guard() runs only as an event trigger")));
	trig = (EventTriggerData *) fcinfo->context;
	if (!IsA(trig->parsetree, DropStmt))
		PG_RETURN_VOID();
	stmt = (DropStmt *) trig->parsetree;
	if (stmt->removeType != OBJECT_EXTENSION || stmt->behavior == DROP_CASCADE ||
		!names_instsim(stmt->objects))
		PG_RETURN_VOID();
	count_user_data(&models, &ratings);
	if (models > 0)
		ereport(ERROR,
				(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
				 errmsg("cannot drop extension instsim: instsim.model holds " INT64_FORMAT
						" model(s) loaded by users", models),
				 errdetail("Dropping the extension drops the table and those models with it."),
				 errhint("Keep them first (pg_dump --table=instsim.model, or "
						 "COPY instsim.model TO ...), then use DROP EXTENSION instsim CASCADE.")));
	if (ratings > 0)
		ereport(ERROR,
				(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
				 errmsg("cannot drop extension instsim: instsim.listening_rating holds " INT64_FORMAT
						" listening-test rating(s)", ratings),
				 errdetail("Dropping the extension drops the listening test's tables with it."),
				 errhint("Keep them first (pg_dump --table='instsim.listening_*'), "
						 "then use DROP EXTENSION instsim CASCADE.")));
	PG_RETURN_VOID();
}
