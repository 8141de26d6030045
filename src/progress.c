/*-------------------------------------------------------------------------
 *
 * progress.c
 *	  evlog.progress (README "Projection versions and snapshots"): one row
 *	  per running rebuild, catch-up or version build, readable by every
 *	  session while the work runs, as pg_stat_progress_* is; and the pace of
 *	  a long rebuild's NOTICEs.
 *
 * Each backend that folds (a session in evlog_rebuild or evlog_catch_up, a
 * worker) publishes at most one row, in a slot of shared memory of its own
 * that it claims when a fold still has events to go after a batch, updates
 * after every batch and frees when the fold reaches its target, when it
 * folds another projection, when a transaction of it aborts (or, in a
 * session, ends without having reported), and when the process exits.  A worker's
 * row thus lives across its batches, one transaction each, for as long as
 * the projection stays behind.  The slots exist only with evlog in
 * shared_preload_libraries; without it evlog.progress is empty.
 *
 * The row's position is a seq: folded is the seq the fold has reached,
 * target the seq it folds to (the head when it last looked), and the rate
 * counts the log's positions passed per second since the row was claimed,
 * events of types the projection does not want included.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/timestamp.h"

#include "evlog.h"
#include "versions.h"

PG_FUNCTION_INFO_V1(evlog_progress_rows);

/* One fold in progress, as evlog.progress shows it */
typedef struct ProgressSlot
{
	pid_t		pid;			/* 0: free */
	Oid			dboid;
	char		projection[EVLOG_NAMEDATALEN];
	char		phase[32];
	int64		start_pos;		/* seq where the row was claimed */
	int64		pos;			/* seq reached */
	int64		target;			/* seq it folds to */
	TimestampTz started_at;
} ProgressSlot;

typedef struct ProgressShared
{
	LWLock	   *lock;			/* protects the slots */
	int			nslots;
	ProgressSlot slots[FLEXIBLE_ARRAY_MEMBER];
} ProgressShared;

/* evlog.progress_notice_interval: seconds between two rebuild NOTICEs */
static int	progress_notice_interval = 5;

static ProgressShared *progress_shared = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* This backend's slot (-1: none), and whether this transaction reported */
static int	my_slot = -1;
static bool reported_in_xact = false;
static bool exit_callback_set = false;

/* The projection whose read model this transaction restored from a snapshot */
static char restored_name[EVLOG_NAMEDATALEN] = "";

/* When this backend last sent a rebuild NOTICE */
static TimestampTz last_notice = 0;

/*
 * progress_size
 *		Bytes of shared memory: two slots per backend (MaxBackends counts
 *		the background workers too), which is more than can be in use.
 */
static Size
progress_size(void)
{
	return add_size(offsetof(ProgressShared, slots),
					mul_size(sizeof(ProgressSlot), (Size) MaxBackends * 2));
}

/*
 * progress_shmem_request
 *		shmem_request_hook: reserve the slots and their LWLock.
 */
static void
progress_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(progress_size());
	RequestNamedLWLockTranche("evlog progress", 1);
}

/*
 * progress_shmem_startup
 *		shmem_startup_hook: attach to the slots, zeroing them the first
 *		time, under AddinShmemInitLock.
 */
static void
progress_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	progress_shared = ShmemInitStruct("evlog progress", progress_size(), &found);
	if (!found)
	{
		memset(progress_shared, 0, progress_size());
		progress_shared->lock = &(GetNamedLWLockTranche("evlog progress"))->lock;
		progress_shared->nslots = MaxBackends * 2;
	}
	LWLockRelease(AddinShmemInitLock);
}

/*
 * release_slot
 *		Free this backend's slot, if it has one.  Takes the slots' lock.
 */
static void
release_slot(void)
{
	if (my_slot < 0 || progress_shared == NULL)
		return;
	LWLockAcquire(progress_shared->lock, LW_EXCLUSIVE);
	if (progress_shared->slots[my_slot].pid == MyProcPid)
		progress_shared->slots[my_slot].pid = 0;
	LWLockRelease(progress_shared->lock);
	my_slot = -1;
}

/*
 * progress_exit
 *		before_shmem_exit callback: free the slot of an exiting process.
 */
static void
progress_exit(int code, Datum arg)
{
	release_slot();
}

/*
 * progress_xact_callback
 *		At the end of a transaction: free the slot when the transaction
 *		aborted, or, in a session, when it did not report (its fold is
 *		over); a worker keeps its row between its batches, whatever it does
 *		in between, until the fold reaches its target, it folds another
 *		projection, or it exits.  Forget the snapshot restored.
 */
static void
progress_xact_callback(XactEvent event, void *arg)
{
	if (!evlog_xact_ended(event))
		return;
	if (event != XACT_EVENT_COMMIT || (!reported_in_xact && !IsBackgroundWorker))
		release_slot();
	reported_in_xact = false;
	restored_name[0] = '\0';
}

/*
 * evlog_progress_init
 *		Define evlog.progress_notice_interval and register the transaction
 *		callback; when preloading, install the shared memory hooks (chained
 *		to the previous ones).  Called once from _PG_init.
 */
void
evlog_progress_init(void)
{
	DefineCustomIntVariable("evlog.progress_notice_interval",
							"Shortest time between two progress NOTICEs of evlog_rebuild.",
							"evlog_rebuild reports every evlog.progress_events events, but not more often than this; evlog.progress shows the progress at any time.",
							&progress_notice_interval,
							5, 0, 3600,
							PGC_USERSET, GUC_UNIT_S,
							NULL, NULL, NULL);
	RegisterXactCallback(progress_xact_callback, NULL);
	if (process_shared_preload_libraries_in_progress)
	{
		prev_shmem_request_hook = shmem_request_hook;
		shmem_request_hook = progress_shmem_request;
		prev_shmem_startup_hook = shmem_startup_hook;
		shmem_startup_hook = progress_shmem_startup;
	}
}

/*
 * evlog_progress_restored
 *		Note that this transaction restored projection name's read model
 *		from a snapshot: its rebuild shows as "rebuild from snapshot".
 */
void
evlog_progress_restored(const char *name)
{
	strlcpy(restored_name, name, sizeof(restored_name));
}

/*
 * phase_of
 *		The phase a fold of p that is not a rebuild is in: "version build"
 *		when p is the next version of another projection, else "catch-up".
 */
static const char *
phase_of(EvlogProjection *p)
{
	return p->replaces[0] != '\0' ? "version build" : "catch-up";
}

/*
 * evlog_progress_report
 *		After a batch of a fold of p from seq from to upto that has reached
 *		pos: publish (claiming this backend's slot, when the fold has events
 *		to go) or free the row of evlog.progress.  rebuild: the fold is
 *		evlog_rebuild's.  Takes the slots'
 *		lock; without shared memory does nothing.  A full set of slots only
 *		leaves the fold unshown.
 */
void
evlog_progress_report(EvlogProjection *p, int64 from, int64 pos, int64 upto,
					  bool rebuild)
{
	ProgressSlot *s;
	const char *phase;

	if (progress_shared == NULL)
		return;
	if (pos >= upto)
	{
		if (my_slot >= 0 &&
			strcmp(progress_shared->slots[my_slot].projection, p->name) == 0)
			release_slot();
		return;
	}
	reported_in_xact = true;
	if (my_slot >= 0 &&
		strcmp(progress_shared->slots[my_slot].projection, p->name) == 0)
	{
		/* only this backend writes its slot; readers take the lock */
		LWLockAcquire(progress_shared->lock, LW_EXCLUSIVE);
		progress_shared->slots[my_slot].pos = pos;
		progress_shared->slots[my_slot].target = upto;
		LWLockRelease(progress_shared->lock);
		return;
	}

	release_slot();
	if (rebuild)
		phase = strcmp(restored_name, p->name) == 0 ? "rebuild from snapshot" : "rebuild";
	else
		phase = phase_of(p);
	if (!exit_callback_set)
	{
		before_shmem_exit(progress_exit, (Datum) 0);
		exit_callback_set = true;
	}
	LWLockAcquire(progress_shared->lock, LW_EXCLUSIVE);
	for (int i = 0; i < progress_shared->nslots && my_slot < 0; i++)
	{
		s = &progress_shared->slots[i];
		if (s->pid != 0)
			continue;
		s->pid = MyProcPid;
		s->dboid = MyDatabaseId;
		strlcpy(s->projection, p->name, sizeof(s->projection));
		strlcpy(s->phase, phase, sizeof(s->phase));
		s->start_pos = from;
		s->pos = pos;
		s->target = upto;
		s->started_at = GetCurrentTimestamp();
		my_slot = i;
	}
	LWLockRelease(progress_shared->lock);
}

/*
 * evlog_progress_notice_due
 *		Whether a rebuild may send its progress NOTICE now: the first of a
 *		fold always, later ones when evlog.progress_notice_interval has
 *		passed since this backend's last.  Notes the time when it says yes.
 */
bool
evlog_progress_notice_due(bool first)
{
	TimestampTz now = GetCurrentTimestamp();

	if (!first &&
		!TimestampDifferenceExceeds(last_notice, now, progress_notice_interval * 1000))
		return false;
	last_notice = now;
	return true;
}

/*
 * evlog.progress_rows() RETURNS TABLE(projection text, phase text,
 *		folded bigint, target bigint, started_at timestamptz,
 *		events_per_second double precision, eta interval, pid integer)
 *
 * The folds in progress in this database, from shared memory (a copy taken
 * under the slots' lock, shared).  events_per_second counts the log's
 * positions passed since started_at; eta is the time to target at that
 * rate, NULL while the rate is 0.  No rows without shared memory.  Raises
 * nothing.
 */
Datum
evlog_progress_rows(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ProgressSlot *copy;
	int			n = 0;
	TimestampTz now = GetCurrentTimestamp();

	InitMaterializedSRF(fcinfo, 0);
	if (progress_shared == NULL)
		PG_RETURN_VOID();
	copy = palloc_array(ProgressSlot, progress_shared->nslots);
	LWLockAcquire(progress_shared->lock, LW_SHARED);
	for (int i = 0; i < progress_shared->nslots; i++)
		if (progress_shared->slots[i].pid != 0 &&
			progress_shared->slots[i].dboid == MyDatabaseId)
			copy[n++] = progress_shared->slots[i];
	LWLockRelease(progress_shared->lock);

	for (int i = 0; i < n; i++)
	{
		Datum		values[8];
		bool		nulls[8] = {false, false, false, false, false, false, false, false};
		double		secs = (double) (now - copy[i].started_at) / USECS_PER_SEC;
		double		rate = secs > 0 ? (double) (copy[i].pos - copy[i].start_pos) / secs : 0;

		values[0] = CStringGetTextDatum(copy[i].projection);
		values[1] = CStringGetTextDatum(copy[i].phase);
		values[2] = Int64GetDatum(copy[i].pos);
		values[3] = Int64GetDatum(copy[i].target);
		values[4] = TimestampTzGetDatum(copy[i].started_at);
		values[5] = Float8GetDatum(rate);
		if (rate > 0)
		{
			Interval   *eta = palloc0(sizeof(Interval));

			eta->time = (int64) ((double) (copy[i].target - copy[i].pos) / rate * USECS_PER_SEC);
			values[6] = IntervalPGetDatum(eta);
		}
		else
			nulls[6] = true;
		values[7] = Int32GetDatum(copy[i].pid);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	PG_RETURN_VOID();
}
