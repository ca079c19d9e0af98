/*
 * The instsim_hnsw access method: its settings (GUCs), handler, reloptions and
 * cost estimate.
 * The phases live in hnsw_build.c, hnsw_insert.c, hnsw_scan.c,
 * hnsw_vacuum.c and hnsw_validate.c.
 */
#include "postgres.h"

#include <math.h>

#include "access/amapi.h"
#include "access/reloptions.h"
#include "commands/vacuum.h"
#include "optimizer/cost.h"
#include "utils/float.h"
#include "utils/guc.h"
#include "utils/selfuncs.h"
#include "utils/rel.h"

#include "hnsw.h"

/* instsim_hnsw index scans (see hnsw_scan.c) */
int			instsim_hnsw_ef_search = 40;
bool		instsim_hnsw_iterative_scan = false;
int			instsim_hnsw_max_scan_tuples = 20000;
/* VACUUM's reachability repair (see hnsw_level0.c), in MB */
int			instsim_hnsw_max_repair_memory = 4096;

static relopt_kind hnsw_relopt_kind;

static relopt_enum_elt_def hnsw_storage_values[] = {
	{"float", HNSW_STORAGE_FLOAT},
	{"half", HNSW_STORAGE_HALF},
	{"int8", HNSW_STORAGE_INT8},
	{NULL}
};

void
hnsw_init_gucs(void)
{
	DefineCustomIntVariable("instsim.ef_search",
							"Size of the candidate list of an instsim_hnsw index scan.",
							"Larger values find the true nearest neighbours more often, "
							"at the cost of speed; a scan returns at most this many rows "
							"unless instsim.iterative_scan is on.",
							&instsim_hnsw_ef_search, 40, 1, HNSW_MAX_EF_SEARCH,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("instsim.iterative_scan",
							 "Lets an instsim_hnsw scan keep searching until its LIMIT is met.",
							 "With a WHERE filter a plain scan can return fewer rows than "
							 "the LIMIT; when on, the scan resumes in batches of "
							 "instsim.ef_search rows (order across batches is approximate).",
							 &instsim_hnsw_iterative_scan, false,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("instsim.max_scan_tuples",
							"Most graph elements an iterative instsim_hnsw scan visits.",
							"Bounds the work of a filtered query whose filter matches few rows.",
							&instsim_hnsw_max_scan_tuples, 20000, 1, INT_MAX,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("instsim.max_repair_memory",
							"Most memory the reachability repair of VACUUM and CREATE INDEX may use.",
							"The repair holds the bottom layer's links in memory, about 135 bytes "
							"per element with m = 16, whatever maintenance_work_mem says; an index "
							"whose links need more is left unrepaired, with a WARNING.",
							&instsim_hnsw_max_repair_memory, 4096, 1, INT_MAX / 2,
							PGC_SUSET, GUC_UNIT_MB, NULL, NULL, NULL);
}

/*
 * Registered on first use rather than in _PG_init: the handler is always
 * called before amoptions in any backend that touches such an index.
 */
static void
hnsw_init_reloptions(void)
{
	if (hnsw_relopt_kind != 0)
		return;
	hnsw_relopt_kind = add_reloption_kind();
	add_int_reloption(hnsw_relopt_kind, "m",
					  "Maximum number of links per element and level (2m at level 0)",
					  HNSW_DEFAULT_M, HNSW_MIN_M, HNSW_MAX_M, AccessExclusiveLock);
	add_int_reloption(hnsw_relopt_kind, "ef_construction",
					  "Size of the candidate list while building the graph",
					  HNSW_DEFAULT_EF_CONSTRUCTION, HNSW_MIN_EF_CONSTRUCTION,
					  HNSW_MAX_EF_CONSTRUCTION, AccessExclusiveLock);
	add_enum_reloption(hnsw_relopt_kind, "storage",
					   "How element vectors are stored: float, or compact as half or int8 "
					   "(exact order by a recheck of the heap rows)",
					   hnsw_storage_values, HNSW_STORAGE_FLOAT,
					   "Valid values are 'float', 'half' and 'int8' (quoted: "
					   "unquoted, float is read as a type name).",
					   AccessExclusiveLock);
}

static bytea *
hnsw_options(Datum reloptions, bool validate)
{
	static const relopt_parse_elt tab[] = {
		{"m", RELOPT_TYPE_INT, offsetof(HnswOptions, m)},
		{"ef_construction", RELOPT_TYPE_INT, offsetof(HnswOptions, ef_construction)},
		{"storage", RELOPT_TYPE_ENUM, offsetof(HnswOptions, storage)},
	};

	return (bytea *) build_reloptions(reloptions, validate, hnsw_relopt_kind,
									  sizeof(HnswOptions), tab, lengthof(tab));
}

/*
 * A scan reads about ef_search * m elements at level 0 plus a few per upper
 * level, each a random page, and does all of it before the first row comes
 * out: startup cost = total cost, so LIMIT does not make the index look
 * cheaper than it is, and a small table still prefers seq scan + top-N sort.
 * Without any LIMIT the query wants every row in order, which an approximate
 * scan (at most ef_search rows unless iterative) cannot give: steer the
 * planner away as if the index were disabled.
 */
static void
hnsw_costestimate(PlannerInfo *root, IndexPath *path, double loop_count,
				  Cost *startup, Cost *total, Selectivity *selectivity,
				  double *correlation, double *pages)
{
	GenericCosts costs;
	double		tuples = Max(path->indexinfo->tuples, 1.0);
	Relation	index;
	int			m;

	if (path->indexorderbys == NIL)
	{
		/* Only ORDER BY distance can use the index. */
		*startup = *total = get_float8_infinity();
		*selectivity = 0;
		*correlation = 0;
		*pages = 0;
		return;
	}
	index = index_open(path->indexinfo->indexoid, NoLock);
	m = hnsw_reloption_m(index);
	index_close(index, NoLock);

	MemSet(&costs, 0, sizeof(costs));
	costs.numIndexTuples = Min(tuples,
							   (double) instsim_hnsw_ef_search * m +
							   log(tuples) / log((double) m) * m);
	genericcostestimate(root, path, loop_count, &costs);
	if (root->parse->limitCount == NULL && !instsim_hnsw_iterative_scan)
		costs.indexTotalCost += disable_cost;
	*startup = costs.indexTotalCost;
	*total = costs.indexTotalCost;
	*selectivity = costs.indexSelectivity;
	*correlation = 0;
	*pages = costs.numIndexPages;
}

static char *
hnsw_buildphasename(int64 phase)
{
	switch (phase)
	{
		case HNSW_PHASE_LOAD:
			return "loading tuples";
		case HNSW_PHASE_WRITE:
			return "writing graph";
		default:
			return NULL;
	}
}

PG_FUNCTION_INFO_V1(instsim_hnsw_handler);
Datum
instsim_hnsw_handler(PG_FUNCTION_ARGS)
{
	IndexAmRoutine *am = makeNode(IndexAmRoutine);

	hnsw_init_reloptions();
	am->amstrategies = 0;
	am->amsupport = 1;
	am->amoptsprocnum = 0;
	am->amcanorder = false;
	am->amcanorderbyop = true;
	am->amcanbackward = false;
	am->amcanunique = false;
	am->amcanmulticol = false;
	am->amoptionalkey = true;
	am->amsearcharray = false;
	am->amsearchnulls = false;
	am->amstorage = false;
	am->amclusterable = false;
	am->ampredlocks = false;
	am->amcanparallel = false;
	am->amcaninclude = false;
	am->amusemaintenanceworkmem = false;
	am->amparallelvacuumoptions = VACUUM_OPTION_PARALLEL_BULKDEL;
	am->amkeytype = InvalidOid;

	am->ambuild = hnsw_build;
	am->ambuildempty = hnsw_buildempty;
	am->aminsert = hnsw_insert;
	am->ambulkdelete = hnsw_bulkdelete;
	am->amvacuumcleanup = hnsw_vacuumcleanup;
	am->amcanreturn = NULL;
	am->amcostestimate = hnsw_costestimate;
	am->amoptions = hnsw_options;
	am->amproperty = NULL;
	am->ambuildphasename = hnsw_buildphasename;
	am->amvalidate = hnsw_validate;
	am->amadjustmembers = NULL;
	am->ambeginscan = hnsw_beginscan;
	am->amrescan = hnsw_rescan;
	am->amgettuple = hnsw_gettuple;
	am->amgetbitmap = NULL;
	am->amendscan = hnsw_endscan;
	am->ammarkpos = NULL;
	am->amrestrpos = NULL;
	am->amestimateparallelscan = NULL;
	am->aminitparallelscan = NULL;
	am->amparallelrescan = NULL;

	PG_RETURN_POINTER(am);
}
