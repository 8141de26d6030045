/*-------------------------------------------------------------------------
 *
 * worker.c
 *	  The per-database evlog worker and the projection workers it starts.
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
 * A projection worker leaves when its projection is paused, failed,
 * unregistered or made sync, when no commit woke it for
 * evlog.projection_worker_idle_timeout, and with the database's worker.
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
#include "shmem.h"
#include "slots.h"
#include "worker.h"

/* evlog.worker_naptime: fallback nap of a worker, in milliseconds */
static int	evlog_worker_naptime = 10000;

/*
 * evlog.projection_worker_idle_timeout: a projection worker no commit woke
 * for this long leaves, in milliseconds
 */
int			evlog_projection_worker_idle_timeout = 60000;

/* Shortest time between two wake-ups' folds of a projection worker */
#define FOLD_INTERVAL_MS 2

/* What a projection worker is started with, in bgw_extra */
typedef struct ProjectionWorkerArg
{
	Oid			dboid;
	uint32		generation;		/* of its slot, which bgw_main_arg numbers */
	char		name[64];
} ProjectionWorkerArg;

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

/* The registry may have changed since this process last read it */
static bool registry_stale = true;
static Oid	registry_relid = InvalidOid;

/*
 * The database's worker: active async projections at its last look, and
 * whether its last look was skipped (all_have_workers)
 */
static int	listed_active = -1;
static bool look_skipped = false;

/*
 * registry_invalidated
 *		Relcache callback of the workers: the registry (or every relation)
 *		was invalidated, as registering, pausing, resuming, altering,
 *		unregistering and DROP EXTENSION do.
 */
static void
registry_invalidated(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == registry_relid)
		registry_stale = true;
}

/*
 * evlog_worker_init
 *		Define the settings of the workers: evlog.worker_naptime, and while
 *		preloading evlog.projection_worker_idle_timeout.  Called from
 *		_PG_init before the "evlog" prefix is reserved; takes no locks.
 */
void
evlog_worker_init(void)
{
	if (process_shared_preload_libraries_in_progress)
		DefineCustomIntVariable("evlog.projection_worker_idle_timeout",
								"A projection worker that no commit woke for this long leaves, giving its background worker slot back.",
								"The database's worker starts another when events arrive.",
								&evlog_projection_worker_idle_timeout,
								60000, 100, 24 * 3600 * 1000,
								PGC_SIGHUP, GUC_UNIT_MS,
								NULL, NULL, NULL);
	DefineCustomIntVariable("evlog.worker_naptime",
							"Longest time an evlog worker sleeps when no append wakes it.",
							"Appends wake the worker at commit; this is only the fallback.",
							&evlog_worker_naptime,
							10000, 10, 3600 * 1000,
							PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);
}

/*
 * reload_if_asked
 *		Reload the configuration when a SIGHUP asked for it.
 */
static void
reload_if_asked(void)
{
	if (ConfigReloadPending)
	{
		ConfigReloadPending = false;
		ProcessConfigFile(PGC_SIGHUP);
	}
}

/*
 * fold_settings
 *		Commit fold transactions asynchronously.  A crash then loses at most
 *		the last moments of folding, never an event (a fold's commit record
 *		follows those of the events it read, so it is never durable without
 *		them), and the read models roll back with their checkpoints, which
 *		are folded again.  Synchronous commits would put every fold's WAL
 *		flush in line with the appenders', one per projection worker.
 */
static void
fold_settings(void)
{
	SetConfigOption("synchronous_commit", "off", PGC_SUSET, PGC_S_OVERRIDE);
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

	*head = 0;
	registry_stale = false;
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	registry_relid = evlog_relid_if_exists(EVLOG_PROJECTIONS_TABLE);
	if (!OidIsValid(registry_relid))
	{
		PopActiveSnapshot();
		CommitTransactionCommand();
		leave_without_extension(dboid);
	}
	all = evlog_load_projections(GetActiveSnapshot());
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
 * fold_one
 *		Fold one batch of projection name in a transaction of its own.  An
 *		error no subtransaction caught (the handler was dropped, say) marks
 *		the projection failed instead of ending the worker.  Returns whether
 *		events remain; *handed (may be NULL) gets the events handed to the
 *		handler, -1 when the projection was marked failed here.
 */
static bool
fold_one(const char *name, int64 *handed)
{
	bool		more = false;
	int64		n = 0;
	MemoryContext cxt = CurrentMemoryContext;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, name);
	PG_TRY();
	{
		n = evlog_fold(name, EVLOG_FOLD_WORKER, &more);
		PopActiveSnapshot();
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		ereport(LOG,
				(errmsg("evlog worker: projection \"%s\" failed: %s", name, edata->message)));
		StartTransactionCommand();
		PushActiveSnapshot(GetTransactionSnapshot());
		evlog_mark_failed(name, -1, edata->message);
		PopActiveSnapshot();
		CommitTransactionCommand();
		FreeErrorData(edata);
		more = false;
		n = -1;
	}
	PG_END_TRY();
	pgstat_report_activity(STATE_IDLE, NULL);
	if (handed)
		*handed = n;
	return more;
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
	if (registry_stale)
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
	fold_settings();

	if (!claim_database_slot(dboid))
		proc_exit(0);
	before_shmem_exit(worker_detach, arg);

	CacheRegisterRelcacheCallback(registry_invalidated, (Datum) 0);
	cxt = AllocSetContextCreate(TopMemoryContext, "evlog worker",
								ALLOCSET_DEFAULT_SIZES);
	for (;;)
	{
		List	   *here;
		int			pos;
		int			quiet = 0;

		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		reload_if_asked();
		here = assign_projection_workers(dboid, cxt, (rc & WL_TIMEOUT) != 0);
		pos = next_projection_after(here, last);

		/* fold this process's projections until a round finds nothing */
		while (here != NIL && quiet < list_length(here))
		{
			const char *name = list_nth(here, pos);

			CHECK_FOR_INTERRUPTS();
			if (fold_one(name, NULL))
				quiet = 0;
			else
				quiet++;
			strlcpy(last, name, sizeof(last));
			pos = (pos + 1) % list_length(here);
			if (MyLatch->is_set)
			{
				/* something happened: look at the registry again */
				ResetLatch(MyLatch);
				reload_if_asked();
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

/*
 * projection_detach
 *		before_shmem_exit callback of a projection worker: free its slot and
 *		wake the database's worker, which may start another.
 */
static void
projection_detach(int code, Datum arg)
{
	EvlogProjectionSlot *ps = &evlog_shared->projslots[DatumGetInt32(arg)];
	EvlogWorkerSlot *slot;

	LWLockAcquire(evlog_shared->lock, LW_EXCLUSIVE);
	if (ps->pid == MyProcPid)
	{
		ps->dboid = InvalidOid;
		ps->pid = 0;
		ps->latch = NULL;
	}
	slot = evlog_slot_for(MyDatabaseId, false);
	if (slot && slot->latch)
		SetLatch(slot->latch);
	LWLockRelease(evlog_shared->lock);
}

/*
 * projection_attach
 *		Take slot index of evlog_shared->projslots, claimed for this process
 *		as arg says; false when it is no longer (the database's worker has
 *		ended or given it up).  Takes evlog_shared->lock exclusively.
 */
static bool
projection_attach(int index, ProjectionWorkerArg *arg)
{
	EvlogProjectionSlot *ps;
	bool		ok = false;

	if (index < 0 || index >= evlog_shared->nprojslots)
		return false;
	ps = &evlog_shared->projslots[index];
	LWLockAcquire(evlog_shared->lock, LW_EXCLUSIVE);
	if (ps->dboid == arg->dboid && ps->generation == arg->generation &&
		ps->pid == 0 && strcmp(ps->name, arg->name) == 0)
	{
		ps->pid = MyProcPid;
		ps->latch = MyLatch;
		ok = true;
	}
	LWLockRelease(evlog_shared->lock);
	return ok;
}

/*
 * projection_is_active
 *		Whether projection name is still an active async projection.  Own
 *		transaction.
 */
static bool
projection_is_active(const char *name)
{
	bool		active = false;
	ListCell   *lc;

	registry_stale = false;
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	registry_relid = evlog_relid_if_exists(EVLOG_PROJECTIONS_TABLE);
	foreach(lc, evlog_load_projections(GetActiveSnapshot()))
	{
		EvlogProjection *p = lfirst(lc);

		if (strcmp(p->name, name) == 0)
			active = p->state == 'a' && !p->sync;
	}
	PopActiveSnapshot();
	CommitTransactionCommand();
	return active;
}

/*
 * evlog_projection_worker_main
 *		Entry point of a projection worker; the argument is the index of its
 *		slot, bgw_extra a ProjectionWorkerArg.
 *
 * It folds its projection, batch after batch while events remain, then
 * sleeps on its latch, which every appending commit in the database sets.
 * It looks at the registry after a registry change or a fold that handed
 * nothing, and leaves when the projection is no longer an active async
 * one, or when it slept evlog.projection_worker_idle_timeout unwoken.
 */
void
evlog_projection_worker_main(Datum arg)
{
	ProjectionWorkerArg pwa;
	TimestampTz last_fold = 0;

	memcpy(&pwa, MyBgworkerEntry->bgw_extra, sizeof(pwa));
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(pwa.dboid, InvalidOid, 0);
	pgstat_report_appname("evlog projection worker");
	fold_settings();

	if (!projection_attach(DatumGetInt32(arg), &pwa))
		proc_exit(0);
	before_shmem_exit(projection_detach, arg);
	CacheRegisterRelcacheCallback(registry_invalidated, (Datum) 0);

	for (;;)
	{
		bool		more;
		int			rc;
		long		since_ms;

		/*
		 * Under a stream of commits, let a few accumulate: a woken worker
		 * folds at most every FOLD_INTERVAL_MS, so that each transaction
		 * folds several events rather than one per commit.
		 */
		since_ms = (GetCurrentTimestamp() - last_fold) / 1000;
		if (since_ms >= 0 && since_ms < FOLD_INTERVAL_MS)
			(void) WaitLatch(MyLatch, WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 FOLD_INTERVAL_MS - since_ms, PG_WAIT_EXTENSION);
		last_fold = GetCurrentTimestamp();
		ResetLatch(MyLatch);
		do
		{
			int64		handed;

			CHECK_FOR_INTERRUPTS();
			reload_if_asked();
			more = fold_one(pwa.name, &handed);
			if (handed < 0 ||
				((registry_stale || (handed == 0 && !more)) &&
				 !projection_is_active(pwa.name)))
				proc_exit(0);
		} while (more);

		rc = WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
					   evlog_projection_worker_idle_timeout, PG_WAIT_EXTENSION);
		if ((rc & WL_TIMEOUT) && !(rc & WL_LATCH_SET))
			proc_exit(0);
	}
}
