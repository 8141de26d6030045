/*-------------------------------------------------------------------------
 *
 * worker.c
 *	  The per-database evlog worker, which starts the projection workers
 *	  (projworker.c).
 *
 * The database's worker is a dispatcher: it gives every active async
 * projection that has events to fold a projection worker of its own, a
 * dynamic background worker that folds that projection alone, one batch
 * per transaction, so that a slow or hung handler holds up nothing but its
 * own projection (README, "The worker").  A projection it can give no worker
 * (evlog.max_projection_workers reached, or no free slot under
 * max_worker_processes; the server log says which, once) it folds itself,
 * round-robin, one batch each; with evlog.max_projection_workers = 0 it
 * folds every projection that way.  All of them sleep on their latches,
 * which an appending transaction sets at commit (evlog.worker_naptime is
 * only the fallback).  Handlers run as their projection's owner (fold.c),
 * never as the worker's superuser.
 *
 * They show in pg_stat_activity as backend_type (and application_name)
 * "evlog worker" and "evlog projection worker", waiting on wait event
 * "Extension"; a projection worker's query is its projection's name.
 * SIGHUP reloads the configuration; SIGTERM ends one at once (PostgreSQL's
 * die(): the transaction in progress rolls back, checkpoints included).
 * They leave by themselves when the extension is not (or no longer)
 * installed.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "executor/spi.h"
#include "catalog/namespace.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "postmaster/postmaster.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "evlog.h"
#include "oidcache.h"
#include "projection.h"
#include "projworker.h"
#include "shmem.h"
#include "slots.h"
#include "worker.h"
#include "workerloop.h"

/* evlog.worker_naptime: fallback nap of a worker, in milliseconds */
static int	evlog_worker_naptime = 10000;

/* A projection worker the database's worker started and has not seen end */
typedef struct StartedWorker
{
	int			slot;			/* index in evlog_shared->projslots */
	uint32		generation;
	BackgroundWorkerHandle *handle;
} StartedWorker;

/* An active async projection, as the database's worker lists them */
typedef struct DispatchEntry
{
	char		name[64];
	int64		checkpoint;
	bool		has_worker;
} DispatchEntry;

/*
 * The database's worker: workers started (StartedWorker *), and the
 * projections it folds itself whose reason it logged (char *)
 */
static List *started_workers = NIL;
static List *fallback_noted = NIL;

/*
 * The database's worker: active async projections at its last look, and
 * whether its last look was skipped (all_have_workers)
 */
static int	listed_active = -1;
static bool look_skipped = false;

/*
 * evlog_worker_init
 *		Define evlog.worker_naptime.  Called from _PG_init before the
 *		"evlog" prefix is reserved; takes no locks.
 */
void
evlog_worker_init(void)
{
	DefineCustomIntVariable("evlog.worker_naptime",
							"Longest time an evlog worker sleeps when no append wakes it.",
							"Appends wake the worker at commit; this is only the fallback.",
							&evlog_worker_naptime,
							10000, 10, 3600 * 1000,
							PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);
}

/*
 * worker_detach
 *		before_shmem_exit callback: free this worker's slot for the next one,
 *		and stop the projection workers of the database, which belong to it.
 */
static void
worker_detach(int code, Datum arg)
{
	EvlogWorkerSlot *slot;

	LWLockAcquire(evlog_shared->lock, LW_EXCLUSIVE);
	slot = evlog_slot_for(DatumGetObjectId(arg), false);
	if (slot && slot->pid == MyProcPid)
	{
		slot->pid = 0;
		slot->latch = NULL;
	}
	LWLockRelease(evlog_shared->lock);
	evlog_stop_projection_workers(DatumGetObjectId(arg));
	evlog_slots_forget_database(DatumGetObjectId(arg));
}

/*
 * claim_database_slot
 *		Claim the slot of this database; false when another worker holds it.
 */
static bool
claim_database_slot(Oid dboid)
{
	EvlogWorkerSlot *slot;
	bool		ok = false;

	LWLockAcquire(evlog_shared->lock, LW_EXCLUSIVE);
	slot = evlog_slot_for(dboid, true);
	if (slot && slot->pid == 0)
	{
		slot->pid = MyProcPid;
		slot->latch = MyLatch;
		slot->no_extension = false;
		ok = true;
	}
	LWLockRelease(evlog_shared->lock);
	return ok;
}

/*
 * leave_without_extension
 *		Note in the slot that this database has no evlog, and exit.
 */
static void
leave_without_extension(Oid dboid)
{
	EvlogWorkerSlot *slot;

	LWLockAcquire(evlog_shared->lock, LW_EXCLUSIVE);
	slot = evlog_slot_for(dboid, false);
	if (slot)
		slot->no_extension = true;
	LWLockRelease(evlog_shared->lock);
	proc_exit(0);
}

/*
 * active_async_projections
 *		The active async projections (DispatchEntry *, in cxt), each noting
 *		whether it has a projection worker; *head is the log's head when one
 *		of them has none and projection workers are on, else 0.  Exits the
 *		worker when the extension is not installed.  Own transaction; takes
 *		evlog_shared->lock shared.
 */
static List *
active_async_projections(Oid dboid, MemoryContext cxt, int64 *head)
{
	List	   *entries = NIL;
	List	   *all;
	ListCell   *lc;
	bool		need_head = false;
	bool		installed;

	*head = 0;
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	all = evlog_worker_read_registry(&installed);
	if (!installed)
	{
		PopActiveSnapshot();
		CommitTransactionCommand();
		leave_without_extension(dboid);
	}
	LWLockAcquire(evlog_shared->lock, LW_SHARED);
	foreach(lc, all)
	{
		EvlogProjection *p = lfirst(lc);
		DispatchEntry *e;

		if (p->sync || p->state != 'a')
			continue;
		e = MemoryContextAllocZero(cxt, sizeof(DispatchEntry));
		strlcpy(e->name, p->name, sizeof(e->name));
		e->checkpoint = p->checkpoint;
		e->has_worker = evlog_projection_slot(dboid, p->name) != NULL;
		need_head |= !e->has_worker;
		entries = lappend(entries, e);
	}
	LWLockRelease(evlog_shared->lock);
	listed_active = list_length(entries);
	if (need_head && evlog_max_projection_workers > 0)
	{
		SPI_connect();
		*head = evlog_head_spi();
		SPI_finish();
	}
	PopActiveSnapshot();
	CommitTransactionCommand();
	return entries;
}

/*
 * note_fallback
 *		Say in the server log, once until it gets a worker again, that the
 *		database's worker folds projection name itself, and why: no free
 *		background worker slot, or the database's limit reached.
 */
static void
note_fallback(const char *name, bool limit_reached)
{
	ListCell   *lc;
	MemoryContext old;

	foreach(lc, fallback_noted)
		if (strcmp(lfirst(lc), name) == 0)
			return;
	if (limit_reached)
		ereport(LOG,
				(errmsg("evlog worker: projection \"%s\" gets no worker of its own, the database's worker folds it", name),
				 errdetail("This database already has evlog.max_projection_workers (%d) projection workers.",
						   evlog_max_projection_workers),
				 errhint("Raise evlog.max_projection_workers, and max_worker_processes with it.")));
	else
		ereport(LOG,
				(errmsg("evlog worker: projection \"%s\" gets no worker of its own, the database's worker folds it", name),
				 errdetail("No background worker slot is free (max_worker_processes = %d).",
						   max_worker_processes),
				 errhint("Raise max_worker_processes: one per database with evlog, plus one per async projection up to evlog.max_projection_workers, plus the launcher.")));
	old = MemoryContextSwitchTo(TopMemoryContext);
	fallback_noted = lappend(fallback_noted, pstrdup(name));
	MemoryContextSwitchTo(old);
}

/*
 * forget_fallback
 *		Forget the notes on projections that now have a worker or are no
 *		longer active async projections (entries: DispatchEntry *).
 */
static void
forget_fallback(List *entries)
{
	for (int i = list_length(fallback_noted) - 1; i >= 0; i--)
	{
		char	   *name = list_nth(fallback_noted, i);
		bool		keep = false;
		ListCell   *lc;

		foreach(lc, entries)
		{
			DispatchEntry *e = lfirst(lc);

			if (strcmp(e->name, name) == 0)
				keep = !e->has_worker;
		}
		if (!keep)
		{
			evlog_slots_got(MyDatabaseId, name);
			fallback_noted = list_delete_nth_cell(fallback_noted, i);
			pfree(name);
		}
	}
}

/*
 * reap_started_workers
 *		Forget the projection workers started that have ended, and free the
 *		slot of one that ended before it took it (it could not start or
 *		connect).  Takes evlog_shared->lock exclusively.
 */
static void
reap_started_workers(void)
{
	for (int i = list_length(started_workers) - 1; i >= 0; i--)
	{
		StartedWorker *w = list_nth(started_workers, i);
		pid_t		pid;
		EvlogProjectionSlot *ps = &evlog_shared->projslots[w->slot];

		if (GetBackgroundWorkerPid(w->handle, &pid) != BGWH_STOPPED)
			continue;
		LWLockAcquire(evlog_shared->lock, LW_EXCLUSIVE);
		if (ps->generation == w->generation && ps->dboid == MyDatabaseId && ps->pid == 0)
			ps->dboid = InvalidOid;
		LWLockRelease(evlog_shared->lock);
		pfree(w->handle);
		pfree(w);
		started_workers = list_delete_nth_cell(started_workers, i);
	}
}

/*
 * start_projection_worker
 *		Start a projection worker for e, which has none, as a dynamic
 *		background worker that reports to this process.  Returns false,
 *		with *limit_reached telling why, when the database has
 *		evlog.max_projection_workers already or no slot is free.  Takes
 *		evlog_shared->lock exclusively.
 */
static bool
start_projection_worker(Oid dboid, DispatchEntry *e, bool *limit_reached)
{
	BackgroundWorker bgw;
	ProjectionWorkerArg arg;
	EvlogProjectionSlot *ps = NULL;
	BackgroundWorkerHandle *handle;
	StartedWorker *w;

	*limit_reached = false;
	memset(&arg, 0, sizeof(arg));
	LWLockAcquire(evlog_shared->lock, LW_EXCLUSIVE);
	if (evlog_projection_workers(dboid) >= evlog_max_projection_workers)
		*limit_reached = true;
	else
		ps = evlog_claim_projection_slot(dboid, e->name);
	if (ps)
	{
		arg.dboid = dboid;
		arg.generation = ps->generation;
		strlcpy(arg.name, e->name, sizeof(arg.name));
	}
	LWLockRelease(evlog_shared->lock);
	if (ps == NULL)
		return false;

	evlog_dynamic_worker(&bgw, "evlog_projection_worker_main", "evlog projection worker",
						 Int32GetDatum((int32) (ps - evlog_shared->projslots)));
	snprintf(bgw.bgw_name, BGW_MAXLEN, "evlog worker for projection %s", e->name);
	StaticAssertStmt(sizeof(ProjectionWorkerArg) <= BGW_EXTRALEN, "bgw_extra too small");
	memcpy(bgw.bgw_extra, &arg, sizeof(arg));
	if (!RegisterDynamicBackgroundWorker(&bgw, &handle))
	{
		LWLockAcquire(evlog_shared->lock, LW_EXCLUSIVE);
		if (ps->generation == arg.generation && ps->dboid == dboid)
			ps->dboid = InvalidOid;
		LWLockRelease(evlog_shared->lock);
		return false;
	}
	w = MemoryContextAlloc(TopMemoryContext, sizeof(StartedWorker));
	w->slot = ps - evlog_shared->projslots;
	w->generation = arg.generation;
	w->handle = handle;
	started_workers = lappend(started_workers, w);
	return true;
}

/*
 * all_have_workers
 *		Whether every active async projection had a worker at the last look
 *		and has one still, and the registry has not changed since: then a
 *		commit gives the database's worker nothing to do, as it woke the
 *		projection workers itself.  Processes invalidations in an empty
 *		transaction.  A committing registry change sends its invalidation
 *		just after it sets the latches, so one may be seen late: the caller
 *		looks again within a second after a skipped look.  Takes
 *		evlog_shared->lock shared.
 */
static bool
all_have_workers(Oid dboid)
{
	int			n;

	if (listed_active < 0)
		return false;
	StartTransactionCommand();
	CommitTransactionCommand();
	if (evlog_worker_registry_stale)
		return false;
	LWLockAcquire(evlog_shared->lock, LW_SHARED);
	n = evlog_projection_workers(dboid);
	LWLockRelease(evlog_shared->lock);
	return n >= listed_active;
}

/*
 * assign_projection_workers
 *		One look at the registry: start a projection worker for each active
 *		async projection that has events to fold and no worker, and return
 *		the names (in cxt) of those this process must fold itself: every one
 *		with evlog.max_projection_workers = 0, else those it could give no
 *		worker.  Unless force, the look is skipped (NIL) when every
 *		projection has its worker.  Own transaction.
 */
static List *
assign_projection_workers(Oid dboid, MemoryContext cxt, bool force)
{
	int64		head;
	List	   *entries;
	List	   *here = NIL;
	ListCell   *lc;

	reap_started_workers();
	look_skipped = !force && evlog_max_projection_workers > 0 && all_have_workers(dboid);
	if (look_skipped)
		return NIL;
	entries = active_async_projections(dboid, cxt, &head);
	foreach(lc, entries)
	{
		DispatchEntry *e = lfirst(lc);
		bool		limit_reached;

		if (evlog_max_projection_workers == 0)
			here = lappend(here, e->name);
		else if (e->has_worker || e->checkpoint >= head)
			continue;
		else if (start_projection_worker(dboid, e, &limit_reached))
			e->has_worker = true;
		else
		{
			if (!limit_reached)
				(void) evlog_slots_short(dboid, e->name);
			note_fallback(e->name, limit_reached);
			here = lappend(here, e->name);
		}
	}
	forget_fallback(entries);
	return here;
}

/*
 * next_projection_after
 *		The position in names of the name after last (round-robin), 0 when
 *		last is not there.
 */
static int
next_projection_after(List *names, const char *last)
{
	for (int i = 0; i < list_length(names); i++)
		if (strcmp(list_nth(names, i), last) == 0)
			return (i + 1) % list_length(names);
	return 0;
}

/*
 * evlog_worker_main
 *		Entry point of a database's worker; the database OID is the argument.
 *
 * Each time its latch is set (a commit, a registry change, a projection
 * worker's start or end) it looks at the registry again
 * (assign_projection_workers), also between two batches it folds itself,
 * so that a projection without a worker waits no more than one batch for
 * one.  It folds its own
 * projections one batch each in turn until a whole round finds nothing.
 */
void
evlog_worker_main(Datum arg)
{
	Oid			dboid = DatumGetObjectId(arg);
	MemoryContext cxt;
	char		last[64] = "";
	int			rc = WL_TIMEOUT;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(dboid, InvalidOid, 0);
	pgstat_report_appname("evlog worker");
	evlog_worker_fold_settings();

	if (!claim_database_slot(dboid))
		proc_exit(0);
	before_shmem_exit(worker_detach, arg);

	evlog_worker_watch_registry();
	cxt = AllocSetContextCreate(TopMemoryContext, "evlog worker",
								ALLOCSET_DEFAULT_SIZES);
	for (;;)
	{
		List	   *here;
		int			pos;
		int			quiet = 0;

		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		evlog_worker_reload_if_asked();
		here = assign_projection_workers(dboid, cxt, (rc & WL_TIMEOUT) != 0);
		pos = next_projection_after(here, last);

		/* fold this process's projections until a round finds nothing */
		while (here != NIL && quiet < list_length(here))
		{
			const char *name = list_nth(here, pos);

			CHECK_FOR_INTERRUPTS();
			if (evlog_worker_fold_one(name, NULL))
				quiet = 0;
			else
				quiet++;
			strlcpy(last, name, sizeof(last));
			pos = (pos + 1) % list_length(here);
			if (MyLatch->is_set)
			{
				/* something happened: look at the registry again */
				ResetLatch(MyLatch);
				evlog_worker_reload_if_asked();
				MemoryContextReset(cxt);
				here = assign_projection_workers(dboid, cxt, false);
				pos = next_projection_after(here, last);
				quiet = 0;
			}
		}
		MemoryContextReset(cxt);

		/* after a look skipped, look again soon: see all_have_workers */
		rc = WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
					   look_skipped ? Min(evlog_worker_naptime, 1000) : evlog_worker_naptime,
					   PG_WAIT_EXTENSION);
	}
}
