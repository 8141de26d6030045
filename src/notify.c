/*-------------------------------------------------------------------------
 *
 * notify.c
 *	  What a committed append announces: NOTIFY evlog, '<head>' once per
 *	  appending transaction (evlog.notify), group commit's deferred flush
 *	  (commit.c), and waking this database's worker (or the launcher) when
 *	  the transaction commits, so that async projections and a new
 *	  database's worker start without waiting for a naptime.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/table.h"
#include "access/xact.h"
#include "commands/async.h"
#include "miscadmin.h"
#include "utils/guc.h"
#include "utils/inval.h"

#include "evlog.h"
#include "appendcache.h"
#include "commit.h"
#include "head.h"
#include "notify.h"
#include "oidcache.h"
#include "sequencer.h"
#include "shmem.h"

/* evlog.notify: NOTIFY evlog, '<head>' when an appending transaction commits */
static bool evlog_notify = true;

PG_FUNCTION_INFO_V1(evlog_extension_created);

/* Wake this database's worker, or the launcher, when this transaction commits */
static bool wake_worker_at_commit = false;
static bool wake_launcher_at_commit = false;

/*
 * notify_xact_callback
 *		At pre-commit of a transaction that appended, queue
 *		NOTIFY evlog, '<head>' (one per transaction, unless evlog.notify is
 *		off) and let commit.c defer the WAL flush (evlog.group_commit); at
 *		commit wake this database's worker.  Whether the transaction
 *		appended, and its head, are appendcache.c's to know and forget.
 *
 * When a subtransaction has rolled back since the last append, the head is
 * read from the log again, and nothing is sent when none of this
 * transaction's events survived.  A prepared transaction sends no
 * notification (PostgreSQL forbids NOTIFY in one).
 */
static void
notify_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
			if (evlog_xact_appended() && evlog_notify)
			{
				AppendContext ac;
				Oid			relid = evlog_relid_if_exists(EVLOG_EVENTS_TABLE);
				Oid			pkeyid = evlog_relid_if_exists(EVLOG_EVENTS_PKEY);

				/* The extension may have been dropped since the append */
				if (!OidIsValid(relid) || !OidIsValid(pkeyid))
					break;
				memset(&ac, 0, sizeof(ac));
				if (!evlog_cached_head(relid, &ac.head))
				{
					ac.rel = table_open(relid, AccessShareLock);
					ac.pkey = index_open(pkeyid, AccessShareLock);
					evlog_load_head(&ac, false);
					index_close(ac.pkey, NoLock);
					table_close(ac.rel, NoLock);
				}
				if (ac.head.ours)
				{
					char		payload[32];

					snprintf(payload, sizeof(payload), INT64_FORMAT, ac.head.seq);
					Async_Notify("evlog", payload);
				}
			}
			if (evlog_xact_appended())
				evlog_commit_defer_flush();
			break;
		case XACT_EVENT_COMMIT:
			/* the worker has nothing to do for appends without async projections */
			if ((evlog_xact_appended() && (evlog_registry_note() < 0 ||
								   (evlog_registry_note() & EVLOG_HAS_ASYNC))) ||
				wake_worker_at_commit)
				evlog_wake_worker(MyDatabaseId);
			if (wake_launcher_at_commit)
				evlog_wake_launcher(true);
			wake_worker_at_commit = wake_launcher_at_commit = false;
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PREPARE:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PARALLEL_ABORT:
			wake_worker_at_commit = wake_launcher_at_commit = false;
			break;
		default:
			break;
	}
}

/*
 * evlog_notify_init
 *		Register notify_xact_callback and define evlog.notify; called once
 *		per backend from evlog_sequencer_init, between appendcache.c's
 *		callback and restore.c's (callbacks run newest first).
 */
void
evlog_notify_init(void)
{
	RegisterXactCallback(notify_xact_callback, NULL);
	DefineCustomBoolVariable("evlog.notify",
							 "Send NOTIFY evlog, '<head>' when an appending transaction commits.",
							 "PostgreSQL serialises committing notifiers and writes its notification queue; turn this off when nothing LISTENs.",
							 &evlog_notify,
							 true,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);
}

/*
 * evlog_wake_worker_at_commit
 *		Wake this database's worker when the current transaction commits
 *		(rows that entered the log other than through the sequencer).
 */
void
evlog_wake_worker_at_commit(void)
{
	wake_worker_at_commit = true;
}

/*
 * evlog_registry_changed
 *		Wake this database's worker when the transaction commits, so that it
 *		sees a new, resumed or altered projection at once, and invalidate the
 *		registry's relcache entry, which tells every backend to look at the
 *		registry again (oidcache.c).
 */
void
evlog_registry_changed(void)
{
	Oid			relid = evlog_relid_if_exists(EVLOG_PROJECTIONS_TABLE);

	wake_worker_at_commit = true;
	if (OidIsValid(relid))
		CacheInvalidateRelcacheByRelid(relid);
}

/*
 * evlog.extension_created() RETURNS void
 *
 * Called by the install script: when CREATE EXTENSION commits, wake the
 * launcher so that this database gets its worker now.  Takes no locks.
 */
Datum
evlog_extension_created(PG_FUNCTION_ARGS)
{
	wake_launcher_at_commit = true;
	PG_RETURN_VOID();
}
