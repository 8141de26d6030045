/*-------------------------------------------------------------------------
 *
 * snapshot.c
 *	  Snapshots of read models (README "Projection versions and
 *	  snapshots"): evlog_snapshot copies a projection's tables as of its
 *	  checkpoint into schema evlog_snapshots, and evlog_rebuild(name,
 *	  from_snapshot => true) restores the latest snapshot that still matches
 *	  the projection and folds only the events after it.
 *
 * A snapshot is a row of evlog.projection_snapshots (projection, seq,
 * fingerprint, the names of its copies) and one table per table of the
 * projection, evlog_snapshots.s<id>_<n>, owned by the projection's owner.
 * The fingerprint is a SHA-256 of what decides the fold's result besides
 * the log: the definitions of the handler and of the reset function
 * (pg_get_functiondef), the tables' names and columns, the event types and
 * the upcast setting.  A rebuild uses only a snapshot whose fingerprint
 * equals the projection's at that moment, so a changed handler never
 * starts from a read model an older handler made: it replays the whole log.
 *
 * The copies' DDL is evlog's own SQL, run as the owner of the registry (the
 * schema's owner; PUBLIC may only use it), who then gives each copy to the
 * projection's owner; every read and write of the projection's tables and
 * of the copies runs as that owner, security-restricted (handler.c).  The
 * projection's registry row is held FOR UPDATE while a snapshot is taken,
 * so the worker passes it over; a sync projection's snapshot also holds
 * the sequencer, as its checkpoint moves with every append.
 * evlog.snapshot_retention keeps the last N snapshots of each projection;
 * unregistering a projection drops its snapshots.  The copies are not
 * members of the extension (pg_dump dumps them, with their rows, as it dumps
 * the rows of evlog.projection_snapshots), so the event trigger
 * evlog_drop_snapshots drops them when DROP EXTENSION evlog starts, which
 * would otherwise refuse to drop the schema that holds them.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "catalog/namespace.h"
#include "commands/event_trigger.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"

#include "evlog.h"
#include "locks.h"
#include "handler.h"
#include "projection.h"
#include "sequencer.h"
#include "versions.h"

PG_FUNCTION_INFO_V1(evlog_snapshot);
PG_FUNCTION_INFO_V1(evlog_drop_snapshot_copies);

/* evlog.snapshot_retention: snapshots kept per projection */
static int	snapshot_retention = 3;

/* One table of a projection, as a snapshot copies it */
typedef struct TableShape
{
	char	   *name;			/* schema-qualified, quoted */
	char	   *coldefs;		/* "col type, ..." */
	char	   *cols;			/* "col, ..." */
} TableShape;

/*
 * describe_tables
 *		The shape of each table of p: its name and its columns that hold
 *		data (not dropped, not generated), in order.  42P01 when a table
 *		was dropped.  Reads the catalogs through SPI as evlog's own SQL
 *		(type names come out qualified unless in pg_catalog).
 *		SPI-connected caller.
 */
static TableShape *
describe_tables(EvlogProjection *p)
{
	int			n = list_length(p->tables);
	TableShape *shapes = palloc0_array(TableShape, Max(n, 1));

	for (int i = 0; i < n; i++)
	{
		Oid			argtypes[1] = {OIDOID};
		Datum		args[1] = {ObjectIdGetDatum(list_nth_oid(p->tables, i))};
		HeapTuple	tup;
		TupleDesc	desc;

		if (get_rel_name(list_nth_oid(p->tables, i)) == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_TABLE),
					 errmsg("a table of projection \"%s\" no longer exists", p->name)));
		evlog_check_table_kind(list_nth_oid(p->tables, i), p->name);
		evlog_exec_own_sql("SELECT $1::pg_catalog.regclass::pg_catalog.text, "
						   "pg_catalog.string_agg(pg_catalog.quote_ident(a.attname) OPERATOR(pg_catalog.||) ' ' "
						   "OPERATOR(pg_catalog.||) pg_catalog.format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum), "
						   "pg_catalog.string_agg(pg_catalog.quote_ident(a.attname), ', ' ORDER BY a.attnum) "
						   "FROM pg_catalog.pg_attribute a WHERE a.attrelid = $1 AND a.attnum > 0 "
						   "AND NOT a.attisdropped AND a.attgenerated = ''",
						   1, argtypes, args, NULL, 1, InvalidOid);
		tup = SPI_tuptable->vals[0];
		desc = SPI_tuptable->tupdesc;
		shapes[i].name = pstrdup(SPI_getvalue(tup, desc, 1));
		shapes[i].coldefs = SPI_getvalue(tup, desc, 2) ? pstrdup(SPI_getvalue(tup, desc, 2)) : pstrdup("");
		shapes[i].cols = SPI_getvalue(tup, desc, 3) ? pstrdup(SPI_getvalue(tup, desc, 3)) : pstrdup("");
	}
	return shapes;
}

/*
 * fingerprint
 *		The hex SHA-256 of p's handler and reset function definitions, its
 *		tables' shapes, event types and upcast setting (see the file
 *		header).  SPI-connected caller; the result is in the caller's
 *		context.
 */
static char *
fingerprint(EvlogProjection *p, TableShape *shapes)
{
	StringInfoData rest;
	Oid			argtypes[3] = {OIDOID, OIDOID, TEXTOID};
	Datum		args[3];
	char		nulls[3] = "   ";
	ListCell   *lc;

	initStringInfo(&rest);
	for (int i = 0; i < list_length(p->tables); i++)
		appendStringInfo(&rest, "table %s (%s)\n", shapes[i].name, shapes[i].coldefs);
	appendStringInfoString(&rest, "event_types");
	if (p->event_types == NIL)
		appendStringInfoString(&rest, " all");
	foreach(lc, p->event_types)
		appendStringInfo(&rest, " %s", (char *) lfirst(lc));
	appendStringInfo(&rest, "\nupcast %s", p->upcast ? "true" : "false");

	args[0] = ObjectIdGetDatum(p->handler);
	args[1] = ObjectIdGetDatum(p->reset);
	nulls[1] = OidIsValid(p->reset) ? ' ' : 'n';
	args[2] = CStringGetTextDatum(rest.data);
	evlog_exec_own_sql("SELECT pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to("
					   "pg_catalog.concat_ws(E'\\n', pg_catalog.pg_get_functiondef($1), "
					   "pg_catalog.pg_get_functiondef($2), $3), 'UTF8')), 'hex')",
					   3, argtypes, args, nulls, 1, InvalidOid);
	return pstrdup(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1));
}

/*
 * drop_snapshots
 *		Drop the copies and the rows of the snapshots of projection name
 *		that sql selects (id, copies; parameters $1 name and $2 an
 *		integer).  SPI-connected caller; runs as the registry's owner.
 */
static void
drop_snapshots(const char *sql, const char *name, int keep)
{
	Oid			argtypes[2] = {TEXTOID, INT4OID};
	Datum		args[2] = {CStringGetTextDatum(name), Int32GetDatum(keep)};
	SPITupleTable *victims;
	uint64		n;

	evlog_registry_exec(sql, 2, argtypes, args, NULL, 0);
	victims = SPI_tuptable;
	n = SPI_processed;
	for (uint64 i = 0; i < n; i++)
	{
		bool		isnull;
		Datum		id = SPI_getbinval(victims->vals[i], victims->tupdesc, 1, &isnull);
		Datum	   *copies;
		int			ncopies;
		Oid			idtype[1] = {INT8OID};

		deconstruct_array(DatumGetArrayTypeP(SPI_getbinval(victims->vals[i], victims->tupdesc, 2, &isnull)),
						  TEXTOID, -1, false, TYPALIGN_INT, &copies, NULL, &ncopies);
		for (int c = 0; c < ncopies; c++)
			evlog_registry_exec(psprintf("DROP TABLE IF EXISTS evlog_snapshots.%s",
										 quote_identifier(TextDatumGetCString(copies[c]))),
								0, NULL, NULL, NULL, 0);
		evlog_registry_exec("DELETE FROM " EVLOG_QUALIFIED(EVLOG_SNAPSHOTS_TABLE) " WHERE id = $1",
							1, idtype, &id, NULL, 0);
	}
}

/*
 * evlog_snapshot_forget
 *		Drop every snapshot of projection name (it is being unregistered,
 *		or replaced by its new version).  SPI-connected caller.
 */
void
evlog_snapshot_forget(const char *name)
{
	drop_snapshots("SELECT id, copies FROM " EVLOG_QUALIFIED(EVLOG_SNAPSHOTS_TABLE) " "
				   "WHERE projection = $1 AND $2 = 0", name, 0);
}

/*
 * evlog_snapshot_rename
 *		The snapshots of projection from become those of to (evlog_promote
 *		gave it that name).  SPI-connected caller.
 */
void
evlog_snapshot_rename(const char *from, const char *to)
{
	Oid			argtypes[2] = {TEXTOID, TEXTOID};
	Datum		args[2] = {CStringGetTextDatum(from), CStringGetTextDatum(to)};

	evlog_registry_exec("UPDATE " EVLOG_QUALIFIED(EVLOG_SNAPSHOTS_TABLE) " SET projection = $2 WHERE projection = $1",
						2, argtypes, args, NULL, 0);
}

/*
 * evlog_snapshot(name text) RETURNS bigint
 *
 * Copy projection name's tables as of its checkpoint into schema
 * evlog_snapshots, record the snapshot with that seq and the fingerprint,
 * drop the snapshots of name beyond evlog.snapshot_retention, and return the
 * seq.  Checks ownership before any lock; then holds, to the end of the
 * transaction, the registry row FOR UPDATE (and for a sync projection the
 * sequencer first, as appenders take them).  Errors: 22004 null name;
 * EV005 unknown projection; 42501 not the owner; 42P01 a table dropped;
 * what the owner's code on its tables raises.
 */
Datum
evlog_snapshot(PG_FUNCTION_ARGS)
{
	char	   *name;
	EvlogProjection *p;
	TableShape *shapes;
	char	   *fp;
	int64		id;
	int			n;
	Datum	   *copies;
	EvlogUserCode code;
	const char *owner;
	bool		isnull;
	Oid			argtypes[5] = {INT8OID, TEXTOID, INT8OID, TEXTOID, TEXTARRAYOID};
	Datum		args[5];

	evlog_arg_not_null(fcinfo, 0, "name");
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	PreventCommandIfReadOnly("evlog_snapshot()");
	if (evlog_check_projection_owner(name))
		evlog_sequencer_lock();
	SPI_connect();
	p = evlog_lock_projection(name, true, false);
	shapes = describe_tables(p);
	fp = fingerprint(p, shapes);
	evlog_registry_exec("SELECT pg_catalog.nextval('" EVLOG_QUALIFIED(EVLOG_SNAPSHOT_ID_SEQ) "')", 0, NULL, NULL, NULL, 1);
	id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));

	n = list_length(p->tables);
	copies = palloc_array(Datum, Max(n, 1));
	owner = quote_identifier(GetUserNameFromId(p->owner, false));
	evlog_user_code_of(p, &code);
	for (int i = 0; i < n; i++)
	{
		char	   *copy = psprintf("s" INT64_FORMAT "_%d", id, i + 1);

		copies[i] = CStringGetTextDatum(copy);
		evlog_registry_exec(psprintf("CREATE TABLE evlog_snapshots.%s (%s)", copy, shapes[i].coldefs),
							0, NULL, NULL, NULL, 0);
		evlog_registry_exec(psprintf("ALTER TABLE evlog_snapshots.%s OWNER TO %s", copy, owner),
							0, NULL, NULL, NULL, 0);
		evlog_exec_user_sql(&code,
							psprintf("INSERT INTO evlog_snapshots.%s (%s) SELECT %s FROM %s",
									 copy, shapes[i].cols, shapes[i].cols, shapes[i].name),
							NULL);
	}
	args[0] = Int64GetDatum(id);
	args[1] = CStringGetTextDatum(name);
	args[2] = Int64GetDatum(p->checkpoint);
	args[3] = CStringGetTextDatum(fp);
	args[4] = PointerGetDatum(construct_array(copies, n, TEXTOID, -1, false, TYPALIGN_INT));
	evlog_registry_exec("INSERT INTO " EVLOG_QUALIFIED(EVLOG_SNAPSHOTS_TABLE) " (id, projection, seq, fingerprint, copies) "
						"VALUES ($1, $2, $3, $4, $5)", 5, argtypes, args, NULL, 0);
	drop_snapshots("SELECT id, copies FROM " EVLOG_QUALIFIED(EVLOG_SNAPSHOTS_TABLE) " WHERE projection = $1 "
				   "ORDER BY seq DESC, id DESC OFFSET $2", name, snapshot_retention);
	SPI_finish();
	PG_RETURN_INT64(DatumGetInt64(args[2]));
}

/*
 * snapshot_restore
 *		evlog_restore_hook: with from_snapshot (evlog_rebuild's second
 *		argument) true, find the latest snapshot of p whose fingerprint
 *		matches p now and whose copies all exist, and replace p's tables'
 *		rows with it, as p's owner (DELETE in reverse order of
 *		registration, then INSERT in order, identity values kept).  Returns
 *		its seq, or -1 (with a NOTICE) when none matches or from_snapshot is
 *		false or absent: the rebuild then replays the whole log.  The reset
 *		function does not run after a restore: the snapshot holds what it
 *		made.  Errors: 22004 from_snapshot null.
 */
static int64
snapshot_restore(EvlogProjection *p, FunctionCallInfo fcinfo)
{
	TableShape *shapes;
	Oid			argtypes[2] = {TEXTOID, TEXTOID};
	Datum		args[2];
	bool		isnull;
	int64		seq;
	Datum	   *copies;
	int			ncopies;
	EvlogUserCode code;

	if (PG_NARGS() < 2)
		return -1;
	evlog_arg_not_null(fcinfo, 1, "from_snapshot");
	if (!PG_GETARG_BOOL(1))
		return -1;
	shapes = describe_tables(p);
	args[0] = CStringGetTextDatum(p->name);
	args[1] = CStringGetTextDatum(fingerprint(p, shapes));
	evlog_registry_exec("SELECT s.seq, s.copies FROM " EVLOG_QUALIFIED(EVLOG_SNAPSHOTS_TABLE) " s "
						"WHERE s.projection = $1 AND s.fingerprint = $2 AND NOT EXISTS "
						"(SELECT FROM pg_catalog.unnest(s.copies) c(name) "
						" WHERE pg_catalog.to_regclass('evlog_snapshots.' OPERATOR(pg_catalog.||) pg_catalog.quote_ident(c.name)) IS NULL) "
						"ORDER BY s.seq DESC, s.id DESC LIMIT 1",
						2, argtypes, args, NULL, 1);
	if (SPI_processed == 0)
	{
		ereport(NOTICE,
				(errmsg("projection \"%s\": no snapshot matches its handler, reset function and tables, replaying the whole log",
						p->name)));
		return -1;
	}
	seq = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	deconstruct_array(DatumGetArrayTypeP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull)),
					  TEXTOID, -1, false, TYPALIGN_INT, &copies, NULL, &ncopies);
	if (ncopies != list_length(p->tables))
		elog(ERROR, "snapshot of projection \"%s\" at seq " INT64_FORMAT " has %d tables, not %d",
			 p->name, seq, ncopies, list_length(p->tables));

	evlog_user_code_of(p, &code);
	for (int i = ncopies - 1; i >= 0; i--)
		evlog_exec_user_sql(&code, psprintf("DELETE FROM %s", shapes[i].name), NULL);
	for (int i = 0; i < ncopies; i++)
		evlog_exec_user_sql(&code,
							psprintf("INSERT INTO %s (%s) OVERRIDING SYSTEM VALUE SELECT %s FROM evlog_snapshots.%s",
									 shapes[i].name, shapes[i].cols, shapes[i].cols,
									 quote_identifier(TextDatumGetCString(copies[i]))),
							NULL);
	evlog_progress_restored(p->name);
	ereport(NOTICE,
			(errmsg("projection \"%s\": restored its snapshot at seq " INT64_FORMAT ", folding the events after it",
					p->name, seq)));
	return seq;
}

/*
 * evlog.drop_snapshot_copies() RETURNS event_trigger
 *
 * The function of the event trigger evlog_drop_snapshots (ddl_command_start,
 * DROP EXTENSION): when the statement drops extension evlog, drop every
 * table of schema evlog_snapshots first (the snapshots' copies; no member of
 * the extension lives there), with the statement's CASCADE or RESTRICT, so
 * that the extension's schema can go with it: an object of the user's that
 * depends on a copy makes DROP EXTENSION refuse, as it would without CASCADE.
 * Runs as the registry's owner, who owns the schema (and so may drop any
 * table in it).  Any other statement: nothing.  Errors: 39P01 when not
 * called as an event trigger; what DROP TABLE raises.
 */
Datum
evlog_drop_snapshot_copies(PG_FUNCTION_ARGS)
{
	DropStmt   *stmt;
	bool		ours = false;
	ListCell   *lc;
	SPITupleTable *copies;
	uint64		n;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("evlog.drop_snapshot_copies() must be called as an event trigger")));
	stmt = (DropStmt *) ((EventTriggerData *) fcinfo->context)->parsetree;
	if (!IsA(stmt, DropStmt) || stmt->removeType != OBJECT_EXTENSION)
		PG_RETURN_VOID();
	foreach(lc, stmt->objects)
		if (strcmp(strVal(lfirst(lc)), "evlog") == 0)
			ours = true;
	if (!ours || !OidIsValid(get_namespace_oid("evlog_snapshots", true)))
		PG_RETURN_VOID();

	SPI_connect();
	evlog_registry_exec("SELECT pg_catalog.quote_ident(c.relname) FROM pg_catalog.pg_class c "
						"WHERE c.relnamespace = 'evlog_snapshots'::pg_catalog.regnamespace "
						"AND c.relkind OPERATOR(pg_catalog.=) ANY ('{r,p}'::pg_catalog.\"char\"[]) ORDER BY c.oid",
						0, NULL, NULL, NULL, 0);
	copies = SPI_tuptable;
	n = SPI_processed;
	for (uint64 i = 0; i < n; i++)
		evlog_registry_exec(psprintf("DROP TABLE IF EXISTS evlog_snapshots.%s %s",
									 SPI_getvalue(copies->vals[i], copies->tupdesc, 1),
									 stmt->behavior == DROP_CASCADE ? "CASCADE" : "RESTRICT"),
							0, NULL, NULL, NULL, 0);
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * evlog_snapshot_init
 *		Define evlog.snapshot_retention and install the rebuild's restore
 *		hook; called once from _PG_init.
 */
void
evlog_snapshot_init(void)
{
	DefineCustomIntVariable("evlog.snapshot_retention",
							"Snapshots evlog_snapshot keeps per projection: taking one drops the oldest beyond this many.",
							NULL,
							&snapshot_retention,
							3, 1, 1000,
							PGC_SUSET, 0,
							NULL, NULL, NULL);
	evlog_restore_hook = snapshot_restore;
}
