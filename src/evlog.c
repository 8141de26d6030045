/*-------------------------------------------------------------------------
 *
 * evlog.c
 *	  Module entry point: GUCs, and initialisation of every subsystem.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/guc.h"
#include "utils/memutils.h"

#include "evlog.h"
#include "guard.h"
#include "sequencer.h"

PG_MODULE_MAGIC;

/* evlog.max_payload_bytes: the largest payload evlog_append accepts */
int			evlog_max_payload_bytes = 1024 * 1024;

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
	MarkGUCPrefixReserved("evlog");

	evlog_sequencer_init();
	evlog_guard_init();
}
