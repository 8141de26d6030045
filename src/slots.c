/*-------------------------------------------------------------------------
 *
 * slots.c
 *	  Background worker slots: the evlog workers that could not start
 *	  because every slot under max_worker_processes was taken (README
 *	  "Statistics and monitoring", "Worker slots").
 *
 * Each database with evlog needs a slot for its worker, and each async
 * projection with events to fold one for its projection worker (up to
 * evlog.max_projection_workers per database).  When
 * RegisterDynamicBackgroundWorker finds no free slot:
 *
 * - for a database's worker (launcher.c), nothing folds that database's
 *	 async projections: the launcher notes it here, the server log names
 *	 max_worker_processes once until the worker starts, the launcher tries
 *	 again every second instead of every evlog.launcher_naptime, and
 *	 evlog.projection_status shows worker 'no worker (max_worker_processes)';
 * - for a projection worker (worker.c), the database's worker folds the
 *	 projection itself, in turn with the others; it is noted here so that
 *	 evlog.projection_status shows 'database worker (max_worker_processes)'.
 *
 * The notes are a fixed array in shared memory (EVLOG_SLOT_NOTES entries,
 * under a spinlock); when it is full, a shortage goes unnoted in the view,
 * the server log still says it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/builtins.h"

#include "slots.h"

PG_FUNCTION_INFO_V1(evlog_no_worker_slot);

/* Shortages noted at once, databases' and projections' together */
#define EVLOG_SLOT_NOTES 128

/* The launcher's retry interval while a database's worker waits for a slot */
#define SLOT_RETRY_MS 1000

/* One worker that is waiting for a slot */
typedef struct SlotNote
{
	Oid			dboid;			/* InvalidOid: free entry */
	char		projection[64]; /* "": the database's worker */
} SlotNote;

typedef struct SlotNotes
{
	slock_t		mutex;			/* protects everything below */
	int			databases_short;	/* notes of databases' workers */
	SlotNote	notes[EVLOG_SLOT_NOTES];
} SlotNotes;

static SlotNotes *slot_notes = NULL;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/*
 * slots_shmem_request
 *		shmem_request_hook: reserve the notes.
 */
static void
slots_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(sizeof(SlotNotes));
}

/*
 * slots_shmem_startup
 *		shmem_startup_hook: attach to the notes, emptying them the first time.
 */
static void
slots_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	slot_notes = ShmemInitStruct("evlog worker slots", sizeof(SlotNotes), &found);
	if (!found)
	{
		SpinLockInit(&slot_notes->mutex);
		slot_notes->databases_short = 0;
		memset(slot_notes->notes, 0, sizeof(slot_notes->notes));
	}
	LWLockRelease(AddinShmemInitLock);
}

/*
 * evlog_slots_init
 *		Install the shared memory hooks; called from _PG_init while
 *		preloading only.
 */
void
evlog_slots_init(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = slots_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = slots_shmem_startup;
}

/*
 * find_note
 *		The note of (dboid, projection), or NULL.  The caller holds the
 *		mutex.
 */
static SlotNote *
find_note(Oid dboid, const char *projection)
{
	for (int i = 0; i < EVLOG_SLOT_NOTES; i++)
	{
		SlotNote   *n = &slot_notes->notes[i];

		if (n->dboid == dboid && strcmp(n->projection, projection) == 0)
			return n;
	}
	return NULL;
}

/*
 * evlog_slots_short
 *		Note that the worker of database dboid (projection NULL), or the
 *		projection worker of projection, could not start for want of a
 *		background worker slot.  Returns true when this begins an episode
 *		(it was not noted already), for the caller to log it once.  For a
 *		database's worker, logs itself: once per episode, naming
 *		max_worker_processes.  Takes the spinlock.
 */
bool
evlog_slots_short(Oid dboid, const char *projection)
{
	SlotNote   *n;
	bool		begins = false;

	if (slot_notes == NULL)
		return false;
	SpinLockAcquire(&slot_notes->mutex);
	n = find_note(dboid, projection ? projection : "");
	if (n == NULL)
	{
		begins = true;
		n = find_note(InvalidOid, "");
		if (n != NULL)
		{
			n->dboid = dboid;
			strlcpy(n->projection, projection ? projection : "", sizeof(n->projection));
			if (projection == NULL)
				slot_notes->databases_short++;
		}
	}
	SpinLockRelease(&slot_notes->mutex);
	if (begins && projection == NULL)
		ereport(LOG,
				(errmsg("evlog launcher could not start a worker for database %u: no background worker slot is free", dboid),
				 errdetail("All max_worker_processes (%d) slots are taken; if the database has evlog, its async projections are not folded until a slot frees up.",
						   max_worker_processes),
				 errhint("Raise max_worker_processes: one slot per database with evlog, plus one per async projection up to evlog.max_projection_workers, plus the launcher and other background workers. The launcher tries again every second.")));
	return begins;
}

/*
 * evlog_slots_got
 *		The worker of dboid (projection NULL), or projection's worker, got a
 *		slot, or no longer needs one: end its episode.  Takes the spinlock.
 */
void
evlog_slots_got(Oid dboid, const char *projection)
{
	SlotNote   *n;

	if (slot_notes == NULL)
		return;
	SpinLockAcquire(&slot_notes->mutex);
	n = find_note(dboid, projection ? projection : "");
	if (n != NULL)
	{
		if (projection == NULL)
			slot_notes->databases_short--;
		n->dboid = InvalidOid;
		n->projection[0] = '\0';
	}
	SpinLockRelease(&slot_notes->mutex);
}

/*
 * evlog_slots_forget_database
 *		Forget the notes of dboid's projections: its worker is leaving, and
 *		with it the folds it made in their place.  Takes the spinlock.
 */
void
evlog_slots_forget_database(Oid dboid)
{
	if (slot_notes == NULL)
		return;
	SpinLockAcquire(&slot_notes->mutex);
	for (int i = 0; i < EVLOG_SLOT_NOTES; i++)
	{
		SlotNote   *n = &slot_notes->notes[i];

		if (n->dboid == dboid && n->projection[0] != '\0')
		{
			n->dboid = InvalidOid;
			n->projection[0] = '\0';
		}
	}
	SpinLockRelease(&slot_notes->mutex);
}

/*
 * evlog_slots_prune
 *		Forget the notes of databases not in databases (OIDs: those that
 *		exist), so that a database dropped while it waited for a slot does
 *		not keep the launcher retrying.  Takes the spinlock.
 */
void
evlog_slots_prune(List *databases)
{
	Oid			noted[EVLOG_SLOT_NOTES];
	bool		stale[EVLOG_SLOT_NOTES];

	if (slot_notes == NULL)
		return;
	/* the spinlock is held only to copy and to clear, not to search */
	SpinLockAcquire(&slot_notes->mutex);
	for (int i = 0; i < EVLOG_SLOT_NOTES; i++)
		noted[i] = slot_notes->notes[i].dboid;
	SpinLockRelease(&slot_notes->mutex);
	for (int i = 0; i < EVLOG_SLOT_NOTES; i++)
		stale[i] = OidIsValid(noted[i]) && !list_member_oid(databases, noted[i]);

	SpinLockAcquire(&slot_notes->mutex);
	for (int i = 0; i < EVLOG_SLOT_NOTES; i++)
	{
		SlotNote   *n = &slot_notes->notes[i];

		if (stale[i] && n->dboid == noted[i])
		{
			if (n->projection[0] == '\0')
				slot_notes->databases_short--;
			n->dboid = InvalidOid;
			n->projection[0] = '\0';
		}
	}
	SpinLockRelease(&slot_notes->mutex);
}

/*
 * evlog_slots_retry_ms
 *		How long the launcher may sleep, in milliseconds: naptime_ms, or a
 *		second while a database's worker waits for a slot.
 */
long
evlog_slots_retry_ms(long naptime_ms)
{
	bool		waiting;

	if (slot_notes == NULL)
		return naptime_ms;
	SpinLockAcquire(&slot_notes->mutex);
	waiting = slot_notes->databases_short > 0;
	SpinLockRelease(&slot_notes->mutex);
	return waiting ? Min(naptime_ms, SLOT_RETRY_MS) : naptime_ms;
}

/*
 * evlog.no_worker_slot(projection text) RETURNS boolean
 *
 * Whether, in this database, the worker of the named projection (or, with
 * NULL, the database's worker) could not start for want of a background
 * worker slot and has not started since.  false without evlog preloaded.
 * Takes the spinlock; raises nothing.
 */
Datum
evlog_no_worker_slot(PG_FUNCTION_ARGS)
{
	char	   *projection = PG_ARGISNULL(0) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(0));
	bool		result;

	if (slot_notes == NULL)
		PG_RETURN_BOOL(false);
	SpinLockAcquire(&slot_notes->mutex);
	result = find_note(MyDatabaseId, projection ? projection : "") != NULL;
	SpinLockRelease(&slot_notes->mutex);
	PG_RETURN_BOOL(result);
}
