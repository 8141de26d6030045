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
 * and commit.c calls publish_deferred_commit (through its hook) once it is
 * done.  Commits made with synchronous_commit = off are not published: a
 * poll that sees committed events above the durable head proves them
 * durable itself (consumer.c).  Since commit records are flushed (and replicated) in WAL
 * order, and the sequencer orders commits by seq, a durable seq makes
 * every lower one durable: the head only rises.
 *
 * The head is kept per database and log (the relation of evlog.events, so
 * that a log created again starts from nothing), for a fixed number of
 * databases; in others every poll proves durability itself.
 *
 * Waking polls: a waiting poll registers in its process's waiter slot the
 * durable head it has seen and the partitions its member owns (with their
 * count), and sleeps on its latch.  A commit that raises the durable head
 * does not wake every waiting poll, most of which would find nothing of
 * their partitions in one commit's events: it wakes one of them, the
 * herald (the one that has seen least, with partitions), whose poll reads
 * the new events anyway.  The herald hands the hashes of the streams it
 * read to evlog_durable_herald, which wakes the waiters owning the
 * partition of one of them (a stream's partition is its hash modulo the
 * group's partitions, README "Consumer groups"); for the waiters of its
 * own group, only the streams of the events that group wants (its event
 * types and stream prefix) count.  When the herald could not read every
 * new event (a full batch, too many streams, no partitions left, an
 * error), every waiter is woken.  A waiter not woken has nothing
 * up to the head the herald read: every event after what it has seen was
 * read by a herald that had seen no more, or is above the head it checks
 * after registering.  Something other than a durable head that gives
 * polls work (a member left, a seek) wakes every waiter.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/twophase.h"
#include "access/xact.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "port/atomics.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "utils/timestamp.h"

#include "evlog.h"
#include "appendcache.h"
#include "commit.h"
#include "durable.h"
#include "lease.h"
#include "oidcache.h"

/* Databases whose durable head is kept */
#define DURABLE_DATABASES 8

typedef struct DurableDb
{
	Oid			dboid;
	Oid			relid;			/* the log (evlog.events) */
	pg_atomic_uint64 durable;	/* durable head + 1; 0: not known */
} DurableDb;

/* Words of a waiter's bitmap of partitions */
#define DURABLE_PART_WORDS (EVLOG_MAX_PARTITIONS / 64)

/* A process's waiter slot (indexed by its pgprocno) */
typedef struct DurableWaiter
{
	bool		waiting;		/* registered, not yet woken */
	bool		woken;			/* woken by a publisher, herald or broadcast */
	bool		herald;			/* woken to be the herald */
	Oid			dboid;
	Oid			relid;			/* the log waited on */
	int64		group_id;		/* the poll's consumer group */
	int64		seen;			/* durable head the poll has read to */
	int			partitions;		/* its group's partitions; 0: wake at every publication */
	bool		any;			/* owns at least one partition */
	uint64		owned[DURABLE_PART_WORDS];	/* bit p: owns partition p */
} DurableWaiter;

typedef struct DurableShared
{
	LWLock	   *lock;			/* taken to claim an entry, and for waiters */
	pg_atomic_uint32 waiters;	/* waiter slots registered */
	int			nslots;
	DurableDb	dbs[DURABLE_DATABASES];
	DurableWaiter slots[FLEXIBLE_ARRAY_MEMBER];
} DurableShared;

static DurableShared *durable = NULL;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* seq this transaction appended up to, to publish when durable; 0: unknown */
static int64 commit_seq = 0;
static Oid	commit_relid = InvalidOid;
static bool commit_pending = false;

/* this process was woken as herald and has not yet handed on */
static bool herald_pending = false;
static Oid	herald_relid = InvalidOid;

/*
 * durable_size
 *		Bytes of shared memory the module needs: one waiter slot per
 *		process that can run a poll (every PGPROC).
 */
static Size
durable_size(void)
{
	return add_size(offsetof(DurableShared, slots),
					mul_size(MaxBackends + NUM_AUXILIARY_PROCS + max_prepared_xacts,
							 sizeof(DurableWaiter)));
}

/*
 * durable_shmem_request
 *		shmem_request_hook: reserve the memory and the lock.
 */
static void
durable_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(durable_size());
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
	durable = ShmemInitStruct("evlog durable head", durable_size(), &found);
	if (!found)
	{
		durable->lock = &(GetNamedLWLockTranche("evlog durable head"))->lock;
		pg_atomic_init_u32(&durable->waiters, 0);
		durable->nslots = MaxBackends + NUM_AUXILIARY_PROCS + max_prepared_xacts;
		for (int i = 0; i < durable->nslots; i++)
			durable->slots[i].waiting = false;
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
 * wake_slot
 *		Mark waiter slot i woken (as herald when herald) and set its
 *		process's latch.  durable->lock held exclusively.
 */
static void
wake_slot(int i, bool herald)
{
	DurableWaiter *w = &durable->slots[i];

	w->waiting = false;
	w->woken = true;
	w->herald = herald;
	SetLatch(&ProcGlobal->allProcs[i].procLatch);
}

/*
 * waits_on
 *		Is waiter slot i waiting on log relid of this database?
 */
static inline bool
waits_on(int i, Oid relid)
{
	DurableWaiter *w = &durable->slots[i];

	return w->waiting && w->dboid == MyDatabaseId && w->relid == relid;
}

/*
 * wake_herald
 *		After the durable head of log relid rose: wake the waiter with
 *		partitions that has seen least as the herald, and the waiters that
 *		asked to be woken at every publication; with no waiter with
 *		partitions, nobody else.  Takes durable->lock exclusively.
 */
static void
wake_herald(Oid relid)
{
	int			herald = -1;

	LWLockAcquire(durable->lock, LW_EXCLUSIVE);
	for (int i = 0; i < durable->nslots; i++)
	{
		DurableWaiter *w = &durable->slots[i];

		if (!waits_on(i, relid))
			continue;
		if (w->partitions == 0)
			wake_slot(i, false);
		else if (w->any && (herald < 0 || w->seen < durable->slots[herald].seen))
			herald = i;
	}
	if (herald >= 0)
		wake_slot(herald, true);
	LWLockRelease(durable->lock);
}

/*
 * owns_one_of
 *		Does waiter w own the partition of one of the n stream hashes?
 */
static bool
owns_one_of(const DurableWaiter *w, const uint32 *hashes, int n)
{
	for (int h = 0; h < n; h++)
	{
		int			p = (int) (hashes[h] % (uint32) w->partitions);

		if ((w->owned[p / 64] & (UINT64CONST(1) << (p % 64))) != 0)
			return true;
	}
	return false;
}

/*
 * evlog_durable_herald
 *		Hand on, as the herald woken by a publication, what this process's
 *		poll read of log relid (read; NULL: it could not read every event
 *		after what it had seen).  Wakes the waiters that may have an event
 *		in (read->from, read->upto]: those that own the partition of one of
 *		read->hashes (for waiters of the herald's own group, of
 *		read->wanted), have seen less than read->from, or ask for every
 *		publication; with read NULL, every waiter of the log.  A waiter not
 *		woken has nothing in that range and had seen everything up to
 *		read->from: it is noted as having seen up to read->upto, so that
 *		the next herald does not wake it for events it was spared.  Does
 *		nothing unless this process is a herald that has not handed on.
 *		Takes durable->lock exclusively; raises nothing.
 */
void
evlog_durable_herald(const DurableHandOn *read)
{
	if (!herald_pending)
		return;
	herald_pending = false;
	LWLockAcquire(durable->lock, LW_EXCLUSIVE);
	for (int i = 0; i < durable->nslots; i++)
	{
		DurableWaiter *w = &durable->slots[i];
		bool		wake;

		if (!waits_on(i, herald_relid) ||
			(read != NULL && w->seen >= read->upto))
			continue;
		if (read == NULL || w->partitions == 0 || w->seen < read->from)
			wake = true;
		else if (w->group_id == read->group_id)
			wake = owns_one_of(w, read->wanted, read->nwanted);
		else
			wake = owns_one_of(w, read->hashes, read->nhashes);
		if (wake)
			wake_slot(i, false);
		else
			w->seen = read->upto;
	}
	LWLockRelease(durable->lock);
}

/*
 * wake_all
 *		Wake every waiter (of any log).  Takes durable->lock exclusively.
 */
static void
wake_all(void)
{
	LWLockAcquire(durable->lock, LW_EXCLUSIVE);
	for (int i = 0; i < durable->nslots; i++)
		if (durable->slots[i].waiting)
			wake_slot(i, false);
	LWLockRelease(durable->lock);
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
		wake_herald(relid);
}

/*
 * evlog_durable_wait
 *		Wait until a publication or a broadcast wakes this process, for at
 *		most timeout_ms milliseconds, unless the durable head of log relid
 *		is already above seen (the durable head the poll has read to).
 *		group_id is the poll's consumer group; partitions and owned
 *		(partitions flags; NULL: none owned) say which of its partitions
 *		the poll's member owns: a publication wakes it when an event of one
 *		of them may have come, or as the herald, which must then call
 *		evlog_durable_herald.  partitions 0 asks to be woken at every
 *		publication.  Returns DURABLE_TIMED_OUT, DURABLE_MOVED (the head
 *		had moved: it did not sleep), DURABLE_WOKEN or DURABLE_HERALD.
 *		Takes durable->lock exclusively to register;
 *		holds no lock while waiting; a cancel raises at the interrupt check
 *		inside.
 */
DurableWake
evlog_durable_wait(Oid relid, int64 group_id, int64 seen, long timeout_ms,
				   int partitions, const bool *owned)
{
	DurableWaiter *w = &durable->slots[MyProc->pgprocno];
	TimestampTz end = GetCurrentTimestamp() + (TimestampTz) timeout_ms * 1000;
	DurableWake result = DURABLE_TIMED_OUT;

	Assert(partitions >= 0 && partitions <= EVLOG_MAX_PARTITIONS);
	LWLockAcquire(durable->lock, LW_EXCLUSIVE);
	w->dboid = MyDatabaseId;
	w->relid = relid;
	w->group_id = group_id;
	w->seen = seen;
	w->partitions = partitions;
	w->any = false;
	memset(w->owned, 0, sizeof(w->owned));
	for (int p = 0; owned != NULL && p < partitions; p++)
		if (owned[p])
		{
			w->owned[p / 64] |= UINT64CONST(1) << (p % 64);
			w->any = true;
		}
	w->woken = w->herald = false;
	w->waiting = true;
	LWLockRelease(durable->lock);
	pg_atomic_fetch_add_u32(&durable->waiters, 1);
	PG_TRY();
	{
		/* a publication before the registration: do not sleep */
		if (evlog_durable_head(relid) > seen)
			result = DURABLE_MOVED;
		while (result == DURABLE_TIMED_OUT)
		{
			long		left = (long) ((end - GetCurrentTimestamp() + 999) / 1000);

			if (left <= 0)
				break;
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 left, PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
			CHECK_FOR_INTERRUPTS();
			if (w->woken)
				result = w->herald ? DURABLE_HERALD : DURABLE_WOKEN;
		}
	}
	PG_FINALLY();
	{
		LWLockAcquire(durable->lock, LW_EXCLUSIVE);
		if (w->woken && w->herald)
		{
			/* even when a cancel ends the wait, someone must hand on */
			result = DURABLE_HERALD;
			herald_pending = true;
			herald_relid = relid;
		}
		w->waiting = w->woken = w->herald = false;
		LWLockRelease(durable->lock);
		pg_atomic_fetch_sub_u32(&durable->waiters, 1);
	}
	PG_END_TRY();
	return result;
}

/*
 * durable_xact_callback
 *		At pre-commit of a transaction that appended, note the seq it wrote
 *		up to (appendcache.c still knows it then; 0 when it does not).  At
 *		commit, publish it as the durable head when the commit record was
 *		flushed synchronously; under evlog.group_commit the flush is
 *		deferred (synchronous_commit reads off here) and commit.c calls
 *		publish_deferred_commit once it is done.  A commit left unflushed by
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
			/* a herald whose poll failed hands on nothing: wake all */
			if (herald_pending)
				evlog_durable_herald(NULL);
			break;
		default:
			break;
	}
}

/*
 * publish_deferred_commit
 *		Called by commit.c (through evlog_commit_durable_hook, which
 *		evlog_durable_init sets) once the deferred flush of an appending
 *		transaction's commit (and the wait for synchronous standbys) is
 *		done: publish what it appended as durable.  Raises nothing.
 */
static void
publish_deferred_commit(void)
{
	if (commit_pending && commit_seq > 0)
		evlog_durable_publish(commit_relid, commit_seq);
	commit_pending = false;
}

/*
 * evlog_durable_wake
 *		Wake the polls that wait, when something other than a durable head
 *		gives them work (a member left, a seek).  Takes durable->lock
 *		exclusively when a poll waits.
 */
void
evlog_durable_wake(void)
{
	if (durable != NULL && pg_atomic_read_u32(&durable->waiters) > 0)
		wake_all();
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
	evlog_commit_durable_hook = publish_deferred_commit;
	if (!process_shared_preload_libraries_in_progress)
		return;
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = durable_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = durable_shmem_startup;
}
