/*-------------------------------------------------------------------------
 *
 * subxact.c
 *	  Running a piece of work in an internal subtransaction that is rolled
 *	  back, with its error kept, when the work fails.
 *
 * Folds isolate a failing handler this way (fold.c), bulk appends try the
 * fast way first and fall back to the careful one (bulk.c), and
 * evlog_verify refolds a projection and rolls the refold back (rebuild.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "utils/memutils.h"
#include "utils/resowner.h"

#include "subxact.h"

/* A query cancel raised by the work's own timeout, not by the session */
bool		evlog_timeout_is_work_error = false;

/*
 * evlog_try_in_subxact
 *		Run work(arg) in an internal subtransaction.  Returns NULL when it
 *		succeeded (the subtransaction is released into the caller's when
 *		keep is true, rolled back when it is false: work whose effects are
 *		only looked at), else the error it raised, copied into the caller's
 *		memory context, the subtransaction rolled back.  The caller's memory
 *		context and resource owner are current again either way.  A query
 *		cancel is the session's, not the work's: it propagates, unless
 *		evlog_timeout_is_work_error says the work's own timeout raised it.
 */
ErrorData *
evlog_try_in_subxact(EvlogSubxactWork work, void *arg, bool keep)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	ErrorData  *edata = NULL;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcxt);
	PG_TRY();
	{
		work(arg);
		if (keep)
			ReleaseCurrentSubTransaction();
		else
			RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
	}
	PG_CATCH();
	{
		if (geterrcode() == ERRCODE_QUERY_CANCELED && !evlog_timeout_is_work_error)
			PG_RE_THROW();
		evlog_timeout_is_work_error = false;
		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
	}
	PG_END_TRY();
	return edata;
}
