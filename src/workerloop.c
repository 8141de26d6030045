/*-------------------------------------------------------------------------
 *
 * workerloop.c
 *	  What the database's worker (worker.c) and the projection workers
 *	  (projworker.c) share: a batch folded in a transaction of its own, the
 *	  registry read with its invalidations watched, the settings they fold
 *	  under, and configuration reloads (README, "The worker").
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/interrupt.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "evlog.h"
#include "oidcache.h"
#include "projection.h"
#include "workerloop.h"

/* The registry may have changed since this process last read it */
bool		evlog_worker_registry_stale = true;
static Oid	registry_relid = InvalidOid;

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
		evlog_worker_registry_stale = true;
}

/*
 * evlog_worker_watch_registry
 *		Have evlog_worker_registry_stale set whenever the registry is
 *		invalidated.  Called once by each worker after it connects.
 */
void
evlog_worker_watch_registry(void)
{
	CacheRegisterRelcacheCallback(registry_invalidated, (Datum) 0);
}

/*
 * evlog_worker_read_registry
 *		Every projection of the registry (EvlogProjection *, in the current
 *		memory context), read with the active snapshot, and
 *		evlog_worker_registry_stale cleared; *installed (may be NULL) says
 *		whether the extension is installed (NIL when not).  Call in a
 *		transaction with an active snapshot.
 */
List *
evlog_worker_read_registry(bool *installed)
{
	evlog_worker_registry_stale = false;
	registry_relid = evlog_relid_if_exists(EVLOG_PROJECTIONS_TABLE);
	if (installed)
		*installed = OidIsValid(registry_relid);
	if (!OidIsValid(registry_relid))
		return NIL;
	return evlog_load_projections(GetActiveSnapshot());
}

/*
 * evlog_worker_reload_if_asked
 *		Reload the configuration when a SIGHUP asked for it.
 */
void
evlog_worker_reload_if_asked(void)
{
	if (ConfigReloadPending)
	{
		ConfigReloadPending = false;
		ProcessConfigFile(PGC_SIGHUP);
	}
}

/*
 * evlog_worker_fold_settings
 *		Commit fold transactions asynchronously.  A crash then loses at most
 *		the last moments of folding, never an event (a fold's commit record
 *		follows those of the events it read, so it is never durable without
 *		them), and the read models roll back with their checkpoints, which
 *		are folded again.  Synchronous commits would put every fold's WAL
 *		flush in line with the appenders', one per projection worker.
 */
void
evlog_worker_fold_settings(void)
{
	SetConfigOption("synchronous_commit", "off", PGC_SUSET, PGC_S_OVERRIDE);
}

/*
 * evlog_worker_fold_one
 *		Fold one batch of projection name in a transaction of its own.  An
 *		error no subtransaction caught (the handler was dropped, say) marks
 *		the projection failed instead of ending the worker.  Returns whether
 *		events remain; *handed (may be NULL) gets the events handed to the
 *		handler, -1 when the projection was marked failed here.
 */
bool
evlog_worker_fold_one(const char *name, int64 *handed)
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
