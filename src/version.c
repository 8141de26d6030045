/*-------------------------------------------------------------------------
 *
 * version.c
 *	  Projection versions (README "Projection versions and snapshots"):
 *	  evlog_register_projection(..., replaces => 'board') registers the next
 *	  version of a projection, and evlog_promote cuts over to it.
 *
 * A new version is an ordinary async projection with the column replaces
 * of evlog.projections naming the projection it will replace.  Being
 * async and registered at checkpoint 0, it is built by the worker (its
 * projection worker) from the start of the log, one batch per transaction
 * (evlog.batch_size events), so memory and WAL stay bounded whatever the
 * log's size and a crash loses at most the batch in progress; meanwhile the
 * projection it replaces serves, sync or async, untouched.
 *
 * evlog_promote waits until the new version is within one batch of the
 * head, then, in the caller's transaction, takes both projections' locks
 * and the sequencer, folds the new version to the head, unregisters the
 * old one and gives the new one its name and mode.  Holding the sequencer
 * to the end of the transaction, it lets no append in between: a sync
 * projection promoted is at the head when the transaction commits, and the
 * caller's view swap commits with it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "storage/latch.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "evlog.h"
#include "locks.h"
#include "oidcache.h"
#include "projection.h"
#include "sequencer.h"
#include "versions.h"

PG_FUNCTION_INFO_V1(evlog_promote);

/* How often evlog_promote looks at the new version's checkpoint */
#define PROMOTE_POLL_MS 10

/*
 * version_register
 *		evlog_register_hook: the argument replaces of
 *		evlog_register_projection (its 10th; NULL or absent: an ordinary
 *		projection).  Before any lock (locked false): a new version is
 *		async (22023), does not replace itself (22023), and replaces a
 *		projection the caller owns (EV005 unknown, 42501).  Holding the
 *		sequencer, its registry row inserted (locked true): the replaced
 *		projection still exists and is no new version itself (EV005: no
 *		chains), and has no other new version (42710); then the row notes
 *		what it replaces.
 */
static void
version_register(FunctionCallInfo fcinfo, const char *name, bool locked)
{
	char	   *replaces;
	EvlogProjection *replaced;
	char	   *other;

	if (PG_NARGS() < 10 || PG_ARGISNULL(9))
		return;
	replaces = text_to_cstring(PG_GETARG_TEXT_PP(9));
	if (!locked)
	{
		if (strcmp(text_to_cstring(PG_GETARG_TEXT_PP(4)), "async") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("a new version of a projection must be async"),
					 errdetail("Projection \"%s\" replaces \"%s\": the worker builds it from the start of the log while \"%s\" serves.",
							   name, replaces, replaces),
					 errhint("evlog_promote('%s') gives it the mode of \"%s\".", name, replaces)));
		if (strcmp(name, replaces) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("projection \"%s\" cannot replace itself", name)));
		(void) evlog_check_projection_owner(replaces);
		return;
	}

	replaced = evlog_read_projection(replaces);
	if (replaced == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_EVLOG_PROJECTION_STATE),
				 errmsg("projection \"%s\" does not exist", replaces),
				 errhint("See evlog.projections for the registered projections.")));
	if (replaced->replaces[0] != '\0')
		ereport(ERROR,
				(errcode(ERRCODE_EVLOG_PROJECTION_STATE),
				 errmsg("projection \"%s\" is itself a new version of \"%s\"", replaces, replaced->replaces),
				 errdetail("Versions do not chain: a projection replaces one that serves."),
				 errhint("Promote \"%s\" first, then register the next version with replaces => '%s'.",
						 replaces, replaced->replaces)));
	other = evlog_version_of(replaces);
	if (other)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("projection \"%s\" already has a new version, \"%s\"", replaces, other),
				 errhint("Promote or unregister \"%s\" first.", other)));
	evlog_set_replaces(name, replaces);
}

/*
 * version_alter
 *		evlog_alter_hook: refuse (EV005) to make a projection sync while it
 *		is the next version of another one, not yet promoted: the worker
 *		builds it in batches while the one it replaces serves, and a sync
 *		fold would hold every append until it reached the head.  p is the
 *		registry row the caller holds FOR UPDATE, mode the new mode (NULL:
 *		unchanged).
 */
static void
version_alter(EvlogProjection *p, const char *mode)
{
	if (mode == NULL || strcmp(mode, "sync") != 0 || p->replaces[0] == '\0')
		return;
	ereport(ERROR,
			(errcode(ERRCODE_EVLOG_PROJECTION_STATE),
			 errmsg("projection \"%s\" cannot be made sync before it is promoted", p->name),
			 errdetail("It is the next version of \"%s\": the worker builds it from the start of the log in batches while \"%s\" serves.",
					   p->replaces, p->replaces),
			 errhint("evlog_promote('%s') gives it the name and mode of \"%s\"; promote it first.",
					 p->name, p->replaces)));
}

/*
 * version_unregister
 *		evlog_unregister_hook: a new version of the projection name that was
 *		unregistered replaces nothing any more (it stays registered, as an
 *		ordinary async projection); name's snapshots go (snapshot.c).  Does
 *		nothing in a database whose evlog is not yet updated from 0.1.0.
 */
static void
version_unregister(const char *name)
{
	/* a database not yet updated from 0.1.0 has neither versions nor snapshots */
	if (get_attnum(evlog_relid(EVLOG_PROJECTIONS_TABLE), "replaces") == InvalidAttrNumber)
		return;
	evlog_forget_replaces(name);
	evlog_snapshot_forget(name);
}

/*
 * evlog_version_init
 *		Install the registry hooks; called once from _PG_init.
 */
void
evlog_version_init(void)
{
	evlog_register_hook = version_register;
	evlog_alter_hook = version_alter;
	evlog_unregister_hook = version_unregister;
}

/*
 * near_head
 *		Wait, up to deadline, until projection name (active, async) is
 *		within one batch (evlog.batch_size) of the head, looking every
 *		PROMOTE_POLL_MS with a new snapshot.  Returns whether it got there;
 *		*checkpoint and *head are the last values seen.  EV005 when it is
 *		unregistered, paused or failed meanwhile.  SPI-connected caller;
 *		takes no lock.
 */
static bool
near_head(const char *name, TimestampTz deadline, int64 *checkpoint, int64 *head)
{
	MemoryContext each = AllocSetContextCreate(CurrentMemoryContext, "evlog_promote wait",
											   ALLOCSET_SMALL_SIZES);
	MemoryContext outer = MemoryContextSwitchTo(each);

	for (;;)
	{
		EvlogProjection *p;

		CHECK_FOR_INTERRUPTS();
		MemoryContextReset(each);
		p = evlog_read_projection(name);
		if (p == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_EVLOG_PROJECTION_STATE),
					 errmsg("projection \"%s\" does not exist", name)));
		if (p->state != 'a')
			ereport(ERROR,
					(errcode(ERRCODE_EVLOG_PROJECTION_STATE),
					 errmsg("projection \"%s\" is %s, not active", name,
							p->state == 'p' ? "paused" : "failed"),
					 errhint("evlog_resume('%s') makes it active again; see last_error in evlog.projection_status.", name)));
		*checkpoint = p->checkpoint;
		*head = evlog_head_spi();
		if (*head - *checkpoint <= evlog_fold_batch_size())
			break;
		if (GetCurrentTimestamp() >= deadline)
			break;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 PROMOTE_POLL_MS, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
	MemoryContextSwitchTo(outer);
	MemoryContextDelete(each);
	return *head - *checkpoint <= evlog_fold_batch_size();
}

/*
 * evlog_promote(name text, timeout interval) RETURNS bigint
 *
 * Cut over from the projection that name replaces to name, in the caller's
 * transaction: wait up to timeout until name is within one batch of the
 * head (else 55P03, and nothing has changed), then lock both (rebuild
 * locks, the old one's in share mode, waiting for a rebuild of it; registry
 * rows; the sequencer; in the order registry changes take them), read both
 * registrations again, fold name to the head, unregister the old projection
 * (its dead letters and snapshots go; its tables stay) and give name the old
 * one's name and mode as read under the locks; name's dead letters and
 * snapshots follow it (projection_rows.c writes the registry's rows).
 * Returns the checkpoint (the head).  Checks ownership of both before any
 * lock.
 * Errors: 22004 null argument; 22023 negative timeout; 0A000 under
 * REPEATABLE READ (the checkpoint would never move); EV005 unknown, not a
 * new version, paused or failed; 42501 not the owner of both; 55P03 not
 * near the head within timeout; a handler's error while folding the tail
 * under on_error = 'stop'.
 */
Datum
evlog_promote(PG_FUNCTION_ARGS)
{
	char	   *name;
	char	   *old;
	Interval   *timeout;
	TimestampTz deadline;
	int64		checkpoint;
	int64		head;
	bool		old_sync;
	bool		active_async;
	EvlogProjection *p;
	EvlogProjection *old_row;

	evlog_arg_not_null(fcinfo, 0, "name");
	evlog_arg_not_null(fcinfo, 1, "timeout");
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	timeout = PG_GETARG_INTERVAL_P(1);
	if (timeout->time < 0 || timeout->day < 0 || timeout->month < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("timeout must not be negative")));
	PreventCommandIfReadOnly("evlog_promote()");
	if (IsolationUsesXactSnapshot())
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("evlog_promote needs READ COMMITTED"),
				 errdetail("It waits for the worker's batches, which a REPEATABLE READ snapshot cannot see.")));

	/* the caller's rights over both, before any lock */
	(void) evlog_check_projection_owner(name);
	p = evlog_read_projection(name);
	if (p == NULL || p->replaces[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_EVLOG_PROJECTION_STATE),
				 errmsg("projection \"%s\" replaces no projection", name),
				 errhint("Register the new version with evlog_register_projection(..., replaces => 'name').")));
	old = pstrdup(p->replaces);
	old_sync = evlog_check_projection_owner(old);

	/* wait, holding nothing */
	deadline = GetCurrentTimestamp() + Min(Max(evlog_interval_us(timeout), 0), USECS_PER_DAY * 365);
	if (timeout->time == 0 && timeout->day == 0 && timeout->month == 0)
		deadline = GetCurrentTimestamp();
	SPI_connect();
	if (!near_head(name, deadline, &checkpoint, &head))
		ereport(ERROR,
				(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
				 errmsg("projection \"%s\" did not reach the head within the timeout", name),
				 errdetail("It has folded up to seq " INT64_FORMAT " of " INT64_FORMAT "; nothing was changed.",
						   checkpoint, head),
				 errhint("Watch evlog.progress, and call evlog_promote again, or with a longer timeout.")));
	SPI_finish();

	/*
	 * Lock as registry changes do: rebuild locks, async rows, sequencer,
	 * sync rows.  The old projection's rebuild lock is taken in share mode,
	 * as appenders take it, so that appends go on folding it until this
	 * transaction holds the sequencer (an exclusive one would make them
	 * pass it over, and readers would see it lag); it waits (visibly, in
	 * pg_locks, and under the deadlock detector) for a rebuild of it in
	 * progress, and a rebuild starting now waits for this transaction.
	 * What the registry said before the locks is read again under them: a
	 * promote or an alter that committed meanwhile has changed it.
	 */
	evlog_rebuild_lock_shared_wait(old);
	evlog_rebuild_lock_exclusive(name);
	SPI_connect();
	p = evlog_lock_projection(name, true, false);
	if (!old_sync)
		(void) evlog_lock_projection(old, true, false);
	evlog_sequencer_lock();
	old_row = evlog_lock_projection(old, true, false);
	if (strcmp(p->replaces, old) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_EVLOG_PROJECTION_STATE),
				 errmsg("projection \"%s\" no longer replaces \"%s\"", name, old),
				 errdetail("A transaction that committed while this one waited for its locks changed the registry."),
				 errhint("See evlog.projections.")));
	old_sync = old_row->sync;
	active_async = p->state == 'a' && !p->sync;
	SPI_finish();
	if (!active_async)
		ereport(ERROR,
				(errcode(ERRCODE_EVLOG_PROJECTION_STATE),
				 errmsg("projection \"%s\" is not an active async projection", name)));

	/* the tail, with appends held off */
	(void) evlog_fold(name, EVLOG_FOLD_CATCH_UP, NULL);
	SPI_connect();
	p = evlog_lock_projection(name, true, false);
	head = evlog_head_spi();
	checkpoint = p->checkpoint;
	if (p->state != 'a' || checkpoint < head)
		ereport(ERROR,
				(errcode(ERRCODE_EVLOG_PROJECTION_STATE),
				 errmsg("projection \"%s\" failed while folding to the head", name),
				 errhint("See last_error in evlog.projection_status; nothing was changed.")));

	/* the cut-over */
	evlog_snapshot_forget(old);
	evlog_take_over(name, old, old_sync);
	evlog_snapshot_rename(name, old);
	SPI_finish();
	evlog_registry_changed();
	PG_RETURN_INT64(checkpoint);
}
