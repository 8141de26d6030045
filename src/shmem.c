/*-------------------------------------------------------------------------
 *
 * shmem.c
 *	  evlog's shared memory (see shmem.h), requested through
 *	  shmem_request_hook and set up in shmem_startup_hook, as PostgreSQL
 *	  expects of a preloaded library.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "postmaster/postmaster.h"
#include "utils/guc.h"

#include <signal.h>

#include "fmgr.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/shmem.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "evlog.h"
#include "seqstate.h"
#include "shmem.h"
#include "worker.h"

/* evlog.max_projection_workers: projection workers per database */
int			evlog_max_projection_workers = 4;

EvlogShared *evlog_shared = NULL;

PG_FUNCTION_INFO_V1(evlog_worker_pid);
PG_FUNCTION_INFO_V1(evlog_projection_worker_pid);

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/*
 * slot_count
 *		Slots to keep: room for every possible worker, and for the notes on
 *		databases without evlog and on evicted workers.
 */
static int
slot_count(void)
{
	return Max(max_worker_processes * 4, 64);
}

/*
 * projection_slot_count
 *		Projection worker slots to keep: none when projections get no
 *		workers of their own, else one per background worker process, as
 *		no more than that can run at once whatever the databases.
 */
static int
projection_slot_count(void)
{
	return evlog_max_projection_workers > 0 ? max_worker_processes : 0;
}

/*
 * slots_size
 *		Bytes of the header and the database worker slots, where the
 *		projection worker slots begin.
 */
static Size
slots_size(void)
{
	return MAXALIGN(add_size(offsetof(EvlogShared, slots),
							 mul_size(slot_count(), sizeof(EvlogWorkerSlot))));
}

/*
 * shared_size
 *		Bytes evlog needs.
 */
static Size
shared_size(void)
{
	return add_size(slots_size(),
					mul_size(projection_slot_count(), sizeof(EvlogProjectionSlot)));
}

/*
 * evlog_shmem_request
 *		shmem_request_hook: reserve the memory (the worker slots and the
 *		sequencer's state) and one named LWLock.
 */
static void
evlog_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(shared_size());
	RequestAddinShmemSpace(evlog_seqstate_size());
	RequestNamedLWLockTranche("evlog", 1);
}

/*
 * evlog_shmem_startup
 *		shmem_startup_hook: attach to (and, the first time, zero) the memory,
 *		the worker slots and the sequencer's state (seqstate.c).  Takes
 *		AddinShmemInitLock.
 */
static void
evlog_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	evlog_shared = ShmemInitStruct("evlog", shared_size(), &found);
	if (!found)
	{
		memset(evlog_shared, 0, shared_size());
		evlog_shared->lock = &(GetNamedLWLockTranche("evlog"))->lock;
		evlog_shared->nslots = slot_count();
		evlog_shared->nprojslots = projection_slot_count();
		evlog_shared->projslots = (EvlogProjectionSlot *)
			((char *) evlog_shared + slots_size());
	}
	evlog_seqstate_attach(evlog_shared->lock);
	LWLockRelease(AddinShmemInitLock);
}

/*
 * evlog_shmem_init
 *		Install the hooks; called from _PG_init while preloading only.
 */
void
evlog_shmem_init(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = evlog_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = evlog_shmem_startup;
}

/*
 * evlog_slot_for
 *		The slot of dboid's worker, or NULL.  With create, claim one when
 *		there is none: a free slot, else one whose worker has gone and whose
 *		eviction has ended (its "no extension" note is then forgotten, and
 *		the launcher will look at that database again).  NULL when every
 *		slot is in use.  The caller holds evlog_shared->lock, exclusively
 *		when create is true.
 */
EvlogWorkerSlot *
evlog_slot_for(Oid dboid, bool create)
{
	EvlogWorkerSlot *free_slot = NULL;
	EvlogWorkerSlot *stale_slot = NULL;
	TimestampTz now = create ? GetCurrentTimestamp() : 0;

	for (int i = 0; i < evlog_shared->nslots; i++)
	{
		EvlogWorkerSlot *slot = &evlog_shared->slots[i];

		if (slot->dboid == dboid)
			return slot;
		if (!create)
			continue;
		if (free_slot == NULL && slot->dboid == InvalidOid)
			free_slot = slot;
		else if (stale_slot == NULL && slot->pid == 0 && slot->evicted_until <= now)
			stale_slot = slot;
	}
	if (free_slot == NULL)
		free_slot = stale_slot;
	if (free_slot)
	{
		memset(free_slot, 0, sizeof(*free_slot));
		free_slot->dboid = dboid;
	}
	return free_slot;
}

/*
 * evlog_wake_worker
 *		Set the latch of dboid's worker and of its projection workers, those
 *		that run.  Called at the commit of an appending transaction, and of
 *		one that changed the registry.  The projection workers are woken
 *		here rather than by the database's worker, so that a commit reaches
 *		them even while that worker folds a batch.  Takes evlog_shared->lock
 *		shared; a no-op without shared memory (library not preloaded).
 */
void
evlog_wake_worker(Oid dboid)
{
	EvlogWorkerSlot *slot;

	if (evlog_shared == NULL)
		return;
	LWLockAcquire(evlog_shared->lock, LW_SHARED);
	slot = evlog_slot_for(dboid, false);
	if (slot && slot->latch)
		SetLatch(slot->latch);
	for (int i = 0; i < evlog_shared->nprojslots; i++)
	{
		EvlogProjectionSlot *ps = &evlog_shared->projslots[i];

		if (ps->dboid == dboid && ps->latch)
			SetLatch(ps->latch);
	}
	LWLockRelease(evlog_shared->lock);
}

/*
 * evlog_projection_slot
 *		The slot of the worker of projection name in dboid (starting or
 *		running), or NULL.  The caller holds evlog_shared->lock.
 */
EvlogProjectionSlot *
evlog_projection_slot(Oid dboid, const char *name)
{
	for (int i = 0; i < evlog_shared->nprojslots; i++)
	{
		EvlogProjectionSlot *ps = &evlog_shared->projslots[i];

		if (ps->dboid == dboid && strcmp(ps->name, name) == 0)
			return ps;
	}
	return NULL;
}

/*
 * evlog_claim_projection_slot
 *		Claim a free slot for a worker of projection name (at most 63 bytes)
 *		in dboid, with a new generation; NULL when every slot is in use.
 *		The caller holds evlog_shared->lock exclusively.
 */
EvlogProjectionSlot *
evlog_claim_projection_slot(Oid dboid, const char *name)
{
	for (int i = 0; i < evlog_shared->nprojslots; i++)
	{
		EvlogProjectionSlot *ps = &evlog_shared->projslots[i];

		if (ps->dboid != InvalidOid)
			continue;
		ps->dboid = dboid;
		ps->generation++;
		ps->pid = 0;
		ps->latch = NULL;
		strlcpy(ps->name, name, sizeof(ps->name));
		return ps;
	}
	return NULL;
}

/*
 * evlog_projection_workers
 *		The projection workers of dboid, starting or running.  The caller
 *		holds evlog_shared->lock.
 */
int
evlog_projection_workers(Oid dboid)
{
	int			n = 0;

	for (int i = 0; i < evlog_shared->nprojslots; i++)
		if (evlog_shared->projslots[i].dboid == dboid)
			n++;
	return n;
}

/*
 * stop_projection_workers
 *		SIGTERM the running projection workers of dboid and free the slots
 *		of those still starting (they find the slot gone and leave).  The
 *		caller holds evlog_shared->lock exclusively.
 */
static void
stop_projection_workers(Oid dboid)
{
	for (int i = 0; i < evlog_shared->nprojslots; i++)
	{
		EvlogProjectionSlot *ps = &evlog_shared->projslots[i];

		if (ps->dboid != dboid)
			continue;
		if (ps->pid > 0)
			kill(ps->pid, SIGTERM);
		else
			ps->dboid = InvalidOid;
	}
}

/*
 * evlog_stop_projection_workers
 *		As stop_projection_workers; takes evlog_shared->lock exclusively.
 *		A no-op without shared memory.
 */
void
evlog_stop_projection_workers(Oid dboid)
{
	if (evlog_shared == NULL)
		return;
	LWLockAcquire(evlog_shared->lock, LW_EXCLUSIVE);
	stop_projection_workers(dboid);
	LWLockRelease(evlog_shared->lock);
}

/*
 * evlog_wake_launcher
 *		Set the launcher's latch; with rescan (CREATE EXTENSION evlog has
 *		committed in this database), make it look at every database again,
 *		including those where a worker found no extension, and end this
 *		database's eviction by a DROP EXTENSION evlog before it.  Takes
 *		evlog_shared->lock exclusively; a no-op without shared memory.
 */
void
evlog_wake_launcher(bool rescan)
{
	if (evlog_shared == NULL)
		return;
	LWLockAcquire(evlog_shared->lock, LW_EXCLUSIVE);
	if (rescan)
	{
		EvlogWorkerSlot *mine = evlog_slot_for(MyDatabaseId, false);

		evlog_shared->rescan = true;
		for (int i = 0; i < evlog_shared->nslots; i++)
			evlog_shared->slots[i].no_extension = false;
		if (mine)
			mine->evicted_until = 0;
	}
	if (evlog_shared->launcher_latch)
		SetLatch(evlog_shared->launcher_latch);
	LWLockRelease(evlog_shared->lock);
}

/*
 * evlog_evict_worker
 *		Ask dboid's worker and its projection workers to exit (SIGTERM) and
 *		keep the launcher from starting another for the given number of
 *		seconds, so that DROP DATABASE and its like, which need the database
 *		to themselves, are not blocked.  Returns the pid of the database's
 *		worker signalled, or 0.  Takes
 *		evlog_shared->lock exclusively.
 */
pid_t
evlog_evict_worker(Oid dboid, int seconds)
{
	EvlogWorkerSlot *slot;
	pid_t		pid = 0;

	if (evlog_shared == NULL)
		return 0;
	LWLockAcquire(evlog_shared->lock, LW_EXCLUSIVE);
	slot = evlog_slot_for(dboid, true);
	if (slot)
	{
		slot->evicted_until = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
														  seconds * 1000);
		pid = slot->pid;
		if (pid > 0)
			kill(pid, SIGTERM);
	}
	stop_projection_workers(dboid);
	LWLockRelease(evlog_shared->lock);
	return pid;
}

/*
 * evlog.worker_pid() RETURNS integer
 *
 * The process id of this database's worker, NULL when none runs.  Takes
 * evlog_shared->lock shared.
 */
Datum
evlog_worker_pid(PG_FUNCTION_ARGS)
{
	EvlogWorkerSlot *slot;
	pid_t		pid = 0;

	if (evlog_shared == NULL)
		PG_RETURN_NULL();
	LWLockAcquire(evlog_shared->lock, LW_SHARED);
	slot = evlog_slot_for(MyDatabaseId, false);
	if (slot)
		pid = slot->pid;
	LWLockRelease(evlog_shared->lock);
	if (pid == 0)
		PG_RETURN_NULL();
	PG_RETURN_INT32(pid);
}

/*
 * evlog.projection_worker_pid(name text) RETURNS integer
 *
 * The process id of the projection worker of the named projection in this
 * database, NULL when none runs.  STRICT.  Takes evlog_shared->lock shared.
 */
Datum
evlog_projection_worker_pid(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	EvlogProjectionSlot *ps;
	pid_t		pid = 0;

	if (evlog_shared == NULL)
		PG_RETURN_NULL();
	LWLockAcquire(evlog_shared->lock, LW_SHARED);
	ps = evlog_projection_slot(MyDatabaseId, name);
	if (ps)
		pid = ps->pid;
	LWLockRelease(evlog_shared->lock);
	if (pid == 0)
		PG_RETURN_NULL();
	PG_RETURN_INT32(pid);
}

/*
 * evlog_shmem_gucs
 *		Define the settings that size shared memory: evlog.max_projection_workers
 *		(projection worker slots per database).  Called from _PG_init while
 *		preloading, before the "evlog" prefix is reserved; takes no locks.
 */
void
evlog_shmem_gucs(void)
{
	DefineCustomIntVariable("evlog.max_projection_workers",
							"Projection workers per database: each folds one async projection, so that a slow or hung handler holds up no other projection.",
							"0: the database's worker folds every projection itself, one batch each in turn. Each projection worker takes one of max_worker_processes.",
							&evlog_max_projection_workers,
							4, 0, MAX_BACKENDS,
							PGC_POSTMASTER, 0,
							NULL, NULL, NULL);
}
