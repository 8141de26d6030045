/*-------------------------------------------------------------------------
 *
 * locks.c
 *	  Every heavyweight lock class of evlog: the sequencer of a database, and
 *	  the rebuild lock of each projection.  Both are advisory lock tags whose
 *	  field 4 (the class) the pg_advisory_* functions cannot set, so no user
 *	  lock collides with them (README, "How it works").
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "storage/lock.h"

#include "evlog.h"
#include "locks.h"

/* Lock tag field that tells the sequencer from user advisory locks (1, 2) */
#define EVLOG_SEQUENCER_LOCK_CLASS 0x6576	/* "ev" */

/* Lock tag field 4 of the rebuild locks */
#define EVLOG_REBUILD_LOCK_CLASS 0x6577

/*
 * evlog_sequencer_lock
 *		Take the sequencer of this database for the rest of the transaction.
 *
 * An ExclusiveLock on an advisory lock tag that the pg_advisory_* functions
 * cannot name (field 4 is EVLOG_SEQUENCER_LOCK_CLASS).  Appearing in
 * pg_locks as locktype "advisory" with objsubid 25974.  Waits as a
 * heavyweight lock waits: cancellable, with deadlock detection and
 * lock_timeout.  Taken again by the same transaction it is a no-op.
 */
void
evlog_sequencer_lock(void)
{
	LOCKTAG		tag;

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, 0, 0, EVLOG_SEQUENCER_LOCK_CLASS);
	(void) LockAcquire(&tag, ExclusiveLock, false, false);
}

/*
 * evlog_sequencer_try_lock
 *		Take the sequencer as evlog_sequencer_lock does, but only if it is
 *		free now: returns false, holding nothing, when another transaction
 *		has it.  The append path tries first so that it reads the clock only
 *		when it really waits (evlog.stats' sequencer_wait_ms, README
 *		"Statistics and monitoring").  Never waits; raises nothing.
 */
bool
evlog_sequencer_try_lock(void)
{
	LOCKTAG		tag;

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, 0, 0, EVLOG_SEQUENCER_LOCK_CLASS);
	return LockAcquire(&tag, ExclusiveLock, false, true) != LOCKACQUIRE_NOT_AVAIL;
}

/*
 * evlog_sequencer_held
 *		Does this transaction hold the sequencer?  Takes no locks.
 */
bool
evlog_sequencer_held(void)
{
	LOCKTAG		tag;

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, 0, 0, EVLOG_SEQUENCER_LOCK_CLASS);
	return LockHeldByMe(&tag, ExclusiveLock);
}


/*
 * evlog_rebuild_locktag
 *		The lock tag of projection name's rebuild lock: an advisory tag with
 *		a 64-bit hash of the name, which the pg_advisory_* functions cannot
 *		name.
 */
void
evlog_rebuild_locktag(LOCKTAG *tag, const char *name)
{
	uint64		h = hash_bytes_extended((const unsigned char *) name, strlen(name), 0);

	SET_LOCKTAG_ADVISORY(*tag, MyDatabaseId, (uint32) (h >> 32), (uint32) h,
						 EVLOG_REBUILD_LOCK_CLASS);
}


/*
 * evlog_rebuild_lock_shared
 *		Try to take projection name's rebuild lock in share mode until the
 *		end of the transaction, without waiting.  False when a rebuild holds
 *		or awaits it.  Called by appenders, which hold the sequencer.
 */
bool
evlog_rebuild_lock_shared(const char *name)
{
	LOCKTAG		tag;

	evlog_rebuild_locktag(&tag, name);
	return LockAcquire(&tag, ShareLock, false, true) != LOCKACQUIRE_NOT_AVAIL;
}


/*
 * evlog_rebuild_lock_shared_wait
 *		Take projection name's rebuild lock in share mode until the end of
 *		the transaction, waiting (as a lock wait the deadlock detector and
 *		pg_locks see) for a rebuild that holds or awaits it.  Called by
 *		evlog_promote for the projection it replaces, holding no evlog lock.
 */
void
evlog_rebuild_lock_shared_wait(const char *name)
{
	LOCKTAG		tag;

	evlog_rebuild_locktag(&tag, name);
	(void) LockAcquire(&tag, ShareLock, false, false);
}


/*
 * evlog_rebuild_lock_exclusive
 *		Take projection name's rebuild lock exclusively until the end of the
 *		transaction, waiting for a rebuild in progress and for appenders
 *		folding it.  Registry changes take it before the sequencer, which
 *		keeps them out of a lock cycle with a rebuild.
 */
void
evlog_rebuild_lock_exclusive(const char *name)
{
	LOCKTAG		tag;

	evlog_rebuild_locktag(&tag, name);
	(void) LockAcquire(&tag, ExclusiveLock, false, false);
}

