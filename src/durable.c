/*-------------------------------------------------------------------------
 *
 * durable.c
 *	  The durable head: the highest seq whose commit is durable, below
 *	  which consumer group polls give events, and the condition variable
 *	  that wakes the polls that wait (README "Consumer groups", Durability
 *	  and Long poll; docs/guarantees.md C4, C5).
 *
 * An event is durable once its transaction's commit record is flushed and
 * confirmed by synchronous standbys as synchronous_commit asks.  Without
 * evlog.group_commit that has happened by the time the commit callback
 * runs, and this file publishes the transaction's last seq there; under
 * evlog.group_commit the flush is deferred until the locks are released,
 * and commit.c calls evlog_consumer_durable once it is done.  Commits
 * made with synchronous_commit = off are not published: a poll that sees
 * committed events above the durable head proves them durable itself
 * (consumer.c).  Since commit records are flushed (and replicated) in WAL
 * order, and the sequencer orders commits by seq, a durable seq makes
 * every lower one durable: the head only rises.
 *
 * The head is kept per database and log (the relation of evlog.events, so
 * that a log created again starts from nothing), for a fixed number of
 * databases; in others every poll proves durability itself.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "port/atomics.h"
#include "storage/condition_variable.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"

#include "evlog.h"
#include "appendcache.h"
#include "commit.h"
#include "durable.h"
#include "oidcache.h"

/* Databases whose durable head is kept */
#define DURABLE_DATABASES 8

typedef struct DurableDb
{
	Oid			dboid;
	Oid			relid;			/* the log (evlog.events) */
	pg_atomic_uint64 durable;	/* durable head + 1; 0: not known */
} DurableDb;

typedef struct DurableShared
{
	LWLock	   *lock;			/* taken to claim an entry */
	ConditionVariable cv;		/* broadcast when a durable head moves */
	pg_atomic_uint32 waiters;	/* polls waiting on cv */
	DurableDb	dbs[DURABLE_DATABASES];
} DurableShared;

static DurableShared *durable = NULL;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* seq this transaction appended up to, to publish when durable; 0: unknown */
static int64 commit_seq = 0;
static Oid	commit_relid = InvalidOid;
static bool commit_pending = false;

/*
 * durable_shmem_request
 *		shmem_request_hook: reserve the memory and the lock.
 */
static void
durable_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(sizeof(DurableShared));
	RequestNamedLWLockTranche("evlog durable head", 1);
}

/*
 * durable_shmem_startup
 *		shmem_startup_hook: attach to the memory and, the first time,
 *		initialise it (no head known).  Holds AddinShmemInitLock.
 */
static void
durable_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	durable = ShmemInitStruct("evlog durable head", sizeof(DurableShared), &found);
	if (!found)
	{
		durable->lock = &(GetNamedLWLockTranche("evlog durable head"))->lock;
		ConditionVariableInit(&durable->cv);
		pg_atomic_init_u32(&durable->waiters, 0);
		for (int i = 0; i < DURABLE_DATABASES; i++)
		{
			durable->dbs[i].dboid = InvalidOid;
			pg_atomic_init_u64(&durable->dbs[i].durable, 0);
		}
	}
	LWLockRelease(AddinShmemInitLock);
}

/*
 * durable_db
 *		The durable-head entry of this database's log relid; with claim,
 *		take one when there is none: a free one, or the one of an earlier
 *		log of this database (the extension was dropped and created again).
 *		durable->lock is held exclusively to claim.  NULL when none is
 *		(or can be) had.
 */
static DurableDb *
durable_db(Oid relid, bool claim)
{
	for (int i = 0; i < DURABLE_DATABASES; i++)
		if (durable->dbs[i].dboid == MyDatabaseId && durable->dbs[i].relid == relid)
			return &durable->dbs[i];
	if (!claim)
		return NULL;
	for (int i = 0; i < DURABLE_DATABASES; i++)
		if (durable->dbs[i].dboid == InvalidOid || durable->dbs[i].dboid == MyDatabaseId)
		{
			durable->dbs[i].dboid = InvalidOid;
			pg_write_barrier();
			pg_atomic_write_u64(&durable->dbs[i].durable, 0);
			durable->dbs[i].relid = relid;
			pg_write_barrier();
			durable->dbs[i].dboid = MyDatabaseId;
			return &durable->dbs[i];
		}
	return NULL;
}

/*
 * evlog_durable_head
 *		The durable head of this database's log relid, or -1 when it is not
 *		known (nothing published since the server started).  Takes no lock.
 */
int64
evlog_durable_head(Oid relid)
{
	DurableDb    *db;
	uint64		v;

	if (durable == NULL || (db = durable_db(relid, false)) == NULL)
		return -1;
	v = pg_atomic_read_u64(&db->durable);
	return v == 0 ? -1 : (int64) (v - 1);
}

/*
 * evlog_durable_publish
 *		Raise the durable head of this database's log relid to seq (never lower it) and wake
 *		the polls that wait.  The caller knows that every commit up to seq's
 *		is durable.  Takes the module's lock only to claim an entry for the
 *		database, the first time.  Raises nothing.
 */
void
evlog_durable_publish(Oid relid, int64 seq)
{
	DurableDb    *db;
	uint64		old;

	if (durable == NULL)
		return;
	db = durable_db(relid, false);
	if (db == NULL)
	{
		LWLockAcquire(durable->lock, LW_EXCLUSIVE);
		db = durable_db(relid, true);
		LWLockRelease(durable->lock);
		if (db == NULL)
			return;
	}
	old = pg_atomic_read_u64(&db->durable);
	while (old < (uint64) seq + 1)
		if (pg_atomic_compare_exchange_u64(&db->durable, &old, (uint64) seq + 1))
			break;
	if (pg_atomic_read_u32(&durable->waiters) > 0)
		ConditionVariableBroadcast(&durable->cv);
}

/*
 * evlog_durable_wait
 *		Wait until the durable head of log relid is above seen, for at most
 *		timeout_ms milliseconds, or until the condition variable is
 *		broadcast.  Returns true when woken by a broadcast.  Holds no lock
 *		while waiting; a cancel raises at the interrupt check inside.
 */
bool
evlog_durable_wait(Oid relid, int64 seen, long timeout_ms)
{
	bool		timed_out = false;

	pg_atomic_fetch_add_u32(&durable->waiters, 1);
	PG_TRY();
	{
		ConditionVariablePrepareToSleep(&durable->cv);
		if (evlog_durable_head(relid) <= seen)
			timed_out = ConditionVariableTimedSleep(&durable->cv, timeout_ms,
													PG_WAIT_EXTENSION);
		ConditionVariableCancelSleep();
	}
	PG_FINALLY();
	{
		pg_atomic_fetch_sub_u32(&durable->waiters, 1);
	}
	PG_END_TRY();
	return !timed_out;
}

/*
 * durable_xact_callback
 *		At pre-commit of a transaction that appended, note the seq it wrote
 *		up to (appendcache.c still knows it then; 0 when it does not).  At
 *		commit, publish it as the durable head when the commit record was
 *		flushed synchronously; under evlog.group_commit the flush is
 *		deferred (synchronous_commit reads off here) and commit.c calls
 *		evlog_consumer_durable once it is done.  A commit left unflushed by
 *		synchronous_commit = off is not published: a poll proves such
 *		commits durable itself (consumer.c).
 */
static void
durable_xact_callback(XactEvent event, void *arg)
{
	EvlogHead	head;
	Oid			relid;

	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
			commit_pending = false;
			commit_seq = 0;
			if (durable == NULL || !evlog_xact_appended())
				break;
			relid = evlog_relid_if_exists(EVLOG_EVENTS_TABLE);
			if (OidIsValid(relid) && evlog_cached_head(relid, &head) && head.ours)
				commit_seq = head.seq;
			commit_relid = relid;
			commit_pending = true;
			break;
		case XACT_EVENT_COMMIT:
			if (commit_pending && synchronous_commit > SYNCHRONOUS_COMMIT_OFF)
			{
				if (commit_seq > 0)
					evlog_durable_publish(commit_relid, commit_seq);
				commit_pending = false;
			}
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PREPARE:
		case XACT_EVENT_PARALLEL_ABORT:
			commit_pending = false;
			break;
		default:
			break;
	}
}

/*
 * evlog_consumer_durable
 *		Called by commit.c (through evlog_commit_durable_hook, which
 *		evlog_durable_init sets) once the deferred flush of an appending
 *		transaction's commit (and the wait for synchronous standbys) is
 *		done: publish what it appended as durable.  Raises nothing.
 */
void
evlog_consumer_durable(void)
{
	if (commit_pending && commit_seq > 0)
		evlog_durable_publish(commit_relid, commit_seq);
	commit_pending = false;
}

/*
 * evlog_durable_wake
 *		Wake the polls that wait, when something other than a durable head
 *		gives them work (a member left, a seek).  Takes no lock.
 */
void
evlog_durable_wake(void)
{
	if (durable != NULL && pg_atomic_read_u32(&durable->waiters) > 0)
		ConditionVariableBroadcast(&durable->cv);
}

/*
 * evlog_durable_init
 *		Register the transaction callback that publishes the durable head
 *		and, when preloading, install the shared memory hooks.  Called once
 *		per backend from _PG_init, after the sequencer's callback is
 *		registered (callbacks run newest first, and this one must see what
 *		appendcache.c knows at pre-commit).
 */
void
evlog_durable_init(void)
{
	RegisterXactCallback(durable_xact_callback, NULL);
	evlog_commit_durable_hook = evlog_consumer_durable;
	if (!process_shared_preload_libraries_in_progress)
		return;
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = durable_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = durable_shmem_startup;
}
