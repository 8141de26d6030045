/*-------------------------------------------------------------------------
 *
 * consumer.c
 *	  Consumer groups: durable readers of the log for processes outside
 *	  the database, sharing the work by partitions of streams, with
 *	  offsets kept by the server (README "Consumer groups"; docs/guarantees.md
 *	  C1, C2, C5).  This file
 *	  gives events (evlog_poll) and takes acknowledgements (evlog_ack,
 *	  evlog_leave).
 *
 * Groups and their committed offsets are consumer_group.c's (tables);
 * members, leases and deliveries lease.c's (shared memory); the durable
 * head and the wake-up of waiting polls durable.c's.
 *
 * A poll reads the log here, with a scan of its primary key from the
 * lowest position the member was given up to, through the durable head,
 * with a snapshot of its own taken after the head was read (so it sees
 * every event up to the head: G2).  With nothing to give, it waits on its
 * latch, registered with durable.c with its member's partitions, after
 * giving up its catalog snapshot and, under READ COMMITTED, the xmin its
 * statement's snapshot holds.  A publication of the durable head wakes one
 * waiting poll, the herald, whose scan hands the streams it read on to
 * durable.c, which wakes the polls of their partitions.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relscan.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "access/xlog_internal.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "replication/syncrep.h"
#include "storage/proc.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "evlog.h"
#include "consumer.h"
#include "stats.h"
#include "durable.h"
#include "handler.h"
#include "delivery.h"
#include "lease.h"
#include "oidcache.h"

PG_FUNCTION_INFO_V1(evlog_poll);
PG_FUNCTION_INFO_V1(evlog_ack);
PG_FUNCTION_INFO_V1(evlog_leave);

/*
 * Longest stretch a waiting poll sleeps before it renews its lease and looks
 * for commits nobody published, in ms (at most half the lease)
 */
#define POLL_SLICE_MS 1000

/*
 * inserted_end
 *		Where the WAL inserted so far ends.  GetXLogInsertRecPtr gives where
 *		the next record will start, which, when the last one ended a page,
 *		is past the next page's header: XLogFlush of that fails with "xlog
 *		flush request ... is not satisfied", since no record reaches it
 *		(the header is written with the page's first record).  Such a
 *		position is moved back to the page's start.
 */
static XLogRecPtr
inserted_end(void)
{
	XLogRecPtr	lsn = GetXLogInsertRecPtr();

	if (XLogSegmentOffset(lsn, wal_segment_size) == SizeOfXLogLongPHD)
		lsn -= SizeOfXLogLongPHD;
	else if (lsn % XLOG_BLCKSZ == SizeOfXLogShortPHD)
		lsn -= SizeOfXLogShortPHD;
	return lsn;
}

/*
 * prove_durable
 *		Make every event visible now durable, and publish the head as the
 *		durable head: read the visible head, then flush WAL up to where it
 *		is inserted (every visible commit record is before that point) and
 *		wait for synchronous standbys as this session's synchronous_commit
 *		asks.  Used when nothing published a durable head for the events a
 *		poll sees (after a start, after commits with synchronous_commit off,
 *		or while a group commit is flushing).  Returns the head.
 */
static int64
prove_durable(void)
{
	int64		head = evlog_visible_head();

	if (!RecoveryInProgress())
	{
		XLogRecPtr	lsn = inserted_end();

		XLogFlush(lsn);
		SyncRepWaitForLSN(lsn, false);
	}
	evlog_durable_publish(evlog_events_relid(), head);
	return head;
}

/*
 * group_wants_event
 *		Does group g take an event of this stream and type?
 */
static bool
group_wants_event(const ConsumerGroup *g, text *stream, text *type)
{
	if (g->prefix != NULL &&
		(VARSIZE_ANY_EXHDR(stream) < VARSIZE_ANY_EXHDR(g->prefix) ||
		 memcmp(VARDATA_ANY(stream), VARDATA_ANY(g->prefix), VARSIZE_ANY_EXHDR(g->prefix)) != 0))
		return false;
	if (g->ntypes == 0)
		return true;
	for (int i = 0; i < g->ntypes; i++)
		if (evlog_text_equal(g->types[i], type))
			return true;
	return false;
}

/* Stream hashes a herald's scan hands on at most (more: it wakes every poll) */
#define HERALD_HASHES 256

/* What one scan for a poll found */
typedef struct PollScan
{
	int			n;				/* events put in the result */
	int64	   *seqs;
	int32	   *parts;
	int64		scanned_to;
	uint32	   *hashes;			/* with herald: hashes of the streams read */
	int			nhashes;		/* -1: more than HERALD_HASHES */
	uint32	   *wanted;			/* with herald: those of the events g wants */
	int			nwanted;
} PollScan;

/*
 * remember_hash
 *		Add stream hash h to hashes (*n of them) unless it is there; past
 *		HERALD_HASHES distinct ones, set *n to -1 (and leave it there).
 */
static void
remember_hash(uint32 *hashes, int *n, uint32 h)
{
	if (*n < 0)
		return;
	for (int i = *n - 1; i >= 0; i--)
		if (hashes[i] == h)
			return;
	if (*n == HERALD_HASHES)
		*n = -1;
	else
		hashes[(*n)++] = h;
}

/*
 * scan_log
 *		Read, in seq order, up to max events of g after a->low and at most
 *		upto that belong to the member's partitions (a) and come after what
 *		each partition was given, and put them in result as evlog.delivery
 *		rows of desc (formed once, straight from the scan's slot, since
 *		copying 1000 rows twice cost more than scanning them).
 *		s->scanned_to is upto, or the last event's seq when max were found.
 *		With herald, s->hashes gets the distinct hashes of the streams of
 *		every event read, and s->wanted those of the events g wants (the
 *		same array when g takes every event): durable.c's
 *		evlog_durable_herald wakes the polls of their partitions, in other
 *		groups and in g.  Takes AccessShareLock on the log and its key.
 */
static void
scan_log(const ConsumerGroup *g, const LeaseAssignment *a, int64 upto, int max,
		 Tuplestorestate *result, TupleDesc desc, bool herald, PollScan *s)
{
	Relation	rel = table_open(evlog_events_relid(), AccessShareLock);
	Relation	pkey = index_open(evlog_relid(EVLOG_EVENTS_PKEY), AccessShareLock);
	Snapshot	snapshot = RegisterSnapshot(GetLatestSnapshot());
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	IndexScanDesc scan;
	ScanKeyData keys[2];
	int			cap = Min(max, 1024);
	bool		filtered = g->prefix != NULL || g->ntypes > 0;

	s->n = 0;
	s->seqs = palloc(sizeof(int64) * cap);
	s->parts = palloc(sizeof(int32) * cap);
	s->scanned_to = upto;
	s->hashes = herald ? palloc(sizeof(uint32) * HERALD_HASHES) : NULL;
	s->nhashes = 0;
	s->wanted = (herald && filtered) ? palloc(sizeof(uint32) * HERALD_HASHES) : s->hashes;
	s->nwanted = 0;
	ScanKeyInit(&keys[0], 1, BTGreaterStrategyNumber, F_INT8GT, Int64GetDatum(a->low));
	ScanKeyInit(&keys[1], 1, BTLessEqualStrategyNumber, F_INT8LE, Int64GetDatum(upto));
	scan = index_beginscan(rel, pkey, snapshot, 2, 0);
	index_rescan(scan, keys, 2, NULL, 0);
	while (s->n < max && index_getnext_slot(scan, ForwardScanDirection, slot))
	{
		Datum		values[Natts_events + 1];
		bool		nulls[Natts_events + 1];
		int64		seq;
		uint32		h;
		int			p;

		/* deform only what decides, most events being other members' */
		slot_getsomeattrs(slot, Anum_events_stream);
		seq = DatumGetInt64(slot->tts_values[Anum_events_seq - 1]);
		h = evlog_stream_hash(DatumGetTextPP(slot->tts_values[Anum_events_stream - 1]));
		p = (int) (h % (uint32) g->key.partitions);
		if (herald)
		{
			remember_hash(s->hashes, &s->nhashes, h);
			if (filtered)
			{
				slot_getsomeattrs(slot, Anum_events_type);
				if (group_wants_event(g, DatumGetTextPP(slot->tts_values[Anum_events_stream - 1]),
									  DatumGetTextPP(slot->tts_values[Anum_events_type - 1])))
					remember_hash(s->wanted, &s->nwanted, h);
			}
		}
		if (!a->owned[p] || seq <= a->delivered[p])
			continue;
		slot_getallattrs(slot);
		if (!group_wants_event(g, DatumGetTextPP(slot->tts_values[Anum_events_stream - 1]),
							   DatumGetTextPP(slot->tts_values[Anum_events_type - 1])))
			continue;
		memcpy(values, slot->tts_values, sizeof(Datum) * Natts_events);
		memcpy(nulls, slot->tts_isnull, sizeof(bool) * Natts_events);
		values[Natts_events] = Int32GetDatum(p);
		nulls[Natts_events] = false;
		if (s->n == cap)
		{
			cap = Min((int64) cap * 2, max);
			s->seqs = repalloc(s->seqs, sizeof(int64) * cap);
			s->parts = repalloc(s->parts, sizeof(int32) * cap);
		}
		tuplestore_putvalues(result, desc, values, nulls);
		s->seqs[s->n] = seq;
		s->parts[s->n] = p;
		s->n++;
		if (s->n == max)
			s->scanned_to = seq;
	}
	if (!filtered)
		s->nwanted = s->nhashes;
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	UnregisterSnapshot(snapshot);
	index_close(pkey, NoLock);
	table_close(rel, NoLock);
}

/*
 * keep_only
 *		Leave in result only its rows i (of n, in the order put) with
 *		keep[i]: the rows a poll read but evlog_lease_record did not give
 *		(an assignment changed under the scan, or a concurrent poll of the
 *		same member gave them first).  Rare, so it copies.
 */
static void
keep_only(Tuplestorestate *result, TupleDesc desc, const bool *keep, int n)
{
	TupleTableSlot *slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	MinimalTuple *kept = palloc(sizeof(MinimalTuple) * Max(n, 1));
	int			nkept = 0;

	tuplestore_rescan(result);
	for (int i = 0; i < n && tuplestore_gettupleslot(result, true, false, slot); i++)
		if (keep[i])
			kept[nkept++] = ExecCopySlotMinimalTuple(slot);
	tuplestore_clear(result);
	for (int i = 0; i < nkept; i++)
	{
		ExecStoreMinimalTuple(kept[i], slot, false);
		tuplestore_puttupleslot(result, slot);
	}
	ExecDropSingleTupleTableSlot(slot);
}

/*
 * require_shared_memory
 *		Raise 55000 unless evlog is preloaded (leases live in its shared
 *		memory).
 */
static void
require_shared_memory(void)
{
	if (!evlog_lease_available())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("consumer groups need evlog in shared_preload_libraries"),
				 errhint("Add evlog to shared_preload_libraries and restart the server.")));
}

/*
 * ensure_loaded
 *		Give g a slot in shared memory, with its committed offsets read from
 *		evlog.consumer_offsets, unless it has one.  SPI-connected caller.
 */
static void
ensure_loaded(const ConsumerGroup *g)
{
	Oid			argtypes[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(g->key.group_id)};
	int64	   *committed;

	if (evlog_lease_group_loaded(g->key.relid, g->key.group_id))
		return;
	committed = palloc0(sizeof(int64) * g->key.partitions);
	evlog_consumer_sql("SELECT \"partition\", committed FROM " EVLOG_QUALIFIED(EVLOG_CONSUMER_OFFSETS_TABLE) " WHERE group_id = $1",
			1, argtypes, values);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		int			p = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));

		if (p >= 0 && p < g->key.partitions)
			committed[p] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull));
	}
	evlog_lease_load_group(&g->key, committed);
}

/*
 * hand_on
 *		As the herald, hand on to durable.c what scan s of group g read:
 *		every event in (from, s->scanned_to] when that is durable (the head
 *		the scan was bounded by) and its streams did not overflow s's
 *		hashes; else that it could not read everything.  Raises nothing.
 */
static void
hand_on(const ConsumerGroup *g, int64 from, const PollScan *s, int64 durable)
{
	DurableHandOn read;

	if (s->nhashes < 0 || s->nwanted < 0 || s->scanned_to != durable)
	{
		evlog_durable_herald(NULL);
		return;
	}
	read.from = from;
	read.upto = s->scanned_to;
	read.group_id = g->key.group_id;
	read.hashes = s->hashes;
	read.nhashes = s->nhashes;
	read.wanted = s->wanted;
	read.nwanted = s->nwanted;
	evlog_durable_herald(&read);
}

/*
 * evlog_poll(group_name text, member text, max_count integer = 100,
 *			  timeout interval = '0 seconds') RETURNS SETOF evlog.delivery
 *
 * Join or stay in the group, then give, in seq order, up to max_count
 * events of the member's partitions after what each was given, none above
 * the durable head; with none to give, wait up to timeout for the commit
 * of one.  max_count 0 (re)joins: what the member was given and did not
 * acknowledge (by an earlier process of the same name) is given again.  Errors: 22004 a NULL argument; 22023 a member name outside
 * 1..128 bytes, max_count < 0, a negative timeout; 42704 unknown group;
 * 42501 not a member of the group's owner role, or the owner lost SELECT
 * on the log; 53400 shared memory full; 55000 evlog not preloaded.
 */
Datum
evlog_poll(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *group_name = evlog_consumer_check_name(fcinfo, 0, "group_name");
	char	   *member = evlog_consumer_check_name(fcinfo, 1, "member");
	int			max_count;
	int64		timeout_us;
	TimestampTz deadline;
	ConsumerGroup *g;
	LeaseAssignment *a = palloc(sizeof(LeaseAssignment));
	MemoryContext loopcxt;
	MemoryContext outer = CurrentMemoryContext;
	TimestampTz next_begin = 0;
	long		slice_ms;
	DurableWake woke = DURABLE_TIMED_OUT;	/* how the last wait ended */

	evlog_arg_not_null(fcinfo, 2, "max_count");
	evlog_arg_not_null(fcinfo, 3, "timeout");
	max_count = PG_GETARG_INT32(2);
	timeout_us = evlog_interval_us(PG_GETARG_INTERVAL_P(3));
	if (max_count < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_count must not be negative")));
	if (timeout_us < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("timeout must not be negative")));
	InitMaterializedSRF(fcinfo, 0);
	SPI_connect();
	g = evlog_consumer_group(group_name, true);
	if (pg_class_aclcheck(evlog_events_relid(), g->owner, ACL_SELECT) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for consumer group \"%s\"", group_name),
				 errdetail("Its owner, role \"%s\", may not SELECT from evlog.events.",
						   GetUserNameFromId(g->owner, false))));
	require_shared_memory();
	ensure_loaded(g);
	/* a herald of an earlier poll that failed in a subtransaction */
	evlog_durable_herald(NULL);
	/* a wait longer than a day is a day: the caller polls again */
	deadline = GetCurrentTimestamp() + Min(timeout_us, USECS_PER_DAY);
	slice_ms = Max(Min(POLL_SLICE_MS, g->key.lease_us / 2000), 1);
	loopcxt = AllocSetContextCreate(CurrentMemoryContext, "evlog_poll", ALLOCSET_DEFAULT_SIZES);
	for (;;)
	{
		int64		durable = evlog_durable_head(evlog_events_relid());
		PollScan	s;
		bool	   *keep;
		int			kept;
		TimestampTz now = GetCurrentTimestamp();
		bool		look = false;

		MemoryContextReset(loopcxt);
		MemoryContextSwitchTo(loopcxt);
		if (durable < 0)
			durable = prove_durable();

		/*
		 * Join, rebalance and keep the lease at the first pass and every
		 * slice; a pass woken by a commit scans with what the member had,
		 * which evlog_lease_record checks again.
		 */
		if (now >= next_begin)
		{
			evlog_lease_poll_begin(&g->key, member, max_count == 0, a);
			if (a->fenced || max_count == 0)
				break;
			next_begin = now + slice_ms * 1000;
			look = true;
		}
		if (a->nparts > 0 && a->low < durable)
		{
			scan_log(g, a, durable, max_count, rsinfo->setResult, rsinfo->setDesc,
					 woke == DURABLE_HERALD, &s);
			if (woke == DURABLE_HERALD)
			{
				hand_on(g, a->low, &s, durable);
				woke = DURABLE_TIMED_OUT;
			}
			keep = palloc(sizeof(bool) * Max(s.n, 1));
			kept = evlog_lease_record(&g->key, member, a, s.n, s.seqs, s.parts,
									  keep, s.scanned_to);
			if (kept < s.n)
				keep_only(rsinfo->setResult, rsinfo->setDesc, keep, s.n);
			if (kept > 0)
			{
				evlog_stats_add(EVLOG_STAT_DELIVERIES, kept);
				break;
			}
			if (s.n > 0)
				next_begin = 0; /* an assignment changed under the scan */
			/* everything up to scanned_to was looked at: given */
			a->low = s.scanned_to;
			for (int p = 0; p < g->key.partitions; p++)
				if (a->owned[p])
				{
					a->delivered[p] = Max(a->delivered[p], s.scanned_to);
					a->low = Min(a->low, a->delivered[p]);
				}
		}
		/* a herald that read nothing hands on that it did not */
		if (woke == DURABLE_HERALD)
			evlog_durable_herald(NULL);
		/* woken other than as the herald, and nothing to give */
		if (woke == DURABLE_WOKEN)
			evlog_stats_add(EVLOG_STAT_EMPTY_WAKEUPS, 1);
		woke = DURABLE_TIMED_OUT;
		/* committed events above the durable head: prove them durable */
		if (look && evlog_visible_head() > durable)
		{
			prove_durable();
			next_begin = 0;
			continue;
		}
		if (now >= deadline)
			break;
		/* give up the catalog snapshot and, in READ COMMITTED, the xmin */
		InvalidateCatalogSnapshot();
		if (!IsolationUsesXactSnapshot())
			MyProc->xmin = InvalidTransactionId;
		woke = evlog_durable_wait(evlog_events_relid(), g->key.group_id, durable,
								  Min((deadline - now + 999) / 1000, slice_ms),
								  g->key.partitions, a->owned);
		if (woke == DURABLE_WOKEN || woke == DURABLE_HERALD)
			evlog_stats_add(EVLOG_STAT_POLL_WAKEUPS, 1);
		/* woken with no new durable head: a partition may have come free */
		if (woke != DURABLE_TIMED_OUT &&
			evlog_durable_head(evlog_events_relid()) <= durable)
			next_begin = 0;
	}
	/* a herald that broke off (fenced, rejoined) hands on that it did not */
	evlog_durable_herald(NULL);
	MemoryContextSwitchTo(outer);
	MemoryContextDelete(loopcxt);
	SPI_finish();
	evlog_stats_add(EVLOG_STAT_POLLS, 1);
	return (Datum) 0;
}

/* evlog_ack's statement, planned once per backend */
static SPIPlanPtr ack_plan = NULL;

/*
 * evlog_ack(group_name text, member text, seq bigint) RETURNS bigint
 *
 * Commit, for each partition the member owns, every delivery with seq at
 * most seq: the partitions' offsets move in evlog.consumer_offsets, in the
 * caller's transaction.  Returns the deliveries acknowledged.  Errors:
 * 22004 a NULL argument; 22023 a bad member name, seq < 0 or beyond the
 * head; 42704 unknown group; 42501 not a member of the owner role; EV006 a
 * member without a lease or fenced (nothing is committed); 55000 evlog not
 * preloaded.
 */
Datum
evlog_ack(PG_FUNCTION_ARGS)
{
	char	   *group_name = evlog_consumer_check_name(fcinfo, 0, "group_name");
	char	   *member = evlog_consumer_check_name(fcinfo, 1, "member");
	int64		seq;
	int64		head;
	int64		acked;
	int			nchanged;
	int32	   *parts;
	int64	   *committed;
	ConsumerGroup *g;

	evlog_arg_not_null(fcinfo, 2, "seq");
	seq = PG_GETARG_INT64(2);
	SPI_connect();
	g = evlog_consumer_group(group_name, true);
	require_shared_memory();
	head = evlog_visible_head();
	if (seq < 0 || seq > head)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot acknowledge seq " INT64_FORMAT, seq),
				 errdetail("The head of the log is " INT64_FORMAT "; seq must be between 0 and the head.", head)));
	ensure_loaded(g);
	parts = palloc(sizeof(int32) * g->key.partitions);
	committed = palloc(sizeof(int64) * g->key.partitions);
	acked = evlog_lease_ack(&g->key, member, seq, &nchanged, parts, committed);
	if (nchanged > 0)
	{
		Oid			argtypes[3] = {INT8OID, INT4ARRAYOID, INT8ARRAYOID};
		Datum		values[3];
		Datum	   *pd = palloc(sizeof(Datum) * nchanged);
		Datum	   *cd = palloc(sizeof(Datum) * nchanged);

		for (int i = 0; i < nchanged; i++)
		{
			pd[i] = Int32GetDatum(parts[i]);
			cd[i] = Int64GetDatum(committed[i]);
		}
		values[0] = Int64GetDatum(g->key.group_id);
		values[1] = PointerGetDatum(construct_array(pd, nchanged, INT4OID, 4, true, TYPALIGN_INT));
		values[2] = PointerGetDatum(construct_array(cd, nchanged, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		evlog_consumer_plan(&ack_plan,
							"UPDATE " EVLOG_QUALIFIED(EVLOG_CONSUMER_OFFSETS_TABLE) " o"
							" SET committed = GREATEST(o.committed, $3[pg_catalog.array_position($2, o.\"partition\")]),"
							" updated_at = pg_catalog.now()"
							" WHERE o.group_id = $1 AND o.\"partition\" = ANY ($2)",
							3, argtypes, values);
	}
	evlog_consumer_remember(PENDING_ACK, g->key.group_id, member, seq);
	SPI_finish();
	PG_RETURN_INT64(acked);
}

/*
 * evlog_leave(group_name text, member text) RETURNS void
 *
 * The member leaves: its partitions go to the others at once, and what it
 * was given and did not acknowledge is given again.  Leaving twice is no
 * error.  Errors: 22004, 22023 (member name), 42704, 42501 as evlog_ack;
 * 55000 evlog not preloaded.
 */
Datum
evlog_leave(PG_FUNCTION_ARGS)
{
	char	   *group_name = evlog_consumer_check_name(fcinfo, 0, "group_name");
	char	   *member = evlog_consumer_check_name(fcinfo, 1, "member");
	ConsumerGroup *g;

	SPI_connect();
	g = evlog_consumer_group(group_name, true);
	require_shared_memory();
	evlog_lease_leave(&g->key, member);
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * evlog_consumer_init
 *		Set up consumer groups: lease.c's GUCs and shared memory,
 *		durable.c's durable head, and consumer_group.c's transaction
 *		callbacks.  Called once per backend from _PG_init.
 */
void
evlog_consumer_init(void)
{
	evlog_lease_gucs();
	evlog_lease_init();
	evlog_durable_init();
	evlog_consumer_group_init();
}
