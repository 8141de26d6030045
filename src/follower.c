/*-------------------------------------------------------------------------
 *
 * follower.c
 *	  A follower's log is written only by its subscription, and only as a
 *	  gapless continuation of its chain (README "Followers and change data
 *	  capture").
 *
 * A database is a follower when its evlog.events is the target of a
 * subscription: pg_subscription_rel holds a row for the log.  Then:
 *
 * - every sequenced append (evlog_append, evlog_append_batch, INSERT or COPY
 *	 into evlog.append_queue) fails with EV007: a local event would take a
 *	 seq the primary gives to another event, fork the chain and stop
 *	 replication;
 * - a row inserted directly into the log (a superuser's INSERT or COPY,
 *	 with session_replication_role = replica or not) fails with EV007 too,
 *	 unless a logical replication worker of this database inserts it;
 * - a row the apply worker inserts must continue the log at once: its seq
 *	 is the one before plus one, its recorded_at does not go back, and its
 *	 digest chains from the one before (chain.c).  The apply worker brings
 *	 the primary's transactions in commit order and each one's rows in
 *	 insertion order, which is seq order, so anything else means that the
 *	 follower's log and the publisher's have forked.  The refusal names the
 *	 replicated seq and the follower's head;
 * - a sync projection is folded by the worker, as an async one is: nothing
 *	 appends locally to fold it (evlog_follower_folds_sync);
 * - the initial copy (a table synchronisation worker) comes in physical
 *	 order: it is admitted in any order and proven whole at commit, as a
 *	 restore is (restore.c); only a seq the follower already holds is
 *	 refused here, with the same message as the apply worker's.
 *
 * Whether the database is a follower is cached per backend, with the OID of
 * the log it was asked for, and forgotten on any invalidation of the
 * pg_subscription_rel syscache (CREATE, ALTER ... REFRESH and DROP
 * SUBSCRIPTION send one), so the append path pays one comparison.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "catalog/pg_subscription.h"
#include "catalog/pg_subscription_rel.h"
#include "replication/logicalworker.h"
#include "replication/worker_internal.h"
#include "storage/proc.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "evlog.h"
#include "chain.h"
#include "event.h"
#include "follower.h"
#include "oidcache.h"

/* What this backend knows of whether its database is a follower */
typedef struct FollowerCache
{
	bool		valid;			/* false after a pg_subscription_rel change */
	Oid			relid;			/* the log it was asked for */
	Oid			subid;			/* its subscription, or InvalidOid */
} FollowerCache;

static FollowerCache cache;

/*
 * The last row this backend's apply worker admitted, in the local
 * transaction lxid: the next replicated row must continue it.
 */
typedef struct ReplicatedRow
{
	LocalTransactionId lxid;
	int64		seq;
	TimestampTz recorded_at;
	uint8		digest[PG_SHA256_DIGEST_LENGTH];
} ReplicatedRow;

static ReplicatedRow last_row;

/*
 * follower_invalidated
 *		Syscache callback on SUBSCRIPTIONRELMAP: a subscription's tables
 *		changed; look again at the next question.
 */
static void
follower_invalidated(Datum arg, int cacheid, uint32 hashvalue)
{
	cache.valid = false;
}

/*
 * follower_subscription
 *		The OID of a subscription of this database whose tables include
 *		relid (the log), or InvalidOid when there is none.  Cached (see the
 *		file's header); a miss reads pg_subscription_rel through its
 *		(srrelid, srsubid) index with AccessShareLock.  Needs a transaction.
 */
static Oid
follower_subscription(Oid relid)
{
	Relation	rel;
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tuple;
	Oid			subid = InvalidOid;

	if (cache.valid && cache.relid == relid)
		return cache.subid;

	rel = table_open(SubscriptionRelRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_subscription_rel_srrelid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(relid));
	scan = systable_beginscan(rel, SubscriptionRelSrrelidSrsubidIndexId, true,
							  NULL, 1, &key);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
		subid = ((Form_pg_subscription_rel) GETSTRUCT(tuple))->srsubid;
	systable_endscan(scan);
	table_close(rel, AccessShareLock);

	cache.relid = relid;
	cache.subid = subid;
	cache.valid = true;
	return subid;
}

/*
 * subscription_name
 *		The name of subscription subid, or "?" when it was dropped meanwhile;
 *		palloc'd.  For error messages.
 */
static const char *
subscription_name(Oid subid)
{
	char	   *name = get_subscription_name(subid, true);

	return name ? name : "?";
}

/*
 * evlog_follower_refuse_append
 *		Raise EV007 when this database is a follower of relid's publisher.
 *		Called by every sequenced append (evlog_append_begin) with the log
 *		it opened, after invalidations were processed.  Takes no locks
 *		beyond follower_subscription's.
 */
void
evlog_follower_refuse_append(Oid relid)
{
	Oid			subid = follower_subscription(relid);

	if (OidIsValid(subid))
		ereport(ERROR,
				(errcode(ERRCODE_EVLOG_FOLLOWER_READ_ONLY),
				 errmsg("cannot append to the log of a follower"),
				 errdetail("This database's evlog.events is the target of subscription \"%s\", which writes the primary's events into it; a local event would fork the chain and stop replication.",
						   subscription_name(subid)),
				 errhint("Append on the primary. A follower becomes a primary again when the subscription is dropped.")));
}

/*
 * refuse_replicated
 *		Raise EV001 for a replicated row that does not continue the
 *		follower's log, naming its seq and the follower's head; reason is a
 *		sentence for DETAIL.
 */
static void
refuse_replicated(Oid subid, int64 seq, int64 head, const char *reason)
{
	ereport(ERROR,
			(errcode(ERRCODE_EVLOG_APPEND_ONLY_VIOLATION),
			 errmsg("replicated event " INT64_FORMAT " does not continue the follower's log, whose head is " INT64_FORMAT,
					seq, head),
			 errdetail("Subscription \"%s\": %s", subscription_name(subid), reason),
			 errhint("The follower's log and the publisher's have forked. To recover, drop the subscription, drop and create the extension again, and subscribe with copy_data = true (README \"Followers and change data capture\").")));
}

/*
 * evlog_follower_check_row
 *		Check a row inserted directly into the log rel when this database is
 *		a follower; head is the log's head before this transaction's first
 *		direct row (restore.c), or the last one proven.
 *
 * Not a follower: nothing to check here.  A backend other than a logical
 * replication worker: EV007.  A table synchronisation worker (the initial
 * copy, in physical order): EV001 when the seq is already in the log, the
 * rest is proven at commit.  The apply worker: EV001 unless the row
 * continues the last one admitted in this transaction, or head (seq plus
 * one, recorded_at not before, digest chained).  Takes no locks beyond
 * follower_subscription's.
 */
void
evlog_follower_check_row(Relation rel, HeapTuple tuple, const EvlogHead *head)
{
	Oid			subid = follower_subscription(RelationGetRelid(rel));
	EvlogEvent	ev;
	int64		prev_seq;
	TimestampTz prev_recorded_at;
	const uint8 *prev_digest;
	uint8		digest[PG_SHA256_DIGEST_LENGTH];

	if (!OidIsValid(subid))
		return;
	if (!IsLogicalWorker())
		ereport(ERROR,
				(errcode(ERRCODE_EVLOG_FOLLOWER_READ_ONLY),
				 errmsg("cannot insert into the log of a follower"),
				 errdetail("This database's evlog.events is the target of subscription \"%s\"; only its apply worker writes to the log.",
						   subscription_name(subid)),
				 errhint("Append on the primary. A follower becomes a primary again when the subscription is dropped.")));

	evlog_event_from_tuple(tuple, RelationGetDescr(rel), &ev);
	if (am_tablesync_worker())
	{
		if (ev.seq <= head->seq)
			refuse_replicated(subid, ev.seq, head->seq,
							  "the initial copy brings a seq the follower already holds.");
		return;
	}

	if (last_row.lxid == MyProc->lxid && last_row.seq > head->seq)
	{
		prev_seq = last_row.seq;
		prev_recorded_at = last_row.recorded_at;
		prev_digest = last_row.digest;
	}
	else
	{
		prev_seq = head->seq;
		prev_recorded_at = head->recorded_at;
		prev_digest = head->digest;
	}

	if (ev.seq != prev_seq + 1)
		refuse_replicated(subid, ev.seq, prev_seq,
						  psprintf("the next seq of the follower's log is " INT64_FORMAT ".",
								   prev_seq + 1));
	if (ev.recorded_at < prev_recorded_at)
		refuse_replicated(subid, ev.seq, prev_seq,
						  psprintf("its recorded_at (%s) is before that of seq " INT64_FORMAT " (%s).",
								   pstrdup(timestamptz_to_str(ev.recorded_at)), prev_seq,
								   pstrdup(timestamptz_to_str(prev_recorded_at))));
	evlog_chain_digest(prev_digest, &ev, digest);
	if (memcmp(digest, ev.digest, PG_SHA256_DIGEST_LENGTH) != 0)
		refuse_replicated(subid, ev.seq, prev_seq,
						  psprintf("its digest does not chain from the digest of seq " INT64_FORMAT " on the follower.",
								   prev_seq));

	last_row.lxid = MyProc->lxid;
	last_row.seq = ev.seq;
	last_row.recorded_at = ev.recorded_at;
	memcpy(last_row.digest, ev.digest, PG_SHA256_DIGEST_LENGTH);
}

/*
 * evlog_follower_folds_sync
 *		Whether this database is a follower, where a sync projection is
 *		folded as an async one: nothing appends there, so no appending
 *		transaction would fold it; the worker does, from the replicated
 *		events.  Needs a transaction; see follower_subscription.
 */
bool
evlog_follower_folds_sync(void)
{
	Oid			relid = evlog_relid_if_exists(EVLOG_EVENTS_TABLE);

	return OidIsValid(relid) && OidIsValid(follower_subscription(relid));
}

/*
 * evlog_follower_init
 *		Register the syscache callback; called once per backend from
 *		_PG_init.
 */
void
evlog_follower_init(void)
{
	CacheRegisterSyscacheCallback(SUBSCRIPTIONRELMAP, follower_invalidated,
								  (Datum) 0);
}
