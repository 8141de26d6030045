/*-------------------------------------------------------------------------
 *
 * projworker.c
 *	  Projection workers: a dynamic background worker per active async
 *	  projection, which folds that projection alone (README, "The worker").
 *
 * The database's worker (worker.c) starts one for each active async
 * projection that has events to fold, up to evlog.max_projection_workers,
 * and claims its slot in shared memory first.  A projection worker folds
 * one batch per transaction while events remain, then sleeps on its latch,
 * which every appending commit in the database sets, so a slow or hung
 * handler holds up nothing but its own projection.  It leaves when its
 * projection is paused, failed, unregistered or made sync, when no commit
 * woke it for evlog.projection_worker_idle_timeout, and with the
 * database's worker.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "evlog.h"
#include "projection.h"
#include "projworker.h"
#include "shmem.h"
#include "workerloop.h"

/*
 * evlog.projection_worker_idle_timeout: a projection worker no commit woke
 * for this long leaves, in milliseconds
 */
static int	evlog_projection_worker_idle_timeout = 60000;

/* Shortest time between two wake-ups' folds of a projection worker */
#define FOLD_INTERVAL_MS 2

/*
 * evlog_projworker_init
 *		Define evlog.projection_worker_idle_timeout while preloading.  Called
 *		from _PG_init before the "evlog" prefix is reserved; takes no locks.
 */
void
evlog_projworker_init(void)
{
	if (process_shared_preload_libraries_in_progress)
		DefineCustomIntVariable("evlog.projection_worker_idle_timeout",
								"A projection worker that no commit woke for this long leaves, giving its background worker slot back.",
								"The database's worker starts another when events arrive.",
								&evlog_projection_worker_idle_timeout,
								60000, 100, 24 * 3600 * 1000,
								PGC_SIGHUP, GUC_UNIT_MS,
								NULL, NULL, NULL);
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

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	foreach(lc, evlog_worker_read_registry(NULL))
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
	evlog_worker_fold_settings();

	if (!projection_attach(DatumGetInt32(arg), &pwa))
		proc_exit(0);
	before_shmem_exit(projection_detach, arg);
	evlog_worker_watch_registry();

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
			evlog_worker_reload_if_asked();
			more = evlog_worker_fold_one(pwa.name, &handed);
			if (handed < 0 ||
				((evlog_worker_registry_stale || (handed == 0 && !more)) &&
				 !projection_is_active(pwa.name)))
				proc_exit(0);
		} while (more);

		rc = WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
					   evlog_projection_worker_idle_timeout, PG_WAIT_EXTENSION);
		if ((rc & WL_TIMEOUT) && !(rc & WL_LATCH_SET))
			proc_exit(0);
	}
}
