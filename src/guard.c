/*-------------------------------------------------------------------------
 *
 * guard.c
 *	  The append-only guard (README, "The guard"): the trigger function.
 *
 * evlog.guard() is one trigger function for every protected table: BEFORE
 * UPDATE, DELETE and TRUNCATE triggers (per statement, so that a statement
 * touching no row is refused too, and per row, for the logical replication
 * apply worker, which fires only row triggers) raise EV001.  The triggers
 * are ENABLE ALWAYS, so session_replication_role = replica does not skip
 * them.  On evlog.events a BEFORE INSERT row trigger admits a row that did
 * not come from the sequencer only when it continues the log (sequencer.c).
 * evlog_protect() attaches the guard to a table of the caller's own; PUBLIC
 * has no EXECUTE on evlog.guard(), so no one else can.
 *
 * Triggers can be disabled or dropped by a table's owner: tableguard.c, run
 * from the utility hook (utility.c), refuses that; it asks this file which
 * tables carry the guard.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_trigger.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "parser/parse_func.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "evlog.h"
#include "compat.h"
#include "guard.h"
#include "handler.h"
#include "oidcache.h"
#include "restore.h"
#include "sequencer.h"

PG_FUNCTION_INFO_V1(evlog_guard);
PG_FUNCTION_INFO_V1(evlog_protect);

/*
 * evlog_guard()
 *		The trigger function of every protected table.
 *
 * UPDATE, DELETE and TRUNCATE: raise EV001.  INSERT (evlog.events only):
 * per row, admit a row above the head (takes the sequencer); after the
 * statement, prove the rows admitted continue the log (restore.c), else
 * EV001.
 */
Datum
evlog_guard(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Relation	rel;
	const char *op;

	if (!CALLED_AS_TRIGGER(fcinfo) ||
		!(TRIGGER_FIRED_BEFORE(trigdata->tg_event) ||
		  (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event) &&
		   !TRIGGER_FIRED_FOR_ROW(trigdata->tg_event))))
		elog(ERROR, "evlog.guard() must be a BEFORE trigger, or an AFTER INSERT statement trigger");
	rel = trigdata->tg_relation;

	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
	{
		/* rows that came in directly: admitted per row, proven per statement */
		if (evlog_is_events_table(RelationGetRelid(rel)))
		{
			if (TRIGGER_FIRED_FOR_ROW(trigdata->tg_event))
				evlog_check_direct_insert(rel, trigdata->tg_trigtuple);
			else if (TRIGGER_FIRED_AFTER(trigdata->tg_event))
				evlog_restore_verify();
		}
		return TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ?
			PointerGetDatum(trigdata->tg_trigtuple) : PointerGetDatum(NULL);
	}

	if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
		op = "UPDATE";
	else if (TRIGGER_FIRED_BY_DELETE(trigdata->tg_event))
		op = "DELETE";
	else
		op = "TRUNCATE";

	ereport(ERROR,
			(errcode(ERRCODE_EVLOG_APPEND_ONLY_VIOLATION),
			 errmsg("table \"%s.%s\" is append-only",
					get_namespace_name(RelationGetNamespace(rel)),
					RelationGetRelationName(rel)),
			 errdetail("%s is refused for every role.", op),
			 evlog_is_events_table(RelationGetRelid(rel)) ?
			 errhint("Record a correcting event with evlog_append() instead.") :
			 errhint("The table is protected by evlog_protect().")));
	PG_RETURN_NULL();
}

/*
 * evlog_protect(tbl regclass) RETURNS void
 *		Make tbl append-only, as evlog.events is: BEFORE UPDATE OR DELETE
 *		(per row) and BEFORE UPDATE OR DELETE OR TRUNCATE (per statement)
 *		triggers calling evlog.guard(), ENABLE ALWAYS.
 *
 * Only the table's owner may do this (42501): EXECUTE on evlog.guard() is
 * not granted to PUBLIC, so that no one with mere TRIGGER privilege can make
 * a table of someone else's append-only; after the ownership check the
 * triggers are created as the owner of evlog's registry, like the rest of
 * evlog's own SQL.  A table already protected gets a NOTICE.  Errors: 22004
 * tbl is null; 22023 tbl is not a table.  Takes ShareRowExclusiveLock and
 * then AccessExclusiveLock on tbl (CREATE TRIGGER, ALTER TABLE).
 */
Datum
evlog_protect(PG_FUNCTION_ARGS)
{
	Oid			relid;
	char		kind;
	char	   *qualified;
	const char *stmts[3];

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("argument \"tbl\" must not be null")));
	relid = PG_GETARG_OID(0);
	kind = get_rel_relkind(relid);
	if (kind != RELKIND_RELATION && kind != RELKIND_PARTITIONED_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("evlog_protect() can only protect a table"),
				 errdetail("%s is not a table.",
						   DatumGetCString(DirectFunctionCall1(regclassout,
															   ObjectIdGetDatum(relid))))));
	if (!evlog_rel_ownercheck(relid, GetUserId()))
		aclcheck_error(ACLCHECK_NOT_OWNER, get_relkind_objtype(kind),
					   get_rel_name(relid));
	if (evlog_has_guard(relid, "evlog_guard_statement"))
	{
		ereport(NOTICE,
				(errmsg("table %s is already append-only",
						DatumGetCString(DirectFunctionCall1(regclassout,
															ObjectIdGetDatum(relid))))));
		PG_RETURN_VOID();
	}

	qualified = quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
										   get_rel_name(relid));
	stmts[0] = psprintf("CREATE TRIGGER evlog_guard_row BEFORE UPDATE OR DELETE ON %s "
						"FOR EACH ROW EXECUTE FUNCTION " EVLOG_QUALIFIED(EVLOG_GUARD_FUNCTION) "()", qualified);
	stmts[1] = psprintf("CREATE TRIGGER evlog_guard_statement BEFORE UPDATE OR DELETE OR TRUNCATE ON %s "
						"FOR EACH STATEMENT EXECUTE FUNCTION " EVLOG_QUALIFIED(EVLOG_GUARD_FUNCTION) "()", qualified);
	stmts[2] = psprintf("ALTER TABLE %s ENABLE ALWAYS TRIGGER evlog_guard_row, "
						"ENABLE ALWAYS TRIGGER evlog_guard_statement", qualified);
	SPI_connect();
	for (int i = 0; i < lengthof(stmts); i++)
		evlog_registry_exec(stmts[i], 0, NULL, NULL, NULL, 0);
	SPI_finish();
	PG_RETURN_VOID();
}
/*
 * evlog_is_events_table
 *		Is relid evlog.events of this database?  Takes no locks.
 */
bool
evlog_is_events_table(Oid relid)
{
	return OidIsValid(relid) && evlog_relid_if_exists(EVLOG_EVENTS_TABLE) == relid;
}

/*
 * evlog_guard_func_oid
 *		The OID of evlog.guard(), or InvalidOid when the extension is not
 *		installed.  Reads pg_namespace and pg_proc; takes no locks.
 */
Oid
evlog_guard_func_oid(void)
{
	if (!OidIsValid(get_namespace_oid(EVLOG_SCHEMA, true)))
		return InvalidOid;
	return LookupFuncName(list_make2(makeString(EVLOG_SCHEMA),
									 makeString("guard")),
						  0, NULL, true);
}

/*
 * evlog_has_guard
 *		Does relid carry an evlog.guard() trigger?  With tgname, is the
 *		trigger of that name one of them?
 *
 * Reads pg_trigger with AccessShareLock; takes no lock on relid.
 */
bool
evlog_has_guard(Oid relid, const char *tgname)
{
	Oid			guard_oid;
	Relation	tgrel;
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tuple;
	bool		found = false;

	if (!OidIsValid(relid))
		return false;
	guard_oid = evlog_guard_func_oid();
	if (!OidIsValid(guard_oid))
		return false;

	tgrel = table_open(TriggerRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_trigger_tgrelid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(relid));
	scan = systable_beginscan(tgrel, TriggerRelidNameIndexId, true, NULL, 1, &key);
	while (!found && (tuple = systable_getnext(scan)) != NULL)
	{
		Form_pg_trigger tg = (Form_pg_trigger) GETSTRUCT(tuple);

		found = tg->tgfoid == guard_oid &&
			(tgname == NULL || strcmp(NameStr(tg->tgname), tgname) == 0);
	}
	systable_endscan(scan);
	table_close(tgrel, AccessShareLock);
	return found;
}
