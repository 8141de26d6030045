/*-------------------------------------------------------------------------
 *
 * contracts.c
 *	  Event contracts (README, "Event contracts"): versioned, forward-only event
 *	  type definitions checked at append, evlog.strict_types, and upcasters
 *	  that hand a projection every event at its type's latest version.
 *
 * An append looks its (type, type_version) up in evlog.event_type_definitions
 * before it takes the sequencer, and runs the definition's jsonpath check
 * and validator there, so a contract never lengthens the sequencer's hold.
 * Definitions are written under the sequencer, which orders them against
 * appends; an append that was checked just before a definition committed is
 * sequenced with the contract it was checked against.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/guc.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/fmgrprotos.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/regproc.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

#include "evlog.h"
#include "locks.h"
#include "contracts.h"
#include "handler.h"
#include "projection.h"
#include "sequencer.h"

PG_FUNCTION_INFO_V1(evlog_define_event_type);
PG_FUNCTION_INFO_V1(evlog_define_upcaster);

/* evlog.strict_types */
static bool evlog_strict_types = false;

/* Column numbers of evlog.event_type_definitions and evlog.upcasters */

/*
 * find_contract_row
 *		The row of table (an evlog table keyed by (type, version)) for type and
 *		version, copied, or NULL; with version 0, the row of the highest
 *		version.  Reads with SnapshotSelf through the primary key index.
 */
static HeapTuple
find_contract_row(const char *table, const char *index, text *type, int32 version,
				  TupleDesc *desc)
{
	Relation	rel = table_open(evlog_relid(table), AccessShareLock);
	Relation	idx = index_open(evlog_relid(index), AccessShareLock);
	ScanKeyData keys[2];
	SysScanDesc scan;
	HeapTuple	tuple;

	ScanKeyEntryInitialize(&keys[0], 0, 1, BTEqualStrategyNumber, InvalidOid,
						   C_COLLATION_OID, F_TEXTEQ, PointerGetDatum(type));
	ScanKeyInit(&keys[1], 2, BTEqualStrategyNumber, F_INT4EQ, Int32GetDatum(version));
	scan = systable_beginscan_ordered(rel, idx, SnapshotSelf, version > 0 ? 2 : 1, keys);
	tuple = systable_getnext_ordered(scan, BackwardScanDirection);
	if (tuple)
		tuple = heap_copytuple(tuple);
	*desc = CreateTupleDescCopy(RelationGetDescr(rel));
	systable_endscan_ordered(scan);
	index_close(idx, AccessShareLock);
	table_close(rel, AccessShareLock);
	return tuple;
}

/*
 * any_definition
 *		Is any event type defined?  Reads the first row of
 *		evlog.event_type_definitions with SnapshotSelf.
 */
static bool
any_definition(void)
{
	Relation	rel = table_open(evlog_relid(EVLOG_EVENT_TYPE_DEFS_TABLE), AccessShareLock);
	TableScanDesc scan = table_beginscan(rel, SnapshotSelf, 0, NULL);
	bool		any = heap_getnext(scan, ForwardScanDirection) != NULL;

	table_endscan(scan);
	table_close(rel, AccessShareLock);
	return any;
}

/*
 * call_contract_fn_as
 *		Call fn with one argument as role, through handler.c (security-
 *		restricted, its own GUC nest level), cancelled after timeout_ms
 *		(0: only the session's statement_timeout applies).  *isnull says
 *		whether it returned NULL.
 */
static Datum
call_contract_fn_as(Oid fn, Oid role, Datum arg, int timeout_ms, bool *isnull)
{
	FmgrInfo	flinfo;
	EvlogUserCode code;

	code.owner = role;
	code.timeout_ms = timeout_ms;
	code.what = psprintf("function %s", format_procedure(fn));
	fmgr_info(fn, &flinfo);
	return evlog_call_user(&code, &flinfo, 1, arg, isnull);
}

/*
 * contract_failed
 *		Raise EV004 for a payload that fails the contract of type/version.
 */
static void
contract_failed(EvlogAppendRequest *req, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_EVLOG_INVALID_EVENT),
			 errmsg("invalid event argument \"payload\""),
			 errdetail("The payload of %s version %d does not satisfy its %s.",
					   text_to_cstring(req->type), req->type_version, what),
			 errhint("See evlog.event_types for the contract of each event type.")));
}

/*
 * evlog_check_contract
 *		Check req against the definition of its (type, type_version): the
 *		jsonpath check (jsonb_path_match, silent: an error counts as a
 *		failure) and the validator, run as the role that defined the type.
 *		Without a definition, EV004 when evlog.strict_types is on.  Takes
 *		AccessShareLock on evlog.event_type_definitions; not the sequencer.
 */
void
evlog_check_contract(EvlogAppendRequest *req)
{
	TupleDesc	desc;
	HeapTuple	def;
	Datum		check;
	Datum		validator;
	Datum		definer;
	bool		check_null;
	bool		validator_null;
	bool		definer_null;

	/* the common case: no contract at all, nothing to look up */
	if (!evlog_strict_types && !evlog_may_have_contracts())
		return;
	def = find_contract_row(EVLOG_EVENT_TYPE_DEFS_TABLE, EVLOG_EVENT_TYPE_DEFS_PKEY,
							req->type, req->type_version, &desc);
	if (def == NULL)
	{
		if (!evlog_strict_types)
			evlog_note_contracts(any_definition());
		if (evlog_strict_types)
			ereport(ERROR,
					(errcode(ERRCODE_EVLOG_INVALID_EVENT),
					 errmsg("invalid event argument \"type\""),
					 errdetail("Event type %s version %d is not defined, and evlog.strict_types is on.",
							   text_to_cstring(req->type), req->type_version),
					 errhint("Define it with evlog_define_event_type().")));
		return;
	}
	check = heap_getattr(def, evlog_column(desc, EVLOG_EVENT_TYPE_DEFS_TABLE, "check"),
						 desc, &check_null);
	validator = heap_getattr(def, evlog_column(desc, EVLOG_EVENT_TYPE_DEFS_TABLE, "validator"),
							 desc, &validator_null);
	definer = heap_getattr(def, evlog_column(desc, EVLOG_EVENT_TYPE_DEFS_TABLE, "definer"),
						   desc, &definer_null);
	if (!check_null)
	{
		LOCAL_FCINFO(fcinfo, 4);
		Datum		matched;

		InitFunctionCallInfoData(*fcinfo, NULL, 4, InvalidOid, NULL, NULL);
		fcinfo->args[0].value = JsonbPGetDatum(req->payload);
		fcinfo->args[0].isnull = false;
		fcinfo->args[1].value = check;
		fcinfo->args[1].isnull = false;
		fcinfo->args[2].value = DirectFunctionCall1(jsonb_in, CStringGetDatum("{}"));
		fcinfo->args[2].isnull = false;
		fcinfo->args[3].value = BoolGetDatum(true);
		fcinfo->args[3].isnull = false;
		matched = jsonb_path_match(fcinfo);
		if (fcinfo->isnull || !DatumGetBool(matched))
			contract_failed(req, psprintf("check %s",
										  DatumGetCString(DirectFunctionCall1(jsonpath_out,
																			  check))));
	}
	if (!validator_null)
	{
		bool		isnull;
		Datum		ok = call_contract_fn_as(DatumGetObjectId(validator), DatumGetObjectId(definer),
											 JsonbPGetDatum(req->payload), 0, &isnull);

		if (isnull || !DatumGetBool(ok))
			contract_failed(req, psprintf("validator %s",
										  format_procedure(DatumGetObjectId(validator))));
	}
}

/*
 * evlog_upcast_row
 *		An event row (evlog.events composite) at its type's latest defined
 *		version: the payload passed through the upcasters from its
 *		type_version up, each run as the role that defined it.  The row
 *		itself when it is already there.  Each upcaster is cancelled after
 *		timeout_ms (the folding projection's).  Raises EV005 when an
 *		upcaster of the chain is missing or returns NULL.
 */
Datum
evlog_upcast_row(Datum row, int timeout_ms)
{
	HeapTupleHeader th = DatumGetHeapTupleHeader(row);
	TupleDesc	rowdesc = lookup_rowtype_tupdesc(HeapTupleHeaderGetTypeId(th),
												 HeapTupleHeaderGetTypMod(th));
	HeapTupleData tmp;
	Datum	   *values = palloc_array(Datum, rowdesc->natts);
	bool	   *nulls = palloc_array(bool, rowdesc->natts);
	TupleDesc	desc;
	HeapTuple	latest;
	text	   *type;
	int32		version;
	int32		target;
	bool		isnull;
	Datum		result;

	tmp.t_len = HeapTupleHeaderGetDatumLength(th);
	ItemPointerSetInvalid(&tmp.t_self);
	tmp.t_tableOid = InvalidOid;
	tmp.t_data = th;
	heap_deform_tuple(&tmp, rowdesc, values, nulls);
	type = DatumGetTextPP(values[Anum_events_type - 1]);
	version = DatumGetInt32(values[Anum_events_type_version - 1]);

	latest = find_contract_row(EVLOG_EVENT_TYPE_DEFS_TABLE, EVLOG_EVENT_TYPE_DEFS_PKEY, type, 0, &desc);
	target = latest ? DatumGetInt32(heap_getattr(latest,
												 evlog_column(desc, EVLOG_EVENT_TYPE_DEFS_TABLE, "type_version"),
												 desc, &isnull)) : version;
	if (target <= version)
	{
		ReleaseTupleDesc(rowdesc);
		return row;
	}
	for (int64 v = version; v < target; v++)
	{
		HeapTuple	up = find_contract_row(EVLOG_UPCASTERS_TABLE, EVLOG_UPCASTERS_PKEY, type, (int32) v, &desc);
		bool		dummy;

		if (up == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_EVLOG_PROJECTION_STATE),
					 errmsg("no upcaster for %s from version " INT64_FORMAT " to " INT64_FORMAT,
							text_to_cstring(type), v, v + 1),
					 errhint("Define it with evlog_define_upcaster().")));
		values[Anum_events_payload - 1] =
			call_contract_fn_as(DatumGetObjectId(heap_getattr(up, evlog_column(desc, EVLOG_UPCASTERS_TABLE, "fn"),
															  desc, &dummy)),
								DatumGetObjectId(heap_getattr(up, evlog_column(desc, EVLOG_UPCASTERS_TABLE, "definer"),
															  desc, &dummy)),
								values[Anum_events_payload - 1], timeout_ms, &isnull);
		if (isnull)
			ereport(ERROR,
					(errcode(ERRCODE_EVLOG_PROJECTION_STATE),
					 errmsg("upcaster of %s from version " INT64_FORMAT " returned null",
							text_to_cstring(type), v)));
	}
	values[Anum_events_type_version - 1] = Int32GetDatum(target);
	result = heap_copy_tuple_as_datum(heap_form_tuple(rowdesc, values, nulls), rowdesc);
	ReleaseTupleDesc(rowdesc);
	return result;
}

/* The shapes of a validator and an upcaster (evlog_check_user_function) */
static const EvlogFunctionShape validator_shape = {
	"validator", JSONBOID, "payload jsonb", "jsonb", BOOLOID, "boolean"
};
static const EvlogFunctionShape upcaster_shape = {
	"upcaster", JSONBOID, "payload jsonb", "jsonb", JSONBOID, "jsonb"
};

/*
 * count_rows
 *		The bigint a counting query with (type, version) parameters returns.
 *		SPI-connected caller.
 */
static int64
count_rows(const char *sql, text *type, int32 version)
{
	Oid			argtypes[2] = {TEXTOID, INT4OID};
	Datum		args[2] = {PointerGetDatum(type), Int32GetDatum(version)};
	bool		isnull;
	Datum		d;

	evlog_registry_exec(sql, 2, argtypes, args, NULL, 1);
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return isnull ? 0 : DatumGetInt64(d);
}

/*
 * evlog_define_event_type(type text, type_version integer, check text,
 *		validator regprocedure, description text) RETURNS void
 *
 * Define an event type version, or redefine one the log holds no event of.
 * Takes the sequencer (definitions are ordered against appends).  Errors:
 * EV004 bad type name; 22023 bad or lower version; 42601 bad jsonpath;
 * 55000 redefining a version in use; EV005, 42501 validator.
 */
Datum
evlog_define_event_type(PG_FUNCTION_ARGS)
{
	text	   *type;
	int32		version;
	Oid			argtypes[6] = {TEXTOID, INT4OID, TEXTOID, REGPROCEDUREOID, TEXTOID, REGROLEOID};
	Datum		args[6];
	char		nulls[6] = "      ";

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("type and type_version must not be null")));
	type = PG_GETARG_TEXT_PP(0);
	version = PG_GETARG_INT32(1);
	evlog_check_type_name(VARDATA_ANY(type), VARSIZE_ANY_EXHDR(type));
	if (version < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("type_version must be 1 or more"),
				 errdetail("type_version is %d.", version)));
	if (!PG_ARGISNULL(2))
		(void) DirectFunctionCall1(jsonpath_in, CStringGetDatum(text_to_cstring(PG_GETARG_TEXT_PP(2))));
	if (!PG_ARGISNULL(3))
		evlog_check_user_function(PG_GETARG_OID(3), &validator_shape);

	evlog_sequencer_lock();
	SPI_connect();
	if (count_rows("SELECT count(*) FROM " EVLOG_QUALIFIED(EVLOG_EVENT_TYPE_DEFS_TABLE) " WHERE type = $1 AND type_version = $2",
				   type, version) > 0)
	{
		if (count_rows("SELECT count(*) FROM (SELECT FROM " EVLOG_QUALIFIED(EVLOG_EVENTS_TABLE) " WHERE type = $1 AND type_version = $2 LIMIT 1) e",
					   type, version) > 0)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("event type %s version %d is in use and cannot be redefined",
							text_to_cstring(type), version),
					 errdetail("The log holds events of this version; their meaning must not change."),
					 version < PG_INT32_MAX ?
					 errhint("Define version %d instead, with an upcaster from version %d.",
							 version + 1, version) :
					 errhint("Define the type under a new name instead: no version is higher than %d.",
							 version)));
	}
	else
	{
		int64		highest = count_rows("SELECT max(type_version)::bigint FROM " EVLOG_QUALIFIED(EVLOG_EVENT_TYPE_DEFS_TABLE) " "
										 "WHERE type = $1 AND $2 IS NOT NULL", type, version);

		if (highest >= version)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("versions of event type %s only go up", text_to_cstring(type)),
					 errdetail("Version " INT64_FORMAT " is defined; a new version must be higher.", highest)));
	}

	for (int i = 0; i < 5; i++)
	{
		nulls[i] = PG_ARGISNULL(i) ? 'n' : ' ';
		args[i] = PG_ARGISNULL(i) ? (Datum) 0 : PG_GETARG_DATUM(i);
	}
	args[5] = ObjectIdGetDatum(GetUserId());
	evlog_registry_exec("INSERT INTO " EVLOG_QUALIFIED(EVLOG_EVENT_TYPE_DEFS_TABLE) " AS d "
						"(type, type_version, \"check\", validator, description, definer) "
						"VALUES ($1, $2, $3::jsonpath, $4, $5, $6) "
						"ON CONFLICT (type, type_version) DO UPDATE SET \"check\" = excluded.\"check\", "
						"validator = excluded.validator, description = excluded.description, "
						"definer = excluded.definer, defined_at = now()",
						6, argtypes, args, nulls, 0);
	SPI_finish();
	/* every backend looks at the definitions again */
	CacheInvalidateRelcacheByRelid(evlog_relid(EVLOG_EVENT_TYPE_DEFS_TABLE));
	PG_RETURN_VOID();
}

/*
 * evlog_define_upcaster(type text, from_version integer, fn regprocedure)
 *		RETURNS void
 *
 * Define the upcaster of type from from_version to from_version + 1; both
 * versions must be defined, and an upcaster is never replaced.  Takes the
 * sequencer.  Errors: 22004 a null argument; 22023 from_version outside
 * 1..PG_INT32_MAX - 1 or a version not defined; 42710; EV005, 42501, 42883
 * (fn).
 */
Datum
evlog_define_upcaster(PG_FUNCTION_ARGS)
{
	static const char *const argnames[] = {"type", "from_version", "fn"};
	text	   *type;
	int32		from;
	Oid			fn;
	Oid			argtypes[4] = {TEXTOID, INT4OID, REGPROCEDUREOID, REGROLEOID};
	Datum		args[4];

	/* the SQL function is STRICT since 0.1.0; the checks hold without it */
	for (int i = 0; i < lengthof(argnames); i++)
		if (PG_ARGISNULL(i))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("argument \"%s\" must not be null", argnames[i])));
	type = PG_GETARG_TEXT_PP(0);
	from = PG_GETARG_INT32(1);
	fn = PG_GETARG_OID(2);
	/* versions are 1..PG_INT32_MAX, and from + 1 must be one of them */
	if (from < 1 || from == PG_INT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("from_version must be between 1 and %d", PG_INT32_MAX - 1),
				 errdetail("from_version is %d.", from)));

	evlog_check_user_function(fn, &upcaster_shape);
	evlog_sequencer_lock();
	SPI_connect();
	for (int32 step = 0; step <= 1; step++)
		if (count_rows("SELECT count(*) FROM " EVLOG_QUALIFIED(EVLOG_EVENT_TYPE_DEFS_TABLE) " WHERE type = $1 AND type_version = $2",
					   type, from + step) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("event type %s version %d is not defined", text_to_cstring(type), from + step),
					 errhint("An upcaster joins two defined versions: define both with evlog_define_event_type().")));
	if (count_rows("SELECT count(*) FROM " EVLOG_QUALIFIED(EVLOG_UPCASTERS_TABLE) " WHERE type = $1 AND from_version = $2",
				   type, from) > 0)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("event type %s already has an upcaster from version %d", text_to_cstring(type), from),
				 errdetail("Upcasters are forward-only: projections may already have folded with it.")));
	args[0] = PointerGetDatum(type);
	args[1] = Int32GetDatum(from);
	args[2] = ObjectIdGetDatum(fn);
	args[3] = ObjectIdGetDatum(GetUserId());
	evlog_registry_exec("INSERT INTO " EVLOG_QUALIFIED(EVLOG_UPCASTERS_TABLE) " (type, from_version, fn, definer) VALUES ($1, $2, $3, $4)",
						4, argtypes, args, NULL, 0);
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * evlog_contracts_init
 *		Define the GUCs of this module; called from _PG_init before the
 *		"evlog" prefix is reserved.  Takes no locks.
 */
void
evlog_contracts_init(void)
{
	DefineCustomBoolVariable("evlog.strict_types",
							 "Refuse to append an event type and version that is not defined.",
							 "Appends of an undefined (type, type_version) fail with EV004.",
							 &evlog_strict_types,
							 false,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);
}
