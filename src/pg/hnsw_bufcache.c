/*
 * Buffer lookups for the graph search without the shared buffer mapping table.
 *
 * A scan reads ~1000 elements on hundreds of pages, and profiling showed the
 * buffer mapping hash lookup (a cache miss into a table sized by
 * shared_buffers, plus its partition lock) costing as much as the distance
 * computations.  Each backend therefore remembers, per block of the index it
 * searched last, which buffer held it, and pins that buffer directly with
 * ReadRecentBuffer(), which checks the buffer's tag: a stale guess only costs
 * the ordinary lookup.  Knowing the buffer before pinning it also lets the
 * search prefetch the page's memory for a whole batch of neighbours at once.
 */
#include "postgres.h"

#include "storage/buf_internals.h"
#include "storage/bufmgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "hnsw.h"

static struct
{
	RelFileNode node;
	Buffer	   *bufs;
	BlockNumber nbufs;
}			cache;

static bool
cache_is_for(Relation index)
{
	return cache.bufs != NULL && RelFileNodeEquals(cache.node, index->rd_node);
}

Buffer
hnsw_guess_buffer(Relation index, BlockNumber blkno)
{
	if (!cache_is_for(index) || blkno >= cache.nbufs)
		return InvalidBuffer;
	return cache.bufs[blkno];
}

/*
 * Starts loading, without pinning or locking, the memory an upcoming read of
 * element `off` on `blkno` will touch first: the buffer header, the page
 * header and special space, and the line pointer.  Prefetching never faults,
 * and a remembered buffer always lies within the buffer pool, so a stale
 * guess is harmless.
 */
void
hnsw_prefetch_element(Relation index, BlockNumber blkno, OffsetNumber off)
{
	Buffer		guess = hnsw_guess_buffer(index, blkno);
	Page		page;

	if (guess <= 0 || guess > NBuffers)
		return;
	page = BufferGetPage(guess);
	__builtin_prefetch(GetBufferDescriptor(guess - 1), 1);
	__builtin_prefetch(page);
	__builtin_prefetch(page + BLCKSZ - sizeof(HnswPageOpaqueData));
	__builtin_prefetch(PageGetItemId(page, off));
}

static void
remember(Relation index, BlockNumber blkno, Buffer buf)
{
	if (!cache_is_for(index))
	{
		if (cache.bufs != NULL)
			pfree(cache.bufs);
		cache.bufs = NULL;
		cache.nbufs = 0;
		cache.node = index->rd_node;
	}
	if (blkno >= cache.nbufs)
	{
		BlockNumber n = Max(blkno + 1, Max(cache.nbufs * 2, 1024));

		if (n > MaxAllocSize / sizeof(Buffer))
			return;
		cache.bufs = cache.bufs == NULL ?
			MemoryContextAlloc(TopMemoryContext, sizeof(Buffer) * n) :
			repalloc(cache.bufs, sizeof(Buffer) * n);
		for (BlockNumber b = cache.nbufs; b < n; b++)
			cache.bufs[b] = InvalidBuffer;
		cache.nbufs = n;
	}
	cache.bufs[blkno] = buf;
}

/* ReadBuffer() for the search: pinned, not locked. */
Buffer
hnsw_pin_buffer(Relation index, BlockNumber blkno)
{
	Buffer		guess;
	Buffer		buf;

	if (RelationUsesLocalBuffers(index))
		return ReadBuffer(index, blkno);
	guess = hnsw_guess_buffer(index, blkno);
	if (BufferIsValid(guess) &&
		ReadRecentBuffer(index->rd_node, MAIN_FORKNUM, blkno, guess))
		return guess;
	buf = ReadBuffer(index, blkno);
	remember(index, blkno, buf);
	return buf;
}
