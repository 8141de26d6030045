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
#include "consumer.h"
#include "contracts.h"
#include "event.h"
#include "follower.h"
#include "objectguard.h"
#include "projection.h"
#include "projworker.h"
#include "seqstate.h"
#include "sequencer.h"
#include "shmem.h"
#include "slots.h"
#include "stats.h"
#include "utility.h"
#include "versions.h"
#include "worker.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/*
 * _PG_init
 *		Initialise every module: each defines its own GUCs, registers its
 *		callbacks and installs its hooks; then the "evlog" prefix is
 *		reserved.
 *
 * Runs once per backend when the library is loaded: at postmaster start
 * with shared_preload_libraries, else at the first call of an evlog
 * function.  Takes no locks; raises nothing.
 */
void
_PG_init(void)
{
	/* the modules' GUCs (each defines its own), callbacks and hooks */
	evlog_event_init();
	evlog_contracts_init();
	evlog_seqstate_init();
	if (process_shared_preload_libraries_in_progress)
		evlog_shmem_gucs();
	evlog_fold_init();
	evlog_launcher_init();
	evlog_worker_init();
	evlog_projworker_init();
	evlog_sequencer_init();
	evlog_commit_init();
	evlog_rebuild_init();
	evlog_objectguard_init();
	evlog_utility_init();
	/* consumer groups */
	evlog_consumer_init();
	/* projection versions, snapshots and progress */
	evlog_version_init();
	evlog_snapshot_init();
	evlog_progress_init();
	/* statistics */
	evlog_stats_init();
	if (process_shared_preload_libraries_in_progress)
		evlog_slots_init();
	/* followers */
	evlog_follower_init();
	if (process_shared_preload_libraries_in_progress)
	{
		evlog_shmem_init();
		evlog_launcher_register();
	}
	MarkGUCPrefixReserved("evlog");
}
