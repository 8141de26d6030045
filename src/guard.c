/*-------------------------------------------------------------------------
 *
 * guard.c
 *	  The append-only guard (SPEC.md G5).
 *
 * evlog.guard() is one trigger function for every protected table: BEFORE
 * UPDATE, DELETE and TRUNCATE triggers (per statement, so that a statement
 * touching no row is refused too, and per row, for the logical replication
 * apply worker, which fires only row triggers) raise EV001.  The triggers
 * are ENABLE ALWAYS, so session_replication_role = replica does not skip
 * them.  On evlog.events a BEFORE INSERT row trigger admits a row that did
 * not come from the sequencer only when it continues the log (sequencer.c).
 *
 * Triggers can be disabled or dropped by a table's owner; the utility hook
 * below, installed when the library is in shared_preload_libraries, refuses
 * that, and refuses changes to the shape of evlog.events, and DROP EXTENSION
 * evlog while the log holds events unless a superuser has set
 * evlog.allow_drop for the transaction.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/pg_trigger.h"
#include "commands/dbcommands.h"
#include "commands/defrem.h"
#include "commands/extension.h"
#include "commands/trigger.h"
#include "nodes/makefuncs.h"
#include "parser/parse_func.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "evlog.h"
#include "copy.h"
#include "guard.h"
#include "restore.h"
#include "sequencer.h"
#include "shmem.h"

PG_FUNCTION_INFO_V1(evlog_guard);

static ProcessUtility_hook_type prev_ProcessUtility = NULL;

static void refuse(Oid relid, const char *what);
static bool is_events_table(Oid relid);
static bool has_guard(Oid relid, const char *tgname);
static void check_alter_table(AlterTableStmt *stmt);
static void check_drop_trigger(DropStmt *stmt);
static void check_rename(RenameStmt *stmt);
static void check_drop_extension(void);
static void evlog_ProcessUtility(PlannedStmt *pstmt, const char *queryString,
								 bool readOnlyTree,
								 ProcessUtilityContext context,
								 ParamListInfo params,
								 QueryEnvironment *queryEnv,
								 DestReceiver *dest, QueryCompletion *qc);

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
		if (is_events_table(RelationGetRelid(rel)))
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
			 is_events_table(RelationGetRelid(rel)) ?
			 errhint("Record a correcting event with evlog_append() instead.") :
			 errhint("The table is protected by evlog_protect().")));
	PG_RETURN_NULL();
}

/*
 * is_events_table
 *		Is relid evlog.events of this database?  Takes no locks.
 */
static bool
is_events_table(Oid relid)
{
	return OidIsValid(relid) && evlog_relid_if_exists(EVLOG_EVENTS_TABLE) == relid;
}

/*
 * has_guard
 *		Does relid carry an evlog.guard() trigger?  With tgname, is the
 *		trigger of that name one of them?
 *
 * Reads pg_trigger with AccessShareLock; takes no lock on relid.
 */
static bool
has_guard(Oid relid, const char *tgname)
{
	Oid			nsp = get_namespace_oid(EVLOG_SCHEMA, true);
	Oid			guard_oid;
	Relation	tgrel;
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tuple;
	bool		found = false;

	if (!OidIsValid(nsp) || !OidIsValid(relid))
		return false;
	guard_oid = LookupFuncName(list_make2(makeString(EVLOG_SCHEMA),
										  makeString("guard")),
							   0, NULL, true);
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

/*
 * refuse
 *		Raise EV001 for a DDL command that would weaken the guard of relid.
 */
static void
refuse(Oid relid, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_EVLOG_APPEND_ONLY_VIOLATION),
			 errmsg("cannot %s on append-only table \"%s.%s\"", what,
					get_namespace_name(get_rel_namespace(relid)),
					get_rel_name(relid)),
			 errdetail("The table is protected by evlog's append-only guard."),
			 errhint("Losing the log is a deliberate act: it takes DROP EXTENSION evlog, or a server started without evlog in shared_preload_libraries.")));
}

/*
 * check_alter_table
 *		Refuse, on a protected table, ALTER TABLE subcommands that disable
 *		a guard trigger or set it to fire only in some replication roles;
 *		on evlog.events, every subcommand that is not in the list below
 *		(which keeps columns, constraints and persistence as they are).
 */
static void
check_alter_table(AlterTableStmt *stmt)
{
	Oid			relid;
	bool		is_log;
	ListCell   *lc;

	if (stmt->objtype != OBJECT_TABLE)
		return;
	relid = RangeVarGetRelid(stmt->relation, NoLock, true);
	if (!OidIsValid(relid) || !has_guard(relid, NULL))
		return;
	is_log = is_events_table(relid);

	foreach(lc, stmt->cmds)
	{
		AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc);

		switch (cmd->subtype)
		{
			case AT_EnableTrig:
			case AT_EnableReplicaTrig:
			case AT_DisableTrig:
				if (has_guard(relid, cmd->name))
					refuse(relid, "change the firing of guard trigger");
				break;
			case AT_EnableTrigAll:
			case AT_DisableTrigAll:
			case AT_EnableTrigUser:
			case AT_DisableTrigUser:
				refuse(relid, "change the firing of all triggers");
				break;
			case AT_EnableAlwaysTrig:
			case AT_SetStatistics:
			case AT_SetOptions:
			case AT_ResetOptions:
			case AT_SetStorage:
			case AT_SetCompression:
			case AT_SetRelOptions:
			case AT_ResetRelOptions:
			case AT_ReplaceRelOptions:
			case AT_ClusterOn:
			case AT_DropCluster:
			case AT_SetTableSpace:
			case AT_ChangeOwner:
			case AT_ReplicaIdentity:
			case AT_AddIndex:
			case AT_EnableRowSecurity:
			case AT_DisableRowSecurity:
			case AT_ForceRowSecurity:
			case AT_NoForceRowSecurity:
				break;
			default:
				if (is_log)
					refuse(relid, "change the columns, constraints or persistence");
				break;
		}
	}
}

/*
 * check_drop_trigger
 *		Refuse DROP TRIGGER of a guard trigger.
 */
static void
check_drop_trigger(DropStmt *stmt)
{
	ListCell   *lc;

	if (stmt->removeType != OBJECT_TRIGGER)
		return;
	foreach(lc, stmt->objects)
	{
		List	   *names = (List *) lfirst(lc);
		List	   *relname = list_copy_head(names, list_length(names) - 1);
		const char *tgname = strVal(llast(names));
		Oid			relid;

		relid = RangeVarGetRelid(makeRangeVarFromNameList(relname), NoLock, true);
		if (has_guard(relid, tgname))
			refuse(relid, "drop guard trigger");
	}
}

/*
 * check_rename
 *		Refuse renaming evlog.events or its columns and constraints.
 */
static void
check_rename(RenameStmt *stmt)
{
	Oid			relid;

	if (stmt->relation == NULL ||
		(stmt->renameType != OBJECT_TABLE &&
		 stmt->renameType != OBJECT_COLUMN &&
		 stmt->renameType != OBJECT_TABCONSTRAINT))
		return;
	relid = RangeVarGetRelid(stmt->relation, NoLock, true);
	if (OidIsValid(relid) && is_events_table(relid))
		refuse(relid, "rename the log or its columns");
}

/*
 * check_drop_extension
 *		Refuse DROP EXTENSION evlog while the log holds an event, unless
 *		evlog.allow_drop is on (a superuser's SET LOCAL in the dropping
 *		transaction): losing the log must be a deliberate act.  Reads
 *		evlog.events with AccessShareLock.  Raises EV001.
 */
static void
check_drop_extension(void)
{
	Oid			relid = evlog_relid_if_exists(EVLOG_EVENTS_TABLE);
	Relation	rel;
	TableScanDesc scan;
	bool		any;

	if (evlog_allow_drop || !OidIsValid(relid))
		return;
	rel = table_open(relid, AccessShareLock);
	scan = table_beginscan(rel, SnapshotSelf, 0, NULL);
	any = heap_getnext(scan, ForwardScanDirection) != NULL;
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	if (any)
		ereport(ERROR,
				(errcode(ERRCODE_EVLOG_APPEND_ONLY_VIOLATION),
				 errmsg("cannot drop extension evlog while its log holds events"),
				 errdetail("Dropping the extension drops evlog.events, the source of truth of this database."),
				 errhint("If that is what you mean, a superuser can run SET LOCAL evlog.allow_drop = on in the same transaction first.")));
}

/*
 * evict_for
 *		Commands that need a database to themselves (DROP DATABASE, CREATE
 *		DATABASE ... TEMPLATE, ALTER DATABASE RENAME or SET TABLESPACE) must
 *		not be blocked by its evlog worker: ask the worker to leave, and the
 *		launcher to start none for a minute.  The command itself waits for
 *		other sessions to go, as it always does.
 */
static void
evict_for(Node *parsetree)
{
	const char *dbname = NULL;
	ListCell   *lc;
	Oid			dboid;

	if (IsA(parsetree, DropdbStmt))
		dbname = ((DropdbStmt *) parsetree)->dbname;
	else if (IsA(parsetree, RenameStmt) &&
			 ((RenameStmt *) parsetree)->renameType == OBJECT_DATABASE)
		dbname = ((RenameStmt *) parsetree)->subname;
	else if (IsA(parsetree, CreatedbStmt))
	{
		foreach(lc, ((CreatedbStmt *) parsetree)->options)
			if (strcmp(lfirst_node(DefElem, lc)->defname, "template") == 0)
				dbname = defGetString(lfirst_node(DefElem, lc));
	}
	else if (IsA(parsetree, AlterDatabaseStmt))
	{
		foreach(lc, ((AlterDatabaseStmt *) parsetree)->options)
			if (strcmp(lfirst_node(DefElem, lc)->defname, "tablespace") == 0)
				dbname = ((AlterDatabaseStmt *) parsetree)->dbname;
	}
	if (dbname == NULL)
		return;
	dboid = get_database_oid(dbname, true);
	if (OidIsValid(dboid))
		(void) evlog_evict_worker(dboid, 60);
}

/*
 * evlog_ProcessUtility
 *		ProcessUtility_hook: check the statement, then run it as usual; a
 *		COPY FROM STDIN into evlog.append_queue runs in copy.c instead.
 *
 * Statements run by an extension script (CREATE or ALTER EXTENSION) are not
 * checked.  Raises EV001 through the check_* functions.
 */
static void
evlog_ProcessUtility(PlannedStmt *pstmt, const char *queryString,
					 bool readOnlyTree, ProcessUtilityContext context,
					 ParamListInfo params, QueryEnvironment *queryEnv,
					 DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *parsetree = pstmt->utilityStmt;

	evict_for(parsetree);
	if (IsA(parsetree, DropStmt) &&
		((DropStmt *) parsetree)->removeType == OBJECT_EXTENSION)
	{
		ListCell   *lc;

		foreach(lc, ((DropStmt *) parsetree)->objects)
		{
			if (strcmp(strVal(lfirst(lc)), "evlog") != 0)
				continue;
			check_drop_extension();
			/* the worker leaves once it sees the extension gone: wake it */
			evlog_registry_changed();
		}
	}
	if (!creating_extension)
	{
		if (IsA(parsetree, AlterTableStmt))
			check_alter_table((AlterTableStmt *) parsetree);
		else if (IsA(parsetree, DropStmt))
			check_drop_trigger((DropStmt *) parsetree);
		else if (IsA(parsetree, RenameStmt))
			check_rename((RenameStmt *) parsetree);
	}

	/* a loader's COPY into evlog.append_queue, without a trigger per row */
	if (IsA(parsetree, CopyStmt) &&
		evlog_copy_append_queue((CopyStmt *) parsetree, queryString, queryEnv, qc))
		return;

	if (prev_ProcessUtility)
		prev_ProcessUtility(pstmt, queryString, readOnlyTree, context,
							params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);
}

/*
 * evlog_guard_init
 *		Install the utility hook.  Called from _PG_init: with the library
 *		preloaded every backend has the hook, otherwise only the backends
 *		that have loaded the library (the guarantees of the guard assume
 *		preload; the COPY path of copy.c is only faster).
 */
void
evlog_guard_init(void)
{
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = evlog_ProcessUtility;
}
