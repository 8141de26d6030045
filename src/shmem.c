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

#include <signal.h>

#include "fmgr.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/shmem.h"
#include "utils/timestamp.h"

#include "evlog.h"
#include "seqstate.h"
#include "shmem.h"

EvlogShared *evlog_shared = NULL;

PG_FUNCTION_INFO_V1(evlog_worker_pid);

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
 * shared_size
 *		Bytes evlog needs.
 */
static Size
shared_size(void)
{
	return add_size(offsetof(EvlogShared, slots),
					mul_size(slot_count(), sizeof(EvlogWorkerSlot)));
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
	}
	evlog_seqstate_attach();
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
 *		Set the latch of dboid's worker, if one runs.  Called at the commit
 *		of an appending transaction.  Takes evlog_shared->lock shared; a
 *		no-op without shared memory (library not preloaded).
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
	LWLockRelease(evlog_shared->lock);
}

/*
 * evlog_wake_launcher
 *		Set the launcher's latch; with rescan, make it look at every database
 *		again, including those where a worker found no extension.  Takes
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
		evlog_shared->rescan = true;
		for (int i = 0; i < evlog_shared->nslots; i++)
			evlog_shared->slots[i].no_extension = false;
	}
	if (evlog_shared->launcher_latch)
		SetLatch(evlog_shared->launcher_latch);
	LWLockRelease(evlog_shared->lock);
}

/*
 * evlog_evict_worker
 *		Ask dboid's worker to exit (SIGTERM) and keep the launcher from
 *		starting another for the given number of seconds, so that DROP
 *		DATABASE and its like, which need the database to themselves, are
 *		not blocked.  Returns the pid signalled, or 0.  Takes
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
