/*-------------------------------------------------------------------------
 *
 * worker.c
 *	  The per-database evlog worker: folds every active async projection
 *	  from its checkpoint, one batch per projection and transaction, and
 *	  sleeps on its latch, which an appending transaction sets at commit
 *	  (evlog.worker_naptime is only the fallback).  Handlers run as their
 *	  projection's owner (fold.c), never as the worker's superuser.
 *
 * It shows in pg_stat_activity as backend_type "evlog worker" and
 * application_name "evlog worker", waiting on wait event "Extension".
 * SIGHUP reloads the configuration; SIGTERM ends it at once (PostgreSQL's
 * die(): the transaction in progress rolls back, checkpoints included).
 * It leaves by itself when the extension is not (or no longer) installed.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "evlog.h"
#include "oidcache.h"
#include "projection.h"
#include "shmem.h"
#include "worker.h"

/*
 * worker_detach
 *		before_shmem_exit callback: free this worker's slot for the next one.
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
}

/*
 * attach
 *		Claim the slot of this database; false when another worker holds it.
 */
static bool
attach(Oid dboid)
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
 *		The names of the active async projections, in cxt; exits the worker
 *		when the extension is not installed.  Own transaction.
 */
static List *
active_async_projections(Oid dboid, MemoryContext cxt)
{
	List	   *names = NIL;
	List	   *all;
	ListCell   *lc;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	if (!OidIsValid(evlog_relid_if_exists("projections")))
	{
		PopActiveSnapshot();
		CommitTransactionCommand();
		leave_without_extension(dboid);
	}
	all = evlog_load_projections(GetActiveSnapshot());
	foreach(lc, all)
	{
		EvlogProjection *p = lfirst(lc);

		if (!p->sync && p->state == 'a')
		{
			MemoryContext old = MemoryContextSwitchTo(cxt);

			names = lappend(names, pstrdup(p->name));
			MemoryContextSwitchTo(old);
		}
	}
	PopActiveSnapshot();
	CommitTransactionCommand();
	return names;
}

/*
 * fold_one
 *		Fold one batch of projection name in a transaction of its own.  An
 *		error no subtransaction caught (the handler was dropped, say) marks
 *		the projection failed instead of ending the worker.  Returns whether
 *		events remain.
 */
static bool
fold_one(const char *name)
{
	bool		more = false;
	MemoryContext cxt = CurrentMemoryContext;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, name);
	PG_TRY();
	{
		(void) evlog_fold(name, EVLOG_FOLD_WORKER, &more);
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
	}
	PG_END_TRY();
	pgstat_report_activity(STATE_IDLE, NULL);
	return more;
}

/*
 * evlog_worker_main
 *		Entry point of a database's worker; the database OID is the argument.
 */
void
evlog_worker_main(Datum arg)
{
	Oid			dboid = DatumGetObjectId(arg);
	MemoryContext cxt;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(dboid, InvalidOid, 0);
	pgstat_report_appname("evlog worker");

	if (!attach(dboid))
		proc_exit(0);
	before_shmem_exit(worker_detach, arg);

	cxt = AllocSetContextCreate(TopMemoryContext, "evlog worker",
								ALLOCSET_DEFAULT_SIZES);
	for (;;)
	{
		bool		more = true;

		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}

		/* fold until every projection has caught up */
		while (more)
		{
			List	   *names;
			ListCell   *lc;

			more = false;
			names = active_async_projections(dboid, cxt);
			foreach(lc, names)
			{
				CHECK_FOR_INTERRUPTS();
				more |= fold_one(lfirst(lc));
			}
			MemoryContextReset(cxt);
		}

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 evlog_worker_naptime, PG_WAIT_EXTENSION);
	}
}
