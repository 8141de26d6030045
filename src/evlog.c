/*-------------------------------------------------------------------------
 *
 * evlog.c
 *	  Module entry point: GUCs, and initialisation of every subsystem.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/guc.h"
#include "utils/memutils.h"

#include "evlog.h"
#include "commit.h"
#include "contracts.h"
#include "event.h"
#include "guard.h"
#include "projection.h"
#include "seqstate.h"
#include "sequencer.h"
#include "shmem.h"
#include "slots.h"
#include "stats.h"
#include "versions.h"
#include "worker.h"

PG_MODULE_MAGIC;

/* evlog.max_payload_bytes: the largest payload evlog_append accepts */
int			evlog_max_payload_bytes = 1024 * 1024;

/* evlog.notify: NOTIFY evlog, '<head>' when an appending transaction commits */
bool		evlog_notify = true;

/* evlog.allow_drop: let DROP EXTENSION evlog drop a log that holds events */
bool		evlog_allow_drop = false;

/* evlog.batch_size: events a worker or evlog_catch_up reads per batch */
int			evlog_batch_size = 1000;

/* evlog.progress_events: a rebuild reports progress every this many events */
int			evlog_progress_events = 100000;

/* evlog.worker_naptime: fallback nap of a worker, in milliseconds */
int			evlog_worker_naptime = 10000;

/* evlog.launcher_naptime: seconds between the launcher's looks at databases */
int			evlog_launcher_naptime = 30;

void		_PG_init(void);

/*
 * _PG_init
 *		Define evlog's GUCs, register the sequencer's transaction callback
 *		and install the utility hook of the guard.
 *
 * Runs once per backend when the library is loaded: at postmaster start
 * with shared_preload_libraries, else at the first call of an evlog
 * function.  Takes no locks; raises nothing.
 */
void
_PG_init(void)
{
	DefineCustomIntVariable("evlog.max_payload_bytes",
							"Largest payload, in bytes, that evlog_append accepts.",
							"A larger payload fails with EV004.",
							&evlog_max_payload_bytes,
							1024 * 1024, 1, MaxAllocSize / 2,
							PGC_SUSET, GUC_UNIT_BYTE,
							NULL, NULL, NULL);
	DefineCustomBoolVariable("evlog.notify",
							 "Send NOTIFY evlog, '<head>' when an appending transaction commits.",
							 "PostgreSQL serialises committing notifiers and writes its notification queue; turn this off when nothing LISTENs.",
							 &evlog_notify,
							 true,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);
	DefineCustomBoolVariable("evlog.group_commit",
							 "Flush an appending transaction's commit after releasing the sequencer, so that concurrent appenders share WAL flushes.",
							 "The append is still acknowledged only once durable; other sessions may see its events before the flush, and a crash in between loses them.",
							 &evlog_group_commit,
							 false,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);
	DefineCustomBoolVariable("evlog.allow_drop",
							 "Let DROP EXTENSION evlog drop a log that holds events.",
							 "Set it with SET LOCAL in the dropping transaction; losing the log must be deliberate.",
							 &evlog_allow_drop,
							 false,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);
	DefineCustomIntVariable("evlog.batch_size",
							"Events an evlog worker or evlog_catch_up folds per batch (and, for the worker, per transaction).",
							NULL,
							&evlog_batch_size,
							1000, 1, 1000000,
							PGC_SIGHUP, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("evlog.progress_events",
							"evlog_rebuild sends a NOTICE with its progress every this many events.",
							NULL,
							&evlog_progress_events,
							100000, 1, INT_MAX,
							PGC_USERSET, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("evlog.worker_naptime",
							"Longest time an evlog worker sleeps when no append wakes it.",
							"Appends wake the worker at commit; this is only the fallback.",
							&evlog_worker_naptime,
							10000, 10, 3600 * 1000,
							PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);
	DefineCustomIntVariable("evlog.launcher_naptime",
							"Time between the evlog launcher's looks for databases that need a worker.",
							"CREATE EXTENSION evlog wakes the launcher at once; this catches new databases.",
							&evlog_launcher_naptime,
							30, 1, 3600,
							PGC_SIGHUP, GUC_UNIT_S,
							NULL, NULL, NULL);
	DefineCustomBoolVariable("evlog.strict_types",
							 "Refuse to append an event type and version that is not defined.",
							 "Appends of an undefined (type, type_version) fail with EV004.",
							 &evlog_strict_types,
							 false,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);
	/* sizes shared memory: only defined when preloading */
	if (process_shared_preload_libraries_in_progress)
		DefineCustomIntVariable("evlog.shared_streams",
								"Stream versions per database the sequencer keeps in shared memory.",
								"Appends to a stream whose version is kept skip an index probe; 0 keeps only the head.",
								&evlog_shared_streams,
								4096, 0, 1024 * 1024,
								PGC_POSTMASTER, 0,
								NULL, NULL, NULL);
	/* the projection workers' settings: only when preloading (worker.c) */
	if (process_shared_preload_libraries_in_progress)
		evlog_worker_gucs();
	evlog_event_init();
	MarkGUCPrefixReserved("evlog");

	evlog_sequencer_init();
	evlog_commit_init();
	evlog_rebuild_init();
	evlog_guard_init();
	/* consumer groups */
	/* projection versions, snapshots and progress */
	evlog_version_init();
	evlog_snapshot_init();
	evlog_progress_init();
	/* statistics */
	evlog_stats_init();
	if (process_shared_preload_libraries_in_progress)
		evlog_slots_init();
	/* followers */
	if (process_shared_preload_libraries_in_progress)
	{
		evlog_shmem_init();
		evlog_launcher_register();
	}
}
