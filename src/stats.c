/*-------------------------------------------------------------------------
 *
 * stats.c
 *	  evlog's statistics: counters per database in shared memory, shown by
 *	  the view evlog.stats and set to zero by evlog_stats_reset() (README
 *	  "Statistics and monitoring").
 *
 * Cost.  A count is an addition to a backend-local array (pending), made
 * by a one-line call where the thing happens: the sequencer (appends,
 * retries, conflicts, rejections, the wait for the sequencer), fold.c
 * (folds, fold failures, dead letters), the consumer groups (polls,
 * deliveries).  At the end of each transaction that counted anything, the
 * array is added to the database's slot with one atomic fetch-add per
 * counter that moved; no lock is taken then.  Readers read the atomics.
 *
 * Transactional counts.  Appends and folds count only once their
 * transaction commits; they are kept per subtransaction nesting level, like
 * pgstat's per-table counts, so that a rolled-back savepoint discards its
 * folds and turns its appends into aborted_appends.  Everything else counts
 * what happened, whether the transaction commits or not (a conflict rolls
 * its transaction back by nature).  A prepared transaction's appends count
 * when it is prepared.
 *
 * Slots.  evlog.stats_databases databases have counters; a database's slot
 * is claimed at its first count or read, under a spinlock, and kept until
 * the server stops or DROP DATABASE drops the database (the utility hook
 * then frees it).  Beyond that many databases, counts are dropped and the
 * server log says so, once until a slot is freed.
 * Counters live only in shared memory: a restart sets them to zero (and
 * stats_reset to the time of the first count).  Without evlog in
 * shared_preload_libraries there is no shared memory and evlog.stats has
 * no row.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/acl.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "evlog.h"
#include "oidcache.h"
#include "stats.h"

PG_FUNCTION_INFO_V1(evlog_read_stats);
PG_FUNCTION_INFO_V1(evlog_stats_reset);

/*
 * evlog.stats_databases: databases whose counters shared memory holds
 * (README "Statistics")
 */
static int	evlog_stats_databases = 256;

/* One database's counters */
typedef struct StatsSlot
{
	Oid			dboid;			/* InvalidOid: free; set under the mutex */
	pg_atomic_uint64 counters[EVLOG_NUM_STATS];
	pg_atomic_uint64 wait_max_us;	/* longest single wait for the sequencer */
	pg_atomic_uint64 reset_at;	/* TimestampTz of the last reset */
} StatsSlot;

typedef struct StatsShared
{
	slock_t		mutex;			/* protects the dboid fields and full_noted */
	bool		full_noted;		/* "no slot left" was logged */
	StatsSlot	slots[FLEXIBLE_ARRAY_MEMBER];	/* evlog_stats_databases */
} StatsShared;

#define STATS_SHARED_SIZE \
	add_size(offsetof(StatsShared, slots), \
			 mul_size(evlog_stats_databases, sizeof(StatsSlot)))

static StatsShared *stats_shared = NULL;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* This backend's slot, looked up once (NULL: none, or not looked up yet) */
static StatsSlot *my_slot = NULL;
static bool my_slot_looked = false;

/* Counts of this backend not yet added to shared memory */
static int64 pending[EVLOG_NUM_STATS];
static int64 pending_wait_max_us = 0;
static bool pending_any = false;

/* Appends and folds per subtransaction nesting level (index 1: top) */
static int64 *level_appends = NULL;
static int64 *level_folds = NULL;
static int	level_size = 0;
static bool level_any = false;

/*
 * The nesting level at which an append request is being checked, 0 when
 * none is: a (sub)transaction at that level or above it that rolls back
 * now was rolled back by a rejection (one deeper is the validator's own)
 */
static int	checking = 0;

/*
 * stats_shmem_request
 *		shmem_request_hook: reserve the slots.
 */
static void
stats_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(STATS_SHARED_SIZE);
}

/*
 * stats_shmem_startup
 *		shmem_startup_hook: attach to the slots, initialising them the
 *		first time.  Runs holding AddinShmemInitLock.
 */
static void
stats_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	stats_shared = ShmemInitStruct("evlog statistics", STATS_SHARED_SIZE, &found);
	if (!found)
	{
		SpinLockInit(&stats_shared->mutex);
		stats_shared->full_noted = false;
		for (int i = 0; i < evlog_stats_databases; i++)
		{
			StatsSlot  *s = &stats_shared->slots[i];

			s->dboid = InvalidOid;
			for (int c = 0; c < EVLOG_NUM_STATS; c++)
				pg_atomic_init_u64(&s->counters[c], 0);
			pg_atomic_init_u64(&s->wait_max_us, 0);
			pg_atomic_init_u64(&s->reset_at, 0);
		}
	}
	LWLockRelease(AddinShmemInitLock);
}

/*
 * stats_slot
 *		This database's slot, claimed at the first call; NULL without shared
 *		memory, outside a database, or when every slot is taken (logged
 *		once per server).  Takes the spinlock at the first call only.
 */
static StatsSlot *
stats_slot(void)
{
	TimestampTz now;
	StatsSlot  *free_slot = NULL;
	bool		note_full = false;

	if (my_slot_looked)
		return my_slot;
	if (stats_shared == NULL || !OidIsValid(MyDatabaseId))
		return NULL;
	now = GetCurrentTimestamp();
	SpinLockAcquire(&stats_shared->mutex);
	for (int i = 0; i < evlog_stats_databases && my_slot == NULL; i++)
	{
		StatsSlot  *s = &stats_shared->slots[i];

		if (s->dboid == MyDatabaseId)
			my_slot = s;
		else if (s->dboid == InvalidOid && free_slot == NULL)
			free_slot = s;
	}
	if (my_slot == NULL && free_slot != NULL)
	{
		for (int c = 0; c < EVLOG_NUM_STATS; c++)
			pg_atomic_write_u64(&free_slot->counters[c], 0);
		pg_atomic_write_u64(&free_slot->wait_max_us, 0);
		pg_atomic_write_u64(&free_slot->reset_at, (uint64) now);
		free_slot->dboid = MyDatabaseId;
		my_slot = free_slot;
	}
	if (my_slot == NULL && !stats_shared->full_noted)
		note_full = stats_shared->full_noted = true;
	SpinLockRelease(&stats_shared->mutex);
	my_slot_looked = true;
	if (note_full)
		ereport(LOG,
				(errmsg("evlog keeps no statistics for database %u", MyDatabaseId),
				 errdetail("Statistics are kept for evlog.stats_databases (%d) databases at most.",
						   evlog_stats_databases),
				 errhint("Raise evlog.stats_databases; DROP DATABASE frees a database's slot.")));
	return my_slot;
}

/*
 * flush_pending_counts
 *		Add this backend's pending counts to its database's slot (dropped
 *		when it has none) and clear them.  Lock-free: one atomic add per
 *		counter that moved, and a compare-and-swap loop for the longest
 *		wait.
 */
static void
flush_pending_counts(void)
{
	StatsSlot  *slot = stats_slot();

	if (slot != NULL)
	{
		uint64		max = pg_atomic_read_u64(&slot->wait_max_us);

		for (int c = 0; c < EVLOG_NUM_STATS; c++)
			if (pending[c] != 0)
				pg_atomic_fetch_add_u64(&slot->counters[c], pending[c]);
		while (max < (uint64) pending_wait_max_us &&
			   !pg_atomic_compare_exchange_u64(&slot->wait_max_us, &max,
											   (uint64) pending_wait_max_us))
			;
	}
	memset(pending, 0, sizeof(pending));
	pending_wait_max_us = 0;
	pending_any = false;
}

/*
 * level_slot
 *		Grow the per-level arrays to hold the current nesting level and
 *		return it.  Memory in TopMemoryContext, kept for the session.
 */
static int
level_slot(void)
{
	int			level = GetCurrentTransactionNestLevel();

	if (level >= level_size)
	{
		int			size = Max(8, level * 2);

		if (level_appends == NULL)
		{
			level_appends = MemoryContextAllocZero(TopMemoryContext, size * sizeof(int64));
			level_folds = MemoryContextAllocZero(TopMemoryContext, size * sizeof(int64));
		}
		else
		{
			level_appends = repalloc(level_appends, size * sizeof(int64));
			level_folds = repalloc(level_folds, size * sizeof(int64));
			memset(level_appends + level_size, 0, (size - level_size) * sizeof(int64));
			memset(level_folds + level_size, 0, (size - level_size) * sizeof(int64));
		}
		level_size = size;
	}
	level_any = true;
	return level;
}

/*
 * end_levels
 *		At the end of the top transaction: its appends and folds count as
 *		appends and folds when committed, else as aborted appends (the
 *		folds are dropped).
 */
static void
end_levels(bool committed)
{
	for (int l = 0; l < level_size; l++)
	{
		if (committed)
		{
			pending[EVLOG_STAT_APPENDS] += level_appends[l];
			pending[EVLOG_STAT_FOLDS] += level_folds[l];
		}
		else
			pending[EVLOG_STAT_ABORTED_APPENDS] += level_appends[l];
		level_appends[l] = level_folds[l] = 0;
	}
	level_any = false;
	pending_any = true;
}

/*
 * stats_xact_callback
 *		At the end of a transaction: settle the transactional counts, count
 *		a rejection when an append request's check failed, and add what is
 *		pending to shared memory.
 */
static void
stats_xact_callback(XactEvent event, void *arg)
{
	bool		committed;

	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PREPARE:
			committed = true;
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			committed = false;
			break;
		default:
			return;
	}
	if (checking > 0)
	{
		checking = 0;
		if (!committed)
			evlog_stats_add(EVLOG_STAT_REJECTED, 1);
	}
	if (level_any)
		end_levels(committed);
	if (pending_any)
		flush_pending_counts();
}

/*
 * stats_subxact_callback
 *		At the end of a subtransaction: a committed one hands its appends
 *		and folds to its parent; a rolled-back one counts its appends as
 *		aborted, drops its folds, and counts a rejection when an append
 *		request's check failed in it.
 */
static void
stats_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					   SubTransactionId parentSubid, void *arg)
{
	int			level;

	if (event != SUBXACT_EVENT_COMMIT_SUB && event != SUBXACT_EVENT_ABORT_SUB)
		return;
	level = GetCurrentTransactionNestLevel();
	if (event == SUBXACT_EVENT_ABORT_SUB && checking > 0 && level <= checking)
	{
		checking = 0;
		evlog_stats_add(EVLOG_STAT_REJECTED, 1);
	}
	if (!level_any || level < 1 || level >= level_size)
		return;
	if (event == SUBXACT_EVENT_COMMIT_SUB)
	{
		level_appends[level - 1] += level_appends[level];
		level_folds[level - 1] += level_folds[level];
	}
	else
		evlog_stats_add(EVLOG_STAT_ABORTED_APPENDS, level_appends[level]);
	level_appends[level] = level_folds[level] = 0;
}

/*
 * evlog_stats_init
 *		Register the transaction callbacks; while preloading, install the
 *		shared memory hooks.  Called once per process from _PG_init.
 */
void
evlog_stats_init(void)
{
	RegisterXactCallback(stats_xact_callback, NULL);
	RegisterSubXactCallback(stats_subxact_callback, NULL);
	if (process_shared_preload_libraries_in_progress)
	{
		DefineCustomIntVariable("evlog.stats_databases",
								"Databases whose evlog statistics shared memory holds.",
								"Beyond that many databases evlog.stats has no row for the others; DROP DATABASE frees a database's slot.",
								&evlog_stats_databases,
								256, 1, 65536,
								PGC_POSTMASTER, 0,
								NULL, NULL, NULL);
		prev_shmem_request_hook = shmem_request_hook;
		shmem_request_hook = stats_shmem_request;
		prev_shmem_startup_hook = shmem_startup_hook;
		shmem_startup_hook = stats_shmem_startup;
	}
}

/*
 * evlog_stats_forget_database
 *		Free the slot of database dboid, which DROP DATABASE has just
 *		dropped, for another database; "no slot left" may be logged again.
 *		No-op without shared memory or a slot.  Takes the spinlock.
 */
void
evlog_stats_forget_database(Oid dboid)
{
	if (stats_shared == NULL || !OidIsValid(dboid))
		return;
	SpinLockAcquire(&stats_shared->mutex);
	for (int i = 0; i < evlog_stats_databases; i++)
		if (stats_shared->slots[i].dboid == dboid)
			stats_shared->slots[i].dboid = InvalidOid;
	stats_shared->full_noted = false;
	SpinLockRelease(&stats_shared->mutex);
}

/*
 * evlog_stats_add
 *		Count n of which (not an append or a fold: those are transactional)
 *		in this database; added to shared memory when the transaction ends,
 *		committed or not.  For the consumer groups: polls and deliveries.
 */
void
evlog_stats_add(EvlogStat which, int64 n)
{
	if (n == 0)
		return;
	pending[which] += n;
	pending_any = true;
}

/*
 * evlog_stats_count_append
 *		Count one event appended; an append if its transaction commits, an
 *		aborted append if it (or the subtransaction) rolls back.
 */
void
evlog_stats_count_append(void)
{
	int			level = level_slot();	/* may move level_appends */

	level_appends[level]++;
}

/*
 * evlog_stats_count_fold
 *		Count one event a handler folded; counted if its (sub)transaction
 *		commits, so that a batch refolded event by event counts once.
 */
void
evlog_stats_count_fold(void)
{
	int			level = level_slot();	/* may move level_folds */

	level_folds[level]++;
}

/*
 * evlog_stats_checking
 *		on: an append request is being checked (an error before the call
 *		with false counts as a rejection, EV004); off: the checks passed.
 */
void
evlog_stats_checking(bool on)
{
	checking = on ? GetCurrentTransactionNestLevel() : 0;
}

/*
 * evlog_stats_wait_begin
 *		The time a wait for the sequencer starts; called only once the
 *		sequencer was found taken, so an append that does not wait reads no
 *		clock.
 */
instr_time
evlog_stats_wait_begin(void)
{
	instr_time	start;

	INSTR_TIME_SET_CURRENT(start);
	return start;
}

/*
 * evlog_stats_wait_end
 *		Count the wait that began at start (microseconds, and the longest).
 */
void
evlog_stats_wait_end(instr_time start)
{
	instr_time	elapsed;
	int64		us;

	INSTR_TIME_SET_CURRENT(elapsed);
	INSTR_TIME_SUBTRACT(elapsed, start);
	us = (int64) INSTR_TIME_GET_MICROSEC(elapsed);
	evlog_stats_add(EVLOG_STAT_SEQUENCER_WAIT_US, us);
	pending_wait_max_us = Max(pending_wait_max_us, us);
}

/*
 * evlog_stats_mark / evlog_stats_undo
 *		Save the pending counts, and go back to them: for work that is
 *		tried, rolled back and done again (bulk.c's optimistic append), so
 *		that it counts once.
 */
void
evlog_stats_mark(EvlogStatsMark *mark)
{
	memcpy(mark->pending, pending, sizeof(pending));
	mark->wait_max_us = pending_wait_max_us;
}

void
evlog_stats_undo(const EvlogStatsMark *mark)
{
	memcpy(pending, mark->pending, sizeof(pending));
	pending_wait_max_us = mark->wait_max_us;
}

/*
 * evlog.read_stats() RETURNS TABLE(appends bigint, ..., stats_reset
 * timestamptz)
 *
 * The counters of this database since the last reset (the row of
 * evlog.stats); no row without shared memory or a slot.  Counts of
 * transactions still in progress are not included.  Needs SELECT on
 * evlog.events (42501), checked before anything is read.
 */
Datum
evlog_read_stats(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Datum		values[EVLOG_NUM_STATS + 2];
	bool		nulls[EVLOG_NUM_STATS + 2] = {0};
	StatsSlot  *slot;
	int			col = 0;

	if (pg_class_aclcheck(evlog_events_relid(), GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for evlog.stats"),
				 errdetail("Reading evlog's statistics needs SELECT on evlog.events.")));
	InitMaterializedSRF(fcinfo, 0);
	slot = stats_slot();
	if (slot == NULL)
		PG_RETURN_VOID();
	for (int c = 0; c < EVLOG_NUM_STATS; c++)
	{
		uint64		v = pg_atomic_read_u64(&slot->counters[c]);

		if (c == EVLOG_STAT_SEQUENCER_WAIT_US)
		{
			values[col++] = Float8GetDatum((double) v / 1000.0);
			values[col++] = Float8GetDatum((double) pg_atomic_read_u64(&slot->wait_max_us) / 1000.0);
		}
		else
			values[col++] = Int64GetDatum((int64) v);
	}
	values[col++] = TimestampTzGetDatum((TimestampTz) pg_atomic_read_u64(&slot->reset_at));
	Assert(col == EVLOG_NUM_STATS + 2);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	PG_RETURN_VOID();
}

/*
 * evlog_stats_reset() RETURNS void
 *
 * Set this database's counters to zero and stats_reset to now.  Counts
 * being added at the same moment may survive the reset.  Not granted to
 * PUBLIC.  Takes no lock; raises nothing (a no-op without shared memory).
 */
Datum
evlog_stats_reset(PG_FUNCTION_ARGS)
{
	StatsSlot  *slot = stats_slot();

	if (slot == NULL)
		PG_RETURN_VOID();
	for (int c = 0; c < EVLOG_NUM_STATS; c++)
		pg_atomic_write_u64(&slot->counters[c], 0);
	pg_atomic_write_u64(&slot->wait_max_us, 0);
	pg_atomic_write_u64(&slot->reset_at, (uint64) GetCurrentTimestamp());
	PG_RETURN_VOID();
}
