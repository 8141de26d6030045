/*-------------------------------------------------------------------------
 *
 * consumer.c
 *	  Consumer groups: durable readers of the log for processes outside
 *	  the database, sharing the work by partitions of streams, with
 *	  offsets kept by the server (README "Consumer groups").
 *
 * A group is a row of evlog.consumer_group_registry; its committed offsets
 * are rows of evlog.consumer_offsets, one per partition, moved by
 * evlog_ack's transaction.  Both are written as their owner (the
 * extension's owner) through evlog_exec_own_sql, after this file has
 * checked the caller's rights, and both are dumped by pg_dump.  Members,
 * leases and deliveries are lease.c's, in shared memory.
 *
 * A poll reads the log here, with a scan of its primary key from the
 * lowest position the member was given up to, through the durable head,
 * with a snapshot of its own taken after the head was read (so it sees
 * every event up to the head: G2).  With nothing to give, it waits on
 * lease.c's condition variable, which the durable head's publication
 * broadcasts, after giving up its catalog snapshot and, under READ
 * COMMITTED, the xmin its statement's snapshot holds.
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
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
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

#include "evlog.h"
#include "consumer.h"
#include "handler.h"
#include "lease.h"
#include "oidcache.h"

PG_FUNCTION_INFO_V1(evlog_create_consumer_group);
PG_FUNCTION_INFO_V1(evlog_drop_consumer_group);
PG_FUNCTION_INFO_V1(evlog_poll);
PG_FUNCTION_INFO_V1(evlog_ack);
PG_FUNCTION_INFO_V1(evlog_leave);
PG_FUNCTION_INFO_V1(evlog_seek);
PG_FUNCTION_INFO_V1(evlog_partition);
PG_FUNCTION_INFO_V1(evlog_consumer_member_rows);

/*
 * Longest stretch a waiting poll sleeps before it renews its lease and looks
 * for commits nobody published, in ms (at most half the lease)
 */
#define POLL_SLICE_MS 1000

/* A group, as its registry row says */
typedef struct ConsumerGroup
{
	LeaseGroupKey key;
	Oid			owner;
	int			ntypes;			/* 0: every type */
	text	  **types;
	text	   *prefix;			/* NULL: every stream */
} ConsumerGroup;

/* What to apply to shared memory when the transaction commits */
typedef enum PendingKind
{
	PENDING_ACK,
	PENDING_SEEK,
	PENDING_DROP
} PendingKind;

typedef struct PendingChange
{
	PendingKind kind;
	Oid			relid;			/* evlog.consumer_group_registry */
	int64		group_id;
	int64		seq;			/* ack: up to; seek: after */
	char	   *member;			/* ack */
	int			nest_level;
} PendingChange;

static List *pending_changes = NIL;

/*
 * check_name
 *		Raise 22004 when argument argno is NULL, 22023 unless it is 1..128
 *		bytes; return it as a C string.
 */
static char *
check_name(FunctionCallInfo fcinfo, int argno, const char *what)
{
	char	   *s;

	evlog_arg_not_null(fcinfo, argno, what);
	s = text_to_cstring(PG_GETARG_TEXT_PP(argno));
	if (strlen(s) < 1 || strlen(s) > EVLOG_CONSUMER_NAME_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be 1 to %d bytes long", what, EVLOG_CONSUMER_NAME_BYTES)));
	return s;
}

/*
 * registry_owner
 *		The owner of evlog.consumer_group_registry (the extension's owner).
 */
static Oid
registry_owner(void)
{
	Oid			relid = evlog_relid("consumer_group_registry");
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Oid			owner;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	return owner;
}

/*
 * own_sql
 *		Run evlog's own sql as the owner of evlog.consumer_group_registry.
 *		SPI-connected caller.  Returns SPI's result code.
 */
static int
own_sql(const char *sql, int nargs, Oid *argtypes, Datum *values)
{
	return evlog_exec_own_sql(sql, nargs, argtypes, values, NULL, 0, registry_owner());
}

/*
 * interval_us
 *		An interval as microseconds (a day is 24 hours, a month 30 days).
 */
static int64
interval_us(Interval *iv)
{
	return iv->time + ((int64) iv->month * DAYS_PER_MONTH + iv->day) * USECS_PER_DAY;
}

/*
 * load_group
 *		Read group name's registry row; raise 42704 when there is none, and
 *		with check_owner 42501 unless the current user is a member of the
 *		group's owner role.  SPI-connected caller; the result is allocated
 *		in the caller's context.
 */
static ConsumerGroup *
load_group(const char *name, bool check_owner)
{
	MemoryContext cxt = CurrentMemoryContext;
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(name)};
	ConsumerGroup *g;
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;
	Datum		d;

	own_sql("SELECT group_id, owner::oid, event_types, stream_prefix, partitions, lease"
			" FROM evlog.consumer_group_registry WHERE group_name = $1",
			1, argtypes, values);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("consumer group \"%s\" does not exist", name)));
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	MemoryContextSwitchTo(cxt);
	g = palloc0(sizeof(ConsumerGroup));
	g->key.name = pstrdup(name);
	g->key.relid = evlog_relid("consumer_group_registry");
	g->key.group_id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
	g->owner = DatumGetObjectId(SPI_getbinval(tup, desc, 2, &isnull));
	d = SPI_getbinval(tup, desc, 3, &isnull);
	if (!isnull)
	{
		Datum	   *elems;
		bool	   *nulls;

		deconstruct_array(DatumGetArrayTypePCopy(d), TEXTOID, -1, false,
						  TYPALIGN_INT, &elems, &nulls, &g->ntypes);
		g->types = palloc(sizeof(text *) * Max(g->ntypes, 1));
		for (int i = 0; i < g->ntypes; i++)
			g->types[i] = DatumGetTextPP(elems[i]);
	}
	d = SPI_getbinval(tup, desc, 4, &isnull);
	g->prefix = isnull ? NULL : DatumGetTextPCopy(d);
	g->key.partitions = DatumGetInt32(SPI_getbinval(tup, desc, 5, &isnull));
	g->key.lease_us = interval_us(DatumGetIntervalP(SPI_getbinval(tup, desc, 6, &isnull)));
	if (check_owner && !is_member_of_role(GetUserId(), g->owner))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for consumer group \"%s\"", name),
				 errdetail("Only members of role \"%s\", the group's owner, may use it.",
						   GetUserNameFromId(g->owner, false))));
	return g;
}

/*
 * visible_head
 *		The highest seq the latest snapshot sees (0: an empty log), read
 *		with a backward scan of the primary key.  Takes AccessShareLock on
 *		the log and its key; checks no privilege (callers did).
 */
static int64
visible_head(void)
{
	Relation	rel = table_open(evlog_events_relid(), AccessShareLock);
	Relation	pkey = index_open(evlog_relid(EVLOG_EVENTS_PKEY), AccessShareLock);
	Snapshot	snapshot = RegisterSnapshot(GetLatestSnapshot());
	IndexScanDesc scan;
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	int64		head = 0;

	scan = index_beginscan(rel, pkey, snapshot, 0, 0);
	index_rescan(scan, NULL, 0, NULL, 0);
	if (index_getnext_slot(scan, BackwardScanDirection, slot))
	{
		bool		isnull;

		head = DatumGetInt64(slot_getattr(slot, Anum_events_seq, &isnull));
	}
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	UnregisterSnapshot(snapshot);
	index_close(pkey, AccessShareLock);
	table_close(rel, AccessShareLock);
	return head;
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
	int64		head = visible_head();

	if (!RecoveryInProgress())
	{
		XLogRecPtr	lsn = GetXLogInsertRecPtr();

		XLogFlush(lsn);
		SyncRepWaitForLSN(lsn, false);
	}
	evlog_lease_publish_durable(evlog_events_relid(), head);
	return head;
}

/*
 * partition_of
 *		The partition of a stream: PostgreSQL's hash_bytes of its bytes,
 *		modulo partitions.  README "Consumer groups".
 */
static int
partition_of(text *stream, int partitions)
{
	uint32		h = hash_bytes((unsigned char *) VARDATA_ANY(stream),
							   VARSIZE_ANY_EXHDR(stream));

	return (int) (h % (uint32) partitions);
}

/*
 * text_eq
 *		Are two texts byte for byte equal?
 */
static bool
text_eq(text *a, text *b)
{
	return VARSIZE_ANY_EXHDR(a) == VARSIZE_ANY_EXHDR(b) &&
		memcmp(VARDATA_ANY(a), VARDATA_ANY(b), VARSIZE_ANY_EXHDR(a)) == 0;
}

/*
 * wants
 *		Does group g take an event of this stream and type?
 */
static bool
wants(const ConsumerGroup *g, text *stream, text *type)
{
	if (g->prefix != NULL &&
		(VARSIZE_ANY_EXHDR(stream) < VARSIZE_ANY_EXHDR(g->prefix) ||
		 memcmp(VARDATA_ANY(stream), VARDATA_ANY(g->prefix), VARSIZE_ANY_EXHDR(g->prefix)) != 0))
		return false;
	if (g->ntypes == 0)
		return true;
	for (int i = 0; i < g->ntypes; i++)
		if (text_eq(g->types[i], type))
			return true;
	return false;
}

/* What one scan for a poll found */
typedef struct PollScan
{
	int			n;
	HeapTuple  *rows;			/* evlog.delivery tuples */
	int64	   *seqs;
	int32	   *parts;
	int64		scanned_to;
} PollScan;

/*
 * scan_log
 *		Read, in seq order, up to max events of g after a->low and at most
 *		upto that belong to the member's partitions (a) and come after what
 *		each partition was given, as evlog.delivery tuples of desc.
 *		s->scanned_to is upto, or the last event's seq when max were found.
 *		Takes AccessShareLock on the log and its key.
 */
static void
scan_log(const ConsumerGroup *g, const LeaseAssignment *a, int64 upto, int max,
		 TupleDesc desc, PollScan *s)
{
	Relation	rel = table_open(evlog_events_relid(), AccessShareLock);
	Relation	pkey = index_open(evlog_relid(EVLOG_EVENTS_PKEY), AccessShareLock);
	Snapshot	snapshot = RegisterSnapshot(GetLatestSnapshot());
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	IndexScanDesc scan;
	ScanKeyData keys[2];

	s->n = 0;
	s->rows = palloc(sizeof(HeapTuple) * max);
	s->seqs = palloc(sizeof(int64) * max);
	s->parts = palloc(sizeof(int32) * max);
	s->scanned_to = upto;
	ScanKeyInit(&keys[0], 1, BTGreaterStrategyNumber, F_INT8GT, Int64GetDatum(a->low));
	ScanKeyInit(&keys[1], 1, BTLessEqualStrategyNumber, F_INT8LE, Int64GetDatum(upto));
	scan = index_beginscan(rel, pkey, snapshot, 2, 0);
	index_rescan(scan, keys, 2, NULL, 0);
	while (s->n < max && index_getnext_slot(scan, ForwardScanDirection, slot))
	{
		Datum		values[Natts_events + 1];
		bool		nulls[Natts_events + 1];
		int64		seq;
		int			p;

		/* deform only what decides, most events being other members' */
		slot_getsomeattrs(slot, Anum_events_stream);
		seq = DatumGetInt64(slot->tts_values[Anum_events_seq - 1]);
		p = partition_of(DatumGetTextPP(slot->tts_values[Anum_events_stream - 1]),
						 g->key.partitions);
		if (!a->owned[p] || seq <= a->delivered[p])
			continue;
		slot_getallattrs(slot);
		if (!wants(g, DatumGetTextPP(slot->tts_values[Anum_events_stream - 1]),
				   DatumGetTextPP(slot->tts_values[Anum_events_type - 1])))
			continue;
		memcpy(values, slot->tts_values, sizeof(Datum) * Natts_events);
		memcpy(nulls, slot->tts_isnull, sizeof(bool) * Natts_events);
		values[Natts_events] = Int32GetDatum(p);
		nulls[Natts_events] = false;
		s->rows[s->n] = heap_form_tuple(desc, values, nulls);
		s->seqs[s->n] = seq;
		s->parts[s->n] = p;
		s->n++;
		if (s->n == max)
			s->scanned_to = seq;
	}
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	UnregisterSnapshot(snapshot);
	index_close(pkey, NoLock);
	table_close(rel, NoLock);
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
	own_sql("SELECT \"partition\", committed FROM evlog.consumer_offsets WHERE group_id = $1",
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
	char	   *group_name = check_name(fcinfo, 0, "group_name");
	char	   *member = check_name(fcinfo, 1, "member");
	int			max_count;
	int64		timeout_us;
	TimestampTz deadline;
	ConsumerGroup *g;
	LeaseAssignment *a = palloc(sizeof(LeaseAssignment));
	MemoryContext loopcxt;
	MemoryContext outer = CurrentMemoryContext;
	TimestampTz next_begin = 0;
	long		slice_ms;

	evlog_arg_not_null(fcinfo, 2, "max_count");
	evlog_arg_not_null(fcinfo, 3, "timeout");
	max_count = PG_GETARG_INT32(2);
	timeout_us = interval_us(PG_GETARG_INTERVAL_P(3));
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
	g = load_group(group_name, true);
	if (pg_class_aclcheck(evlog_events_relid(), g->owner, ACL_SELECT) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for consumer group \"%s\"", group_name),
				 errdetail("Its owner, role \"%s\", may not SELECT from evlog.events.",
						   GetUserNameFromId(g->owner, false))));
	require_shared_memory();
	ensure_loaded(g);
	deadline = GetCurrentTimestamp() + timeout_us;
	slice_ms = Max(Min(POLL_SLICE_MS, g->key.lease_us / 2000), 1);
	loopcxt = AllocSetContextCreate(CurrentMemoryContext, "evlog_poll", ALLOCSET_DEFAULT_SIZES);
	for (;;)
	{
		int64		durable = evlog_lease_durable_head(evlog_events_relid());
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
			scan_log(g, a, durable, max_count, rsinfo->setDesc, &s);
			keep = palloc(sizeof(bool) * Max(s.n, 1));
			kept = evlog_lease_record(&g->key, member, a, s.n, s.seqs, s.parts,
									  keep, s.scanned_to);
			if (kept > 0)
			{
				MemoryContextSwitchTo(outer);
				for (int i = 0; i < s.n; i++)
					if (keep[i])
						tuplestore_puttuple(rsinfo->setResult, s.rows[i]);
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
		/* committed events above the durable head: prove them durable */
		if (look && visible_head() > durable)
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
		evlog_lease_wait(evlog_events_relid(), durable,
						 Min((deadline - now + 999) / 1000, slice_ms));
	}
	MemoryContextSwitchTo(outer);
	MemoryContextDelete(loopcxt);
	SPI_finish();
	return (Datum) 0;
}

/*
 * remember_change
 *		Queue an ack, a seek or a drop of group_id for shared memory at
 *		commit.
 */
static void
remember_change(PendingKind kind, int64 group_id, const char *member, int64 seq)
{
	MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);
	PendingChange *c = palloc(sizeof(PendingChange));

	c->kind = kind;
	c->relid = evlog_relid("consumer_group_registry");
	c->group_id = group_id;
	c->member = member ? pstrdup(member) : NULL;
	c->seq = seq;
	c->nest_level = GetCurrentTransactionNestLevel();
	pending_changes = lappend(pending_changes, c);
	MemoryContextSwitchTo(old);
}

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
	char	   *group_name = check_name(fcinfo, 0, "group_name");
	char	   *member = check_name(fcinfo, 1, "member");
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
	g = load_group(group_name, true);
	require_shared_memory();
	head = visible_head();
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
		own_sql("UPDATE evlog.consumer_offsets o"
				" SET committed = GREATEST(o.committed, u.c), updated_at = pg_catalog.now()"
				" FROM ROWS FROM (pg_catalog.unnest($2), pg_catalog.unnest($3)) AS u(p, c)"
				" WHERE o.group_id = $1 AND o.\"partition\" = u.p",
				3, argtypes, values);
	}
	remember_change(PENDING_ACK, g->key.group_id, member, seq);
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
	char	   *group_name = check_name(fcinfo, 0, "group_name");
	char	   *member = check_name(fcinfo, 1, "member");
	ConsumerGroup *g;

	SPI_connect();
	g = load_group(group_name, true);
	require_shared_memory();
	evlog_lease_leave(&g->key, member);
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * evlog_seek(group_name text, after_seq bigint) RETURNS void
 *
 * Every partition's committed offset becomes after_seq: delivery starts
 * again after it once the transaction commits, and members holding
 * deliveries are fenced.  Errors: 22004 a NULL argument; 22023 after_seq
 * < 0 or beyond the head; 42704 unknown group; 42501 not a member of the
 * owner role.
 */
Datum
evlog_seek(PG_FUNCTION_ARGS)
{
	char	   *group_name;
	int64		after_seq;
	int64		head;
	ConsumerGroup *g;
	Oid			argtypes[2] = {INT8OID, INT8OID};
	Datum		values[2];

	evlog_arg_not_null(fcinfo, 0, "group_name");
	evlog_arg_not_null(fcinfo, 1, "after_seq");
	group_name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	after_seq = PG_GETARG_INT64(1);
	SPI_connect();
	g = load_group(group_name, true);
	head = visible_head();
	if (after_seq < 0 || after_seq > head)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot seek consumer group \"%s\" to after seq " INT64_FORMAT, group_name, after_seq),
				 errdetail("The head of the log is " INT64_FORMAT "; after_seq must be between 0 and the head.", head)));
	values[0] = Int64GetDatum(g->key.group_id);
	values[1] = Int64GetDatum(after_seq);
	own_sql("UPDATE evlog.consumer_offsets SET committed = $2, updated_at = pg_catalog.now()"
			" WHERE group_id = $1", 2, argtypes, values);
	remember_change(PENDING_SEEK, g->key.group_id, NULL, after_seq);
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * evlog_create_consumer_group(group_name text, event_types text[] = NULL,
 *		stream_prefix text = NULL, partitions integer = 16,
 *		start_after bigint = NULL, lease interval = '30 seconds')
 *		RETURNS void
 *
 * Create a group owned by the current user, its offsets at start_after
 * (NULL: the head now).  Errors: 22004 a NULL group_name, partitions or
 * lease, or a NULL element of event_types; 22023 a name outside 1..128
 * bytes, an empty event_types, a stream_prefix outside 1..512 bytes,
 * partitions outside 1..1024, start_after < 0 or beyond the head, a lease
 * outside 10 ms..1 day; 42501 no SELECT on evlog.events; 42710 the name is
 * taken.
 */
Datum
evlog_create_consumer_group(PG_FUNCTION_ARGS)
{
	char	   *group_name = check_name(fcinfo, 0, "group_name");
	int			partitions;
	int64		lease_us;
	int64		start_after;
	int64		head;
	Oid			argtypes[6] = {TEXTOID, OIDOID, TEXTARRAYOID, TEXTOID, INT4OID, INTERVALOID};
	Datum		values[6];
	char		nulls[6] = "      ";
	Oid			owner;

	evlog_arg_not_null(fcinfo, 3, "partitions");
	evlog_arg_not_null(fcinfo, 5, "lease");
	if (pg_class_aclcheck(evlog_events_relid(), GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for table events"),
				 errdetail("Creating a consumer group needs SELECT on evlog.events.")));
	partitions = PG_GETARG_INT32(3);
	lease_us = interval_us(PG_GETARG_INTERVAL_P(5));
	if (partitions < 1 || partitions > EVLOG_MAX_PARTITIONS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("partitions must be between 1 and %d", EVLOG_MAX_PARTITIONS)));
	if (lease_us < 10 * 1000 || lease_us > USECS_PER_DAY)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("lease must be between 10 milliseconds and 1 day")));
	if (!PG_ARGISNULL(1))
	{
		ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(1);
		Datum	   *elems;
		bool	   *enulls;
		int			n;

		deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &enulls, &n);
		if (n == 0 || ARR_NDIM(arr) != 1)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("event_types must be NULL (every type) or a one-dimensional array of types")));
		for (int i = 0; i < n; i++)
			if (enulls[i])
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("event_types must not contain NULL")));
	}
	if (!PG_ARGISNULL(2) &&
		(VARSIZE_ANY_EXHDR(PG_GETARG_TEXT_PP(2)) < 1 ||
		 VARSIZE_ANY_EXHDR(PG_GETARG_TEXT_PP(2)) > EVLOG_MAX_STREAM_BYTES))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("stream_prefix must be 1 to %d bytes long", EVLOG_MAX_STREAM_BYTES)));
	SPI_connect();
	head = visible_head();
	start_after = PG_ARGISNULL(4) ? head : PG_GETARG_INT64(4);
	if (start_after < 0 || start_after > head)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("start_after must be between 0 and the head of the log, " INT64_FORMAT, head)));
	owner = GetUserId();
	values[0] = CStringGetTextDatum(group_name);
	values[1] = ObjectIdGetDatum(owner);
	values[2] = PG_ARGISNULL(1) ? (Datum) 0 : PG_GETARG_DATUM(1);
	nulls[2] = PG_ARGISNULL(1) ? 'n' : ' ';
	values[3] = PG_ARGISNULL(2) ? (Datum) 0 : PG_GETARG_DATUM(2);
	nulls[3] = PG_ARGISNULL(2) ? 'n' : ' ';
	values[4] = Int32GetDatum(partitions);
	values[5] = PG_GETARG_DATUM(5);
	evlog_exec_own_sql("INSERT INTO evlog.consumer_group_registry"
					   " (group_name, owner, event_types, stream_prefix, partitions, lease)"
					   " VALUES ($1, $2::pg_catalog.regrole, $3, $4, $5, $6)"
					   " ON CONFLICT (group_name) DO NOTHING RETURNING group_id",
					   6, argtypes, values, nulls, 0, registry_owner());
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("consumer group \"%s\" already exists", group_name)));
	{
		bool		isnull;
		Oid			types2[3] = {INT8OID, INT4OID, INT8OID};
		Datum		vals2[3];

		vals2[0] = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		vals2[1] = Int32GetDatum(partitions);
		vals2[2] = Int64GetDatum(start_after);
		own_sql("INSERT INTO evlog.consumer_offsets (group_id, \"partition\", committed, updated_at)"
				" SELECT $1, p, $3, pg_catalog.now() FROM pg_catalog.generate_series(0, $2 - 1) AS p",
				3, types2, vals2);
	}
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * evlog_drop_consumer_group(group_name text) RETURNS void
 *
 * Drop a group and its offsets; its members' leases end when the
 * transaction commits.  Errors: 22004 NULL; 42704 unknown group; 42501
 * not a member of the owner role.
 */
Datum
evlog_drop_consumer_group(PG_FUNCTION_ARGS)
{
	char	   *group_name;
	ConsumerGroup *g;
	Oid			argtypes[1] = {INT8OID};
	Datum		values[1];

	evlog_arg_not_null(fcinfo, 0, "group_name");
	group_name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	SPI_connect();
	g = load_group(group_name, true);
	values[0] = Int64GetDatum(g->key.group_id);
	own_sql("DELETE FROM evlog.consumer_offsets WHERE group_id = $1", 1, argtypes, values);
	own_sql("DELETE FROM evlog.consumer_group_registry WHERE group_id = $1", 1, argtypes, values);
	remember_change(PENDING_DROP, g->key.group_id, NULL, 0);
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * evlog_partition(stream text, partitions integer) RETURNS integer
 *
 * The partition, 0..partitions-1, a stream belongs to.  NULL for a NULL
 * argument; 22023 partitions outside 1..1024.
 */
Datum
evlog_partition(PG_FUNCTION_ARGS)
{
	int			partitions;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	partitions = PG_GETARG_INT32(1);
	if (partitions < 1 || partitions > EVLOG_MAX_PARTITIONS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("partitions must be between 1 and %d", EVLOG_MAX_PARTITIONS)));
	PG_RETURN_INT32(partition_of(PG_GETARG_TEXT_PP(0), partitions));
}

/*
 * evlog.consumer_member_rows() RETURNS TABLE(group_id bigint, member text,
 *		partitions integer[], generation bigint, last_seen timestamptz,
 *		expired boolean)
 *
 * The members in shared memory of this database's groups, for the view
 * evlog.consumer_members.  No rows when evlog is not preloaded.
 */
Datum
evlog_consumer_member_rows(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	LeaseMemberRow *rows;
	int			n;

	InitMaterializedSRF(fcinfo, 0);
	n = evlog_lease_members(&rows);
	for (int i = 0; i < n; i++)
	{
		Datum		values[6];
		bool		nulls[6] = {false, false, false, false, false, false};
		Datum	   *pd = palloc(sizeof(Datum) * Max(rows[i].nparts, 1));

		for (int k = 0; k < rows[i].nparts; k++)
			pd[k] = Int32GetDatum(rows[i].parts[k]);
		values[0] = Int64GetDatum(rows[i].group_id);
		values[1] = CStringGetTextDatum(rows[i].member);
		values[2] = PointerGetDatum(construct_array(pd, rows[i].nparts, INT4OID, 4, true, TYPALIGN_INT));
		values[3] = Int64GetDatum(rows[i].generation);
		values[4] = TimestampTzGetDatum(rows[i].last_seen);
		values[5] = BoolGetDatum(rows[i].expired);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * consumer_xact_callback
 *		At commit, apply the acks, seeks and drops the transaction made to
 *		shared memory, in their order; at commit or abort, forget them.
 */
static void
consumer_xact_callback(XactEvent event, void *arg)
{
	ListCell   *lc;

	if (event == XACT_EVENT_COMMIT)
		foreach(lc, pending_changes)
		{
			PendingChange *c = lfirst(lc);

			if (c->kind == PENDING_DROP)
				evlog_lease_forget_group(c->relid, c->group_id);
			else if (c->kind == PENDING_SEEK)
				evlog_lease_seek(c->relid, c->group_id, c->seq);
			else
				evlog_lease_ack_commit(c->relid, c->group_id, c->member, c->seq);
		}
	if (evlog_xact_ended(event))
		pending_changes = NIL;
}

/*
 * consumer_subxact_callback
 *		At the abort of a subtransaction, forget the acks, seeks and drops
 *		made in it; at its commit, they become its parent's.
 */
static void
consumer_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						  SubTransactionId parentSubid, void *arg)
{
	List	   *kept = NIL;
	ListCell   *lc;
	int			level = GetCurrentTransactionNestLevel();
	MemoryContext old;

	if (pending_changes == NIL ||
		(event != SUBXACT_EVENT_ABORT_SUB && event != SUBXACT_EVENT_COMMIT_SUB))
		return;
	old = MemoryContextSwitchTo(TopTransactionContext);
	foreach(lc, pending_changes)
	{
		PendingChange *c = lfirst(lc);

		if (c->nest_level < level)
			kept = lappend(kept, c);
		else if (event == SUBXACT_EVENT_COMMIT_SUB)
		{
			c->nest_level = level - 1;
			kept = lappend(kept, c);
		}
	}
	pending_changes = kept;
	MemoryContextSwitchTo(old);
}

/*
 * evlog_consumer_init
 *		Set up consumer groups: lease.c's GUCs, shared memory and durable
 *		head, and this file's transaction callbacks.  Called once per
 *		backend from _PG_init.
 */
void
evlog_consumer_init(void)
{
	evlog_lease_init();
	RegisterXactCallback(consumer_xact_callback, NULL);
	RegisterSubXactCallback(consumer_subxact_callback, NULL);
}
