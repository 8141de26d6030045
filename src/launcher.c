/*-------------------------------------------------------------------------
 *
 * launcher.c
 *	  The evlog launcher: a background worker, registered when the library
 *	  is preloaded, that starts one evlog worker per database.
 *
 * It starts after recovery (so never on a hot standby, and after a
 * promotion), connects to no database, and every evlog.launcher_naptime,
 * or when woken (CREATE EXTENSION evlog commits, a worker leaves), starts a
 * worker for each database that allows connections, is not a template and
 * has none.  A worker that finds no extension says so in its slot and
 * leaves; that database is looked at again only after five minutes or when
 * CREATE EXTENSION evlog wakes the launcher with a rescan.  A database whose
 * worker was evicted (DROP DATABASE and the like, utility.c) gets none until
 * the eviction ends.  While a worker waits for a free background worker
 * slot, the launcher looks every second (slots.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "evlog.h"
#include "shmem.h"
#include "slots.h"
#include "worker.h"

/* evlog.launcher_naptime: seconds between the launcher's looks at databases */
static int	evlog_launcher_naptime = 30;

/* What the launcher remembers of one database */
typedef struct LauncherDb
{
	Oid			dboid;
	BackgroundWorkerHandle *handle; /* NULL: none started */
	TimestampTz next_check;		/* no extension there: look again then */
} LauncherDb;

#define NO_EXTENSION_RECHECK_MS (5 * 60 * 1000)

/*
 * evlog_launcher_register
 *		Register the launcher; called from _PG_init while preloading.
 */
void
evlog_launcher_register(void)
{
	BackgroundWorker bgw;

	memset(&bgw, 0, sizeof(bgw));
	bgw.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	bgw.bgw_start_time = BgWorkerStart_RecoveryFinished;
	bgw.bgw_restart_time = 5;
	strlcpy(bgw.bgw_library_name, "evlog", BGW_MAXLEN);
	strlcpy(bgw.bgw_function_name, "evlog_launcher_main", BGW_MAXLEN);
	strlcpy(bgw.bgw_name, "evlog launcher", BGW_MAXLEN);
	strlcpy(bgw.bgw_type, "evlog launcher", BGW_MAXLEN);
	RegisterBackgroundWorker(&bgw);
}

/*
 * evlog_dynamic_worker
 *		Fill bgw for a dynamic background worker of evlog that connects to a
 *		database after recovery, is never restarted, runs function (of this
 *		library) with main_arg, shows as type, and reports to this process.
 */
void
evlog_dynamic_worker(BackgroundWorker *bgw, const char *function,
					 const char *type, Datum main_arg)
{
	memset(bgw, 0, sizeof(*bgw));
	bgw->bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	bgw->bgw_start_time = BgWorkerStart_RecoveryFinished;
	bgw->bgw_restart_time = BGW_NEVER_RESTART;
	strlcpy(bgw->bgw_library_name, "evlog", BGW_MAXLEN);
	strlcpy(bgw->bgw_function_name, function, BGW_MAXLEN);
	strlcpy(bgw->bgw_type, type, BGW_MAXLEN);
	bgw->bgw_main_arg = main_arg;
	bgw->bgw_notify_pid = MyProcPid;
}

/*
 * start_database_worker
 *		Start the worker of dboid as a dynamic background worker that
 *		reports to this process.  Returns false when no worker slot is free
 *		(max_worker_processes).
 */
static bool
start_database_worker(Oid dboid, void **handle)
{
	BackgroundWorker bgw;

	evlog_dynamic_worker(&bgw, "evlog_worker_main", "evlog worker",
						 ObjectIdGetDatum(dboid));
	snprintf(bgw.bgw_name, BGW_MAXLEN, "evlog worker for database %u", dboid);
	return RegisterDynamicBackgroundWorker(&bgw, (BackgroundWorkerHandle **) handle);
}

/*
 * list_databases
 *		The OIDs of the databases that allow connections and are not
 *		templates.  Reads pg_database in a transaction of its own.
 */
static List *
list_databases(MemoryContext cxt)
{
	List	   *result = NIL;
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tuple;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while ((tuple = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		Form_pg_database db = (Form_pg_database) GETSTRUCT(tuple);
		MemoryContext old;

		if (!db->datallowconn || db->datistemplate)
			continue;
		old = MemoryContextSwitchTo(cxt);
		result = lappend_oid(result, db->oid);
		MemoryContextSwitchTo(old);
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	PopActiveSnapshot();
	CommitTransactionCommand();
	return result;
}

/*
 * launcher_db_entry
 *		The launcher's entry for dboid, created when missing.
 */
static LauncherDb *
launcher_db_entry(List **dbs, Oid dboid)
{
	ListCell   *lc;
	LauncherDb *db;

	foreach(lc, *dbs)
	{
		db = lfirst(lc);
		if (db->dboid == dboid)
			return db;
	}
	db = MemoryContextAllocZero(TopMemoryContext, sizeof(LauncherDb));
	db->dboid = dboid;
	*dbs = lappend(*dbs, db);
	return db;
}

/*
 * start_missing_workers
 *		One pass: start a worker for every database that should have one.
 */
static void
start_missing_workers(List **dbs, MemoryContext cxt)
{
	List	   *oids = list_databases(cxt);
	ListCell   *lc;
	TimestampTz now = GetCurrentTimestamp();
	bool		rescan;

	evlog_slots_prune(oids);
	LWLockAcquire(evlog_shared->lock, LW_EXCLUSIVE);
	rescan = evlog_shared->rescan;
	evlog_shared->rescan = false;
	LWLockRelease(evlog_shared->lock);

	foreach(lc, oids)
	{
		Oid			dboid = lfirst_oid(lc);
		LauncherDb *db = launcher_db_entry(dbs, dboid);
		EvlogWorkerSlot *slot;
		bool		no_extension = false;
		bool		evicted = false;
		pid_t		pid;

		if (db->handle != NULL)
		{
			BgwHandleStatus st = GetBackgroundWorkerPid(db->handle, &pid);

			if (st == BGWH_STARTED || st == BGWH_NOT_YET_STARTED)
				continue;
			pfree(db->handle);
			db->handle = NULL;
		}

		LWLockAcquire(evlog_shared->lock, LW_SHARED);
		slot = evlog_slot_for(dboid, false);
		if (slot)
		{
			no_extension = slot->no_extension;
			evicted = slot->evicted_until > now;
		}
		LWLockRelease(evlog_shared->lock);

		if (evicted)
			continue;
		if (no_extension && !rescan && now < db->next_check)
			continue;
		if (no_extension)
			db->next_check = TimestampTzPlusMilliseconds(now, NO_EXTENSION_RECHECK_MS);
		if (start_database_worker(dboid, (void **) &db->handle))
			evlog_slots_got(dboid, NULL);
		else
			(void) evlog_slots_short(dboid, NULL);	/* logs once, retries */
	}
	MemoryContextReset(cxt);
}

/*
 * evlog_launcher_main
 *		Entry point of the launcher.  SIGHUP reloads the configuration,
 *		SIGTERM ends it.
 */
void
evlog_launcher_main(Datum arg)
{
	List	   *dbs = NIL;
	MemoryContext cxt;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	pgstat_report_appname("evlog launcher");

	LWLockAcquire(evlog_shared->lock, LW_EXCLUSIVE);
	evlog_shared->launcher_latch = MyLatch;
	LWLockRelease(evlog_shared->lock);

	cxt = AllocSetContextCreate(TopMemoryContext, "evlog launcher",
								ALLOCSET_DEFAULT_SIZES);
	for (;;)
	{
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		start_missing_workers(&dbs, cxt);
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 evlog_slots_retry_ms(evlog_launcher_naptime * 1000L),
						 PG_WAIT_EXTENSION);
	}
}

/*
 * evlog_launcher_init
 *		Define the GUCs of this module; called from _PG_init before the
 *		"evlog" prefix is reserved.  Takes no locks.
 */
void
evlog_launcher_init(void)
{
	DefineCustomIntVariable("evlog.launcher_naptime",
							"Time between the evlog launcher's looks for databases that need a worker.",
							"CREATE EXTENSION evlog wakes the launcher at once; this catches new databases.",
							&evlog_launcher_naptime,
							30, 1, 3600,
							PGC_SIGHUP, GUC_UNIT_S,
							NULL, NULL, NULL);
}
