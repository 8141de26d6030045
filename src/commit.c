/*-------------------------------------------------------------------------
 *
 * commit.c
 *	  Group commit for appending transactions (evlog.group_commit).
 *
 * An appending transaction holds the sequencer until PostgreSQL releases
 * its locks, after the commit is visible (sequencer.c).  With
 * synchronous_commit on, RecordTransactionCommit flushes the commit record
 * before that, so the WAL flush sits inside the sequencer's critical
 * section: appenders flush one after the other, and the log commits at
 * most one transaction per flush whatever the number of clients.
 *
 * With evlog.group_commit on, an appending transaction commits
 * asynchronously (its commit record is written but not flushed), becomes
 * visible, releases the sequencer, and only then flushes WAL up to its
 * commit record and waits for synchronous replication as
 * synchronous_commit asks, before the client hears of the commit.  The
 * next appender takes the sequencer while this one flushes, and
 * concurrent flushes are merged by PostgreSQL into one.
 *
 * What is kept: G1 and G2 (the next appender still reads the head after
 * this commit is visible), and every acknowledged append is durable.  What
 * is given up: between visibility and the flush, other sessions can read
 * an event that a crash then loses, together with every later one (WAL is
 * a prefix); its seq is then taken by the next event written after
 * recovery.  A projection folded by the worker cannot get ahead of the log
 * this way (its checkpoint's commit record comes later in WAL and is
 * flushed), but an outside consumer can.  This is PostgreSQL's own
 * trade-off for synchronous_commit = off, narrowed to the time of a flush.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/guc.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "replication/syncrep.h"
#include "utils/resowner.h"

#include "commit.h"

/* evlog.group_commit: flush after releasing the sequencer */
static bool evlog_group_commit = false;

/* called once a deferred commit is durable (set by durable.c), or NULL */
evlog_commit_durable_hook_type evlog_commit_durable_hook = NULL;

/* synchronous_commit of the transaction whose flush is deferred, or -1 */
static int	deferred_sync_commit = -1;

static void commit_release_callback(ResourceReleasePhase phase, bool isCommit,
									bool isTopLevel, void *arg);

/*
 * evlog_commit_defer_flush
 *		Make the current transaction, which appended, commit without
 *		flushing, and flush it once its locks are released.
 *
 * Called at pre-commit of an appending transaction, after everything that
 * can fail.  Does nothing unless evlog.group_commit is on and the
 * transaction would commit synchronously.  Sets PostgreSQL's
 * synchronous_commit variable, which RecordTransactionCommit reads, to off
 * for the rest of the commit; commit_release_callback puts it back.  Takes
 * no locks; raises nothing.
 */
void
evlog_commit_defer_flush(void)
{
	if (!evlog_group_commit || synchronous_commit <= SYNCHRONOUS_COMMIT_OFF ||
		deferred_sync_commit >= 0)
		return;
	deferred_sync_commit = synchronous_commit;
	synchronous_commit = SYNCHRONOUS_COMMIT_OFF;
}

/*
 * commit_release_callback
 *		After the top-level transaction's locks are released: give
 *		synchronous_commit back its value, and at commit flush WAL up to the
 *		commit record and wait for synchronous replication.
 *
 * Runs as a resource release callback, once per resource owner and phase;
 * acts in the first call of RESOURCE_RELEASE_AFTER_LOCKS, when the
 * sequencer and every other heavyweight lock have been released.  At abort
 * it only restores the setting.  XLogFlush raises what it raises (a failed
 * flush is a PANIC); SyncRepWaitForLSN turns a cancel into a WARNING, as
 * it does for any commit.
 */
static void
commit_release_callback(ResourceReleasePhase phase, bool isCommit,
						bool isTopLevel, void *arg)
{
	if (phase != RESOURCE_RELEASE_AFTER_LOCKS || !isTopLevel ||
		deferred_sync_commit < 0)
		return;
	synchronous_commit = deferred_sync_commit;
	deferred_sync_commit = -1;
	if (isCommit && XactLastCommitEnd != InvalidXLogRecPtr)
	{
		XLogFlush(XactLastCommitEnd);
		SyncRepWaitForLSN(XactLastCommitEnd, true);
		if (evlog_commit_durable_hook)
			evlog_commit_durable_hook();	/* consumer groups: durable.c */
	}
}

/*
 * evlog_commit_init
 *		Register the release callback; called once per backend from
 *		_PG_init.
 */
void
evlog_commit_init(void)
{
	RegisterResourceReleaseCallback(commit_release_callback, NULL);
	DefineCustomBoolVariable("evlog.group_commit",
							 "Flush an appending transaction's commit after releasing the sequencer, so that concurrent appenders share WAL flushes.",
							 "The append is still acknowledged only once durable; other sessions may see its events before the flush, and a crash in between loses them.",
							 &evlog_group_commit,
							 false,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);
}
