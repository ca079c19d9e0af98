/*
 * Parallel index build.
 *
 * PostgreSQL 15 plans parallel workers for btree builds only, so the access
 * method asks the planner itself (plan_create_index_workers: the table's
 * parallel_workers setting, max_parallel_maintenance_workers, table size and
 * maintenance_work_mem).  The workers and the leader scan the table with one
 * parallel table scan and insert into one in-memory graph that lives in the
 * parallel context's DSM segment (hnsw_graph.c does the locking); the leader
 * then writes it out as a serial build does (hnsw_graph_write.c: repair,
 * layout, WAL).
 *
 * The shared arrays cannot grow, so they are sized up front for the rows the
 * planner estimates, with a margin, within maintenance_work_mem.  If more
 * rows come, the graph closes: every participant stops at its next row, the
 * leader writes the graph out while they wait, and then all go on with the
 * on-disk insert path, as a serial build does when it spills; the whole
 * on-disk graph is repaired at the end.
 *
 * The arrays are sized by the vector's dimensions, so only a column declared
 * with them (embedding(n)) is built in parallel.
 */
#include "postgres.h"

#include "access/parallel.h"
#include "access/relscan.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "commands/progress.h"
#include "miscadmin.h"
#include "optimizer/plancat.h"
#include "optimizer/optimizer.h"
#include "pgstat.h"
#include "storage/condition_variable.h"
#include "tcop/tcopprot.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "hnsw_graph.h"

#define KEY_SHARED		UINT64CONST(0x494E534853480001)
#define KEY_GRAPH		UINT64CONST(0x494E534853480002)
#define KEY_QUERY_TEXT	UINT64CONST(0x494E534853480003)

/* Rows beyond the planner's estimate that the graph has room for. */
#define CAPACITY_MARGIN 1.1
#define CAPACITY_SLACK	1000

typedef struct HnswBuildShared
{
	Oid			heaprelid;
	Oid			indexrelid;
	bool		isconcurrent;
	HnswShape	shape;
	int			tranche;
	int64		cap_limit;		/* what maintenance_work_mem would have held */

	slock_t		mutex;			/* the fields down to indtuples */
	int			nparticipants;
	int			ndone;
	int			npaused;		/* stopped at a row the closed graph refused */
	bool		flushed;		/* the graph is on disk: insert there */
	double		reltuples;
	double		indtuples;
	ConditionVariable cv;		/* any of those changed */

	pg_atomic_uint64 tuples_done;	/* for the leader's progress report */
	HnswGraphHead head;
	/* then the parallel table scan, at BUFFERALIGN(sizeof(HnswBuildShared)) */
} HnswBuildShared;

#define shared_scan(ps) \
	((ParallelTableScanDesc) ((char *) (ps) + BUFFERALIGN(sizeof(HnswBuildShared))))

PGDLLEXPORT void hnsw_parallel_build_main(dsm_segment *seg, shm_toc *toc);

static int	tranche_id = 0;

static void
participant_init(HnswBuilder *p, HnswBuildShared *ps, char *graph, Relation index,
				 bool leader)
{
	MemoryContext old;

	memset(p, 0, sizeof(*p));
	p->shared = ps;
	p->index = index;
	p->leader = leader;
	p->started = true;
	p->g.shape = ps->shape;
	p->g.head = &ps->head;
	hnsw_graph_attach(&p->g, graph);
	p->graph_ctx = AllocSetContextCreate(CurrentMemoryContext, "instsim_hnsw build search",
										 ALLOCSET_DEFAULT_SIZES);
	p->tuple_ctx = AllocSetContextCreate(CurrentMemoryContext, "instsim_hnsw build tuple",
										 ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(p->graph_ctx);
	hnsw_graph_init_private(&p->g, ps->head.cap);
	MemoryContextSwitchTo(old);
	LWLockRegisterTranche(ps->tranche, "InstsimHnswBuild");
}

/* Writes the closed graph out; every other participant is paused or done. */
static void
flush(HnswBuilder *p)
{
	HnswBuildShared *ps = p->shared;

	ereport(NOTICE,
			(errmsg("instsim_hnsw graph no longer fits in its shared memory after %lld tuples",
					(long long) ps->head.n),
			 errdetail("The parallel build made room for %lld tuples (maintenance_work_mem allows %lld); "
					   "the remaining ones take significantly longer.",
					   (long long) ps->head.cap, (long long) ps->cap_limit),
			 ps->head.cap < ps->cap_limit ?
			 errhint("ANALYZE the table so that its row estimate is current.") :
			 errhint("Increase maintenance_work_mem to speed up builds.")));
	hnsw_graph_write(&p->g, p->index);
	SpinLockAcquire(&ps->mutex);
	ps->flushed = true;
	SpinLockRelease(&ps->mutex);
	ConditionVariableBroadcast(&ps->cv);
}

/*
 * Leader: waits until every participant is done, or (until_flushed) until the
 * graph is written out; writes it as soon as it is closed and no participant
 * is still inserting into it.
 */
static void
leader_wait(HnswBuilder *p, bool until_flushed)
{
	HnswBuildShared *ps = p->shared;

	for (;;)
	{
		bool		finished;
		bool		closed;

		SpinLockAcquire(&ps->mutex);
		finished = until_flushed ? ps->flushed : ps->ndone == ps->nparticipants;
		closed = !ps->flushed && ps->npaused > 0 &&
			ps->npaused + ps->ndone == ps->nparticipants;
		SpinLockRelease(&ps->mutex);
		if (closed)
			flush(p);
		else if (finished)
			break;
		else
			ConditionVariableSleep(&ps->cv, WAIT_EVENT_PARALLEL_CREATE_INDEX_SCAN);
	}
	ConditionVariableCancelSleep();
}

/* A participant whose row the graph refused waits until it is on disk. */
void
hnsw_parallel_spill(HnswBuilder *p)
{
	HnswBuildShared *ps = p->shared;

	SpinLockAcquire(&ps->mutex);
	ps->npaused++;
	SpinLockRelease(&ps->mutex);
	ConditionVariableBroadcast(&ps->cv);
	if (p->leader)
		leader_wait(p, true);
	else
	{
		for (;;)
		{
			bool		flushed;

			SpinLockAcquire(&ps->mutex);
			flushed = ps->flushed;
			SpinLockRelease(&ps->mutex);
			if (flushed)
				break;
			ConditionVariableSleep(&ps->cv, WAIT_EVENT_PARALLEL_CREATE_INDEX_SCAN);
		}
		ConditionVariableCancelSleep();
	}
}

/* Counts a row done by any participant; returns the count so far. */
uint64
hnsw_parallel_count_row(HnswBuilder *p)
{
	return pg_atomic_add_fetch_u64(&p->shared->tuples_done, 1);
}

/* One participant's share of the scan. */
static void
participate(HnswBuilder *p, Relation heap)
{
	HnswBuildShared *ps = p->shared;
	IndexInfo  *indexInfo = BuildIndexInfo(p->index);
	TableScanDesc scan;
	double		reltuples;

	indexInfo->ii_Concurrent = ps->isconcurrent;
	scan = table_beginscan_parallel(heap, shared_scan(ps));
	reltuples = table_index_build_scan(heap, p->index, indexInfo, true, p->leader,
									   hnsw_build_callback, p, scan);
	SpinLockAcquire(&ps->mutex);
	ps->ndone++;
	ps->reltuples += reltuples;
	ps->indtuples += p->indtuples;
	SpinLockRelease(&ps->mutex);
	ConditionVariableBroadcast(&ps->cv);
	ereport(DEBUG1,
			(errmsg("instsim_hnsw parallel build: %s indexed %.0f tuples",
					p->leader ? "leader" : "worker", p->indtuples)));
}

void
hnsw_parallel_build_main(dsm_segment *seg, shm_toc *toc)
{
	HnswBuildShared *ps = shm_toc_lookup(toc, KEY_SHARED, false);
	/* the lock modes index.c took in the leader */
	LOCKMODE	heap_mode = ps->isconcurrent ? ShareUpdateExclusiveLock : ShareLock;
	LOCKMODE	index_mode = ps->isconcurrent ? RowExclusiveLock : AccessExclusiveLock;
	Relation	heap;
	Relation	index;
	HnswBuilder p;

	debug_query_string = shm_toc_lookup(toc, KEY_QUERY_TEXT, true);
	pgstat_report_activity(STATE_RUNNING, debug_query_string);
	heap = table_open(ps->heaprelid, heap_mode);
	index = index_open(ps->indexrelid, index_mode);
	participant_init(&p, ps, shm_toc_lookup(toc, KEY_GRAPH, false), index, false);
	participate(&p, heap);
	index_close(index, index_mode);
	table_close(heap, heap_mode);
}

/* Room for the rows the planner expects, within maintenance_work_mem. */
static int64
graph_capacity(Relation heap, const HnswShape *sh, int nworkers, int64 *limit)
{
	BlockNumber pages;
	double		tuples;
	double		allvisfrac;

	/* per node besides hnsw_graph_node_bytes: its lock, the workers' private arrays */
	*limit = hnsw_build_cap_limit(sh, sizeof(LWLock) + HNSW_GRAPH_PRIVATE_BYTES * nworkers);
	estimate_rel_size(heap, NULL, &pages, &tuples, &allvisfrac);
	return Min(*limit, (int64) (tuples * CAPACITY_MARGIN) + CAPACITY_SLACK);
}

static void
end_parallel(ParallelContext *pcxt, Snapshot snapshot)
{
	WaitForParallelWorkersToFinish(pcxt);
	if (IsMVCCSnapshot(snapshot))
		UnregisterSnapshot(snapshot);
	DestroyParallelContext(pcxt);
	ExitParallelMode();
}

/* Everything the participants share, before any of them starts. */
static HnswBuildShared *
shared_init(ParallelContext *pcxt, Size size, char *graph, Relation heap, Relation index,
			IndexInfo *indexInfo, const HnswShape *shape, Snapshot snapshot,
			int64 cap, int64 cap_limit)
{
	HnswBuildShared *ps = shm_toc_allocate(pcxt->toc, size);
	HnswGraphHead *h = &ps->head;
	HnswGraph	view;

	memset(ps, 0, sizeof(HnswBuildShared));
	ps->heaprelid = RelationGetRelid(heap);
	ps->indexrelid = RelationGetRelid(index);
	ps->isconcurrent = indexInfo->ii_Concurrent;
	ps->shape = *shape;
	if (tranche_id == 0)
		tranche_id = LWLockNewTrancheId();
	ps->tranche = tranche_id;
	ps->cap_limit = cap_limit;
	SpinLockInit(&ps->mutex);
	ConditionVariableInit(&ps->cv);
	pg_atomic_init_u64(&ps->tuples_done, 0);
	SpinLockInit(&h->mutex);
	h->cap = cap;
	h->upper_cap = hnsw_graph_upper_blocks(shape, cap) * UPPER_BLOCK(shape->m);
	LWLockInitialize(&h->entry_lock, ps->tranche);
	h->entry = -1;
	view.shape = *shape;
	view.head = h;
	hnsw_graph_attach(&view, graph);
	for (int64 i = 0; i < cap; i++)
		LWLockInitialize(&view.locks[i], ps->tranche);
	table_parallelscan_initialize(heap, shared_scan(ps), snapshot);
	return ps;
}

/*
 * Builds the index with parallel workers if the planner grants any; false
 * (nothing done) when the build is to be serial.
 */
bool
hnsw_build_parallel(Relation heap, Relation index, IndexInfo *indexInfo,
					const HnswShape *shape, double *reltuples, double *indtuples)
{
	int			nworkers;
	int64		cap;
	int64		cap_limit;
	ParallelContext *pcxt;
	Snapshot	snapshot;
	Size		shared_size;
	Size		graph_size;
	HnswBuildShared *ps;
	char	   *graph;
	HnswBuilder leader;
	bool		flushed;

	if (shape->dim == 0 || !IsNormalProcessingMode())
		return false;
	nworkers = plan_create_index_workers(RelationGetRelid(heap), RelationGetRelid(index));
	if (nworkers == 0)
		return false;
	cap = graph_capacity(heap, shape, nworkers, &cap_limit);

	EnterParallelMode();
	pcxt = CreateParallelContext("instsim", "hnsw_parallel_build_main", nworkers);
	/* as a serial build's scan: all tuples, or those of a fresh snapshot */
	snapshot = indexInfo->ii_Concurrent ?
		RegisterSnapshot(GetTransactionSnapshot()) : SnapshotAny;
	shared_size = add_size(BUFFERALIGN(sizeof(HnswBuildShared)),
						   table_parallelscan_estimate(heap, snapshot));
	graph_size = hnsw_graph_shared_size(shape, cap,
										hnsw_graph_upper_blocks(shape, cap) * UPPER_BLOCK(shape->m));
	shm_toc_estimate_chunk(&pcxt->estimator, shared_size);
	shm_toc_estimate_chunk(&pcxt->estimator, graph_size);
	shm_toc_estimate_keys(&pcxt->estimator, 2);
	if (debug_query_string)
	{
		shm_toc_estimate_chunk(&pcxt->estimator, strlen(debug_query_string) + 1);
		shm_toc_estimate_keys(&pcxt->estimator, 1);
	}
	InitializeParallelDSM(pcxt);
	if (pcxt->seg == NULL)
	{
		/* no DSM segment to be had: serial build */
		end_parallel(pcxt, snapshot);
		return false;
	}

	graph = shm_toc_allocate(pcxt->toc, graph_size);
	ps = shared_init(pcxt, shared_size, graph, heap, index, indexInfo, shape, snapshot,
					 cap, cap_limit);
	shm_toc_insert(pcxt->toc, KEY_SHARED, ps);
	shm_toc_insert(pcxt->toc, KEY_GRAPH, graph);
	if (debug_query_string)
	{
		char	   *query = shm_toc_allocate(pcxt->toc, strlen(debug_query_string) + 1);

		strcpy(query, debug_query_string);
		shm_toc_insert(pcxt->toc, KEY_QUERY_TEXT, query);
	}

	LaunchParallelWorkers(pcxt);
	if (pcxt->nworkers_launched == 0)
	{
		end_parallel(pcxt, snapshot);
		return false;
	}
	ps->nparticipants = pcxt->nworkers_launched + 1;
	/* a worker that failed to start must not be waited for */
	WaitForParallelWorkersToAttach(pcxt);
	ereport(DEBUG1,
			(errmsg("instsim_hnsw parallel build: %d workers, room for %lld tuples",
					pcxt->nworkers_launched, (long long) cap)));

	participant_init(&leader, ps, graph, index, true);
	participate(&leader, heap);
	leader_wait(&leader, false);
	flushed = ps->flushed;
	if (!flushed)
		hnsw_graph_write(&leader.g, index);
	*reltuples = ps->reltuples;
	*indtuples = ps->indtuples;
	end_parallel(pcxt, snapshot);

	/* as after a serial build that spilled (hnsw_build.c) */
	if (flushed)
		hnsw_relink(index, NULL);
	MemoryContextDelete(leader.graph_ctx);
	MemoryContextDelete(leader.tuple_ctx);
	return true;
}
