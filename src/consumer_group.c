/*-------------------------------------------------------------------------
 *
 * consumer_group.c
 *	  Consumer groups' durable part: the registry of groups and their
 *	  committed offsets (evlog.consumer_group_registry and
 *	  evlog.consumer_offsets), creating, dropping and seeking groups, and
 *	  the changes an ack, a seek or a drop makes to shared memory when its
 *	  transaction commits (README "Consumer groups"; docs/guarantees.md C1).
 *
 * Both tables are written as their owner (the extension's owner) through
 * evlog_exec_own_sql, after the caller's rights were checked here, and
 * both are dumped by pg_dump.  Shared memory changes only at commit, so
 * that an ack or a seek rolled back changes nothing.
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
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "common/int.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "evlog.h"
#include "consumer.h"
#include "handler.h"
#include "delivery.h"
#include "lease.h"
#include "oidcache.h"

PG_FUNCTION_INFO_V1(evlog_create_consumer_group);
PG_FUNCTION_INFO_V1(evlog_drop_consumer_group);
PG_FUNCTION_INFO_V1(evlog_seek);
PG_FUNCTION_INFO_V1(evlog_partition);
PG_FUNCTION_INFO_V1(evlog_consumer_member_rows);

/* What to apply to shared memory when the transaction commits */
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
 * evlog_consumer_check_name
 *		Raise 22004 when argument argno is NULL, 22023 unless it is 1..128
 *		bytes; return it as a C string.
 */
char *
evlog_consumer_check_name(FunctionCallInfo fcinfo, int argno, const char *what)
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
	Oid			relid = evlog_relid(EVLOG_CONSUMER_GROUPS_TABLE);
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Oid			owner;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	return owner;
}

/*
 * evlog_consumer_sql
 *		Run evlog's own sql as the owner of evlog.consumer_group_registry.
 *		SPI-connected caller.  Returns SPI's result code.
 */
int
evlog_consumer_sql(const char *sql, int nargs, Oid *argtypes, Datum *values)
{
	return evlog_exec_own_sql(sql, nargs, argtypes, values, NULL, 0, registry_owner());
}

/*
 * evlog_consumer_plan
 *		Run the statement sql, with nargs parameters of argtypes, as the
 *		owner of evlog.consumer_group_registry, from the plan kept in *plan
 *		(handler.c's evlog_exec_own_plan: the hot statements of polls and
 *		acks are parsed and planned once per backend).  SPI-connected caller
 *		that checked the current user's rights.  Returns SPI's result code;
 *		errors propagate.
 */
int
evlog_consumer_plan(SPIPlanPtr *plan, const char *sql, int nargs, Oid *argtypes,
					Datum *values)
{
	return evlog_exec_own_plan(plan, sql, nargs, argtypes, values, NULL,
							   registry_owner());
}

/* The registry's primary key, and its columns (sql/evlog--0.1.0--0.2.0.sql) */
#define REGISTRY_PKEY			"consumer_group_registry_pkey"
#define Anum_registry_group_id	1
#define Anum_registry_owner		3
#define Anum_registry_types		4
#define Anum_registry_prefix	5
#define Anum_registry_partitions 6
#define Anum_registry_lease		7

/*
 * evlog_consumer_group
 *		Read group name's registry row, with a scan of the registry's
 *		primary key (no SQL: every poll and ack reads it, and parsing and
 *		planning a query cost more than the rest of an idle poll), under a
 *		snapshot taken as SPI would take one.  Raise 42704 when there is
 *		none, and with check_owner 42501 unless the current user is a
 *		member of the group's owner role.  Takes AccessShareLock on the
 *		registry and its key.  The result is allocated in the caller's
 *		context.
 */
ConsumerGroup *
evlog_consumer_group(const char *name, bool check_owner)
{
	Relation	rel = table_open(evlog_relid(EVLOG_CONSUMER_GROUPS_TABLE), AccessShareLock);
	Relation	pkey = index_open(evlog_relid(REGISTRY_PKEY), AccessShareLock);
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	ConsumerGroup *g = NULL;
	Snapshot	snapshot;
	IndexScanDesc scan;
	ScanKeyData key;

	CommandCounterIncrement();
	snapshot = RegisterSnapshot(GetTransactionSnapshot());
	/* the key's only column, group_name */
	ScanKeyEntryInitialize(&key, 0, 1, BTEqualStrategyNumber,
						   InvalidOid, C_COLLATION_OID, F_TEXTEQ,
						   CStringGetTextDatum(name));
	scan = index_beginscan(rel, pkey, snapshot, 1, 0);
	index_rescan(scan, &key, 1, NULL, 0);
	if (index_getnext_slot(scan, ForwardScanDirection, slot))
	{
		Datum	   *v;
		bool	   *isnull;

		slot_getallattrs(slot);
		v = slot->tts_values;
		isnull = slot->tts_isnull;
		g = palloc0(sizeof(ConsumerGroup));
		g->key.name = pstrdup(name);
		g->key.relid = RelationGetRelid(rel);
		g->key.group_id = DatumGetInt64(v[Anum_registry_group_id - 1]);
		g->owner = DatumGetObjectId(v[Anum_registry_owner - 1]);
		if (!isnull[Anum_registry_types - 1])
		{
			Datum	   *elems;
			bool	   *nulls;

			deconstruct_array(DatumGetArrayTypePCopy(v[Anum_registry_types - 1]),
							  TEXTOID, -1, false, TYPALIGN_INT,
							  &elems, &nulls, &g->ntypes);
			g->types = palloc(sizeof(text *) * Max(g->ntypes, 1));
			for (int i = 0; i < g->ntypes; i++)
				g->types[i] = DatumGetTextPP(elems[i]);
		}
		g->prefix = isnull[Anum_registry_prefix - 1] ? NULL :
			DatumGetTextPCopy(v[Anum_registry_prefix - 1]);
		g->key.partitions = DatumGetInt32(v[Anum_registry_partitions - 1]);
		g->key.lease_us = evlog_interval_us(DatumGetIntervalP(v[Anum_registry_lease - 1]));
	}
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	UnregisterSnapshot(snapshot);
	index_close(pkey, AccessShareLock);
	table_close(rel, AccessShareLock);
	if (g == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("consumer group \"%s\" does not exist", name)));
	if (check_owner && !is_member_of_role(GetUserId(), g->owner))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for consumer group \"%s\"", name),
				 errdetail("Only members of role \"%s\", the group's owner, may use it.",
						   GetUserNameFromId(g->owner, false))));
	return g;
}

/*
 * evlog_visible_head
 *		The highest seq the latest snapshot sees (0: an empty log), read
 *		with a backward scan of the primary key.  Takes AccessShareLock on
 *		the log and its key; checks no privilege (callers did).
 */
int64
evlog_visible_head(void)
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
 * evlog_partition_of
 *		The partition of a stream: PostgreSQL's hash_bytes of its bytes,
 *		modulo partitions.  README "Consumer groups".
 */
static int
evlog_partition_of(text *stream, int partitions)
{
	return (int) (evlog_stream_hash(stream) % (uint32) partitions);
}

/*
 * evlog_stream_hash
 *		PostgreSQL's hash_bytes of a stream's bytes, whose remainder modulo
 *		a group's partitions is the stream's partition.
 */
uint32
evlog_stream_hash(text *stream)
{
	return hash_bytes((unsigned char *) VARDATA_ANY(stream), VARSIZE_ANY_EXHDR(stream));
}

/*
 * evlog_consumer_remember
 *		Queue an ack, a seek or a drop of group_id for shared memory at
 *		commit.
 */
void
evlog_consumer_remember(PendingKind kind, int64 group_id, const char *member, int64 seq)
{
	MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);
	PendingChange *c = palloc(sizeof(PendingChange));

	c->kind = kind;
	c->relid = evlog_relid(EVLOG_CONSUMER_GROUPS_TABLE);
	c->group_id = group_id;
	c->member = member ? pstrdup(member) : NULL;
	c->seq = seq;
	c->nest_level = GetCurrentTransactionNestLevel();
	pending_changes = lappend(pending_changes, c);
	MemoryContextSwitchTo(old);
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
	g = evlog_consumer_group(group_name, true);
	head = evlog_visible_head();
	if (after_seq < 0 || after_seq > head)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot seek consumer group \"%s\" to after seq " INT64_FORMAT, group_name, after_seq),
				 errdetail("The head of the log is " INT64_FORMAT "; after_seq must be between 0 and the head.", head)));
	values[0] = Int64GetDatum(g->key.group_id);
	values[1] = Int64GetDatum(after_seq);
	evlog_consumer_sql("UPDATE " EVLOG_QUALIFIED(EVLOG_CONSUMER_OFFSETS_TABLE) " SET committed = $2, updated_at = pg_catalog.now()"
			" WHERE group_id = $1", 2, argtypes, values);
	evlog_consumer_remember(PENDING_SEEK, g->key.group_id, NULL, after_seq);
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
	char	   *group_name = evlog_consumer_check_name(fcinfo, 0, "group_name");
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
	lease_us = evlog_interval_us(PG_GETARG_INTERVAL_P(5));
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
	head = evlog_visible_head();
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
	evlog_exec_own_sql("INSERT INTO " EVLOG_QUALIFIED(EVLOG_CONSUMER_GROUPS_TABLE)
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
		evlog_consumer_sql("INSERT INTO " EVLOG_QUALIFIED(EVLOG_CONSUMER_OFFSETS_TABLE) " (group_id, \"partition\", committed, updated_at)"
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
	g = evlog_consumer_group(group_name, true);
	values[0] = Int64GetDatum(g->key.group_id);
	evlog_consumer_sql("DELETE FROM " EVLOG_QUALIFIED(EVLOG_CONSUMER_OFFSETS_TABLE) " WHERE group_id = $1", 1, argtypes, values);
	evlog_consumer_sql("DELETE FROM " EVLOG_QUALIFIED(EVLOG_CONSUMER_GROUPS_TABLE) " WHERE group_id = $1", 1, argtypes, values);
	evlog_consumer_remember(PENDING_DROP, g->key.group_id, NULL, 0);
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
	PG_RETURN_INT32(evlog_partition_of(PG_GETARG_TEXT_PP(0), partitions));
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
 * evlog_consumer_group_init
 *		Register the transaction callbacks that apply acks, seeks and drops
 *		at commit.  Called once per backend, from evlog_consumer_init.
 */
void
evlog_consumer_group_init(void)
{
	RegisterXactCallback(consumer_xact_callback, NULL);
	RegisterSubXactCallback(consumer_subxact_callback, NULL);
}
