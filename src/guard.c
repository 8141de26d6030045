/*-------------------------------------------------------------------------
 *
 * guard.c
 *	  The append-only guard (README, "The guard").
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
 * Triggers can be disabled or dropped by a table's owner; the utility hook
 * below, installed when the library is in shared_preload_libraries, refuses
 * that (and renaming, replacing or detaching guard triggers), refuses every
 * change to the shape, name, schema, inheritance, rules, triggers and
 * indexes of evlog.events, every rename, move or removal from the extension
 * of evlog's own objects (which evlog finds by name), and DROP EXTENSION
 * evlog while the log holds events unless a superuser has set
 * evlog.allow_drop for the transaction.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/guc.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "catalog/dependency.h"
#include "catalog/index.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/objectaddress.h"
#include "catalog/pg_class.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "commands/defrem.h"
#include "commands/extension.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "parser/parse_func.h"
#include "parser/parse_type.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "evlog.h"
#include "handler.h"
#include "copy.h"
#include "guard.h"
#include "restore.h"
#include "restorecopy.h"
#include "projection.h"
#include "sequencer.h"
#include "shmem.h"

/* evlog.allow_drop: let DROP EXTENSION evlog drop a log that holds events */
static bool evlog_allow_drop = false;

PG_FUNCTION_INFO_V1(evlog_guard);
PG_FUNCTION_INFO_V1(evlog_protect);

static ProcessUtility_hook_type prev_ProcessUtility = NULL;

static void refuse_guard_ddl(const char *detail, const char *fmt,...) pg_attribute_printf(2, 3);
static void refuse_weakening(Oid relid, const char *what);
static void refuse_own_object_change(const ObjectAddress *addr, const char *fmt);
static bool is_events_table(Oid relid);
static Oid	guard_func_oid(void);
static bool has_guard(Oid relid, const char *tgname);
static bool is_evlog_member(Oid classid, Oid objid);
static bool is_log_index(Oid relid);
static bool evlog_relation(Oid relid);
static Oid	rangevar_relid(RangeVar *rv);
static ObjectAddress own_object_address(ObjectType type, Node *object);
static void check_evlog_object(const ObjectAddress *addr, const char *fmt);
static void check_evlog_relation(Oid relid, const char *fmt);
static void check_alter_table(AlterTableStmt *stmt);
static void check_drop_stmt(DropStmt *stmt);
static void check_rename(RenameStmt *stmt);
static void check_set_schema(AlterObjectSchemaStmt *stmt);
static void check_depends(AlterObjectDependsStmt *stmt);
static void check_extension_contents(AlterExtensionContentsStmt *stmt);
static void check_inherits(List *parents);
static void check_create_trigger(CreateTrigStmt *stmt);
static void check_create_rule(RuleStmt *stmt);
static void check_replace_function(CreateFunctionStmt *stmt);
static bool evlog_script_running(void);
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
	if (has_guard(relid, "evlog_guard_statement"))
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
 * is_events_table
 *		Is relid evlog.events of this database?  Takes no locks.
 */
static bool
is_events_table(Oid relid)
{
	return OidIsValid(relid) && evlog_relid_if_exists(EVLOG_EVENTS_TABLE) == relid;
}

/*
 * guard_func_oid
 *		The OID of evlog.guard(), or InvalidOid when the extension is not
 *		installed.  Reads pg_namespace and pg_proc; takes no locks.
 */
static Oid
guard_func_oid(void)
{
	if (!OidIsValid(get_namespace_oid(EVLOG_SCHEMA, true)))
		return InvalidOid;
	return LookupFuncName(list_make2(makeString(EVLOG_SCHEMA),
									 makeString("guard")),
						  0, NULL, true);
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
	Oid			guard_oid;
	Relation	tgrel;
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tuple;
	bool		found = false;

	if (!OidIsValid(relid))
		return false;
	guard_oid = guard_func_oid();
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
 * refuse_guard_ddl
 *		Raise EV001 for a DDL command that would weaken the guard: fmt and
 *		its arguments make the message, detail the DETAIL.  Every refusal of
 *		the utility hook goes through here, so that all carry the same hint.
 */
static void
refuse_guard_ddl(const char *detail, const char *fmt,...)
{
	StringInfoData msg;

	initStringInfo(&msg);
	for (;;)
	{
		va_list		args;
		int			needed;

		va_start(args, fmt);
		needed = appendStringInfoVA(&msg, fmt, args);
		va_end(args);
		if (needed == 0)
			break;
		enlargeStringInfo(&msg, needed);
	}
	ereport(ERROR,
			(errcode(ERRCODE_EVLOG_APPEND_ONLY_VIOLATION),
			 errmsg_internal("%s", msg.data),
			 errdetail_internal("%s", detail),
			 errhint("Losing the log is a deliberate act: it takes DROP EXTENSION evlog, or a server started without evlog in shared_preload_libraries.")));
}

/*
 * refuse_weakening
 *		Raise EV001 for a DDL command that would weaken the guard of relid
 *		(evlog.events or a table protected by evlog_protect()); what says
 *		what the command would do.
 */
static void
refuse_weakening(Oid relid, const char *what)
{
	refuse_guard_ddl("The table is protected by evlog's append-only guard.",
					 "cannot %s on append-only table \"%s.%s\"", what,
					 get_namespace_name(get_rel_namespace(relid)),
					 get_rel_name(relid));
}

/*
 * refuse_own_object_change
 *		Raise EV001 for a DDL command that would rename, move or detach one
 *		of evlog's own objects (a member of the extension, or an index of
 *		one of its tables).  fmt has one %s, the object's description.
 */
static void
refuse_own_object_change(const ObjectAddress *addr, const char *fmt)
{
	refuse_guard_ddl("evlog finds its objects by name, in its own schema and extension; the append-only guard relies on them.",
					 fmt, getObjectDescription(addr, false));
}

/*
 * is_evlog_member
 *		Is the object (classid, objid) a member of extension evlog?  Reads
 *		pg_extension and pg_depend; takes no lock on the object.
 */
static bool
is_evlog_member(Oid classid, Oid objid)
{
	Oid			ext = get_extension_oid("evlog", true);

	return OidIsValid(ext) && OidIsValid(objid) &&
		getExtensionOfObject(classid, objid) == ext;
}

/*
 * is_log_index
 *		Is relid an index of evlog.events?  Takes no locks.
 */
static bool
is_log_index(Oid relid)
{
	char		kind = get_rel_relkind(relid);

	return (kind == RELKIND_INDEX || kind == RELKIND_PARTITIONED_INDEX) &&
		is_events_table(IndexGetRelation(relid, true));
}

/*
 * evlog_relation
 *		Is relid one of evlog's relations: a member of the extension (a
 *		table, view or composite type of schema evlog) or an index of one?
 *		Takes no locks.
 */
static bool
evlog_relation(Oid relid)
{
	char		kind = get_rel_relkind(relid);

	if (kind == RELKIND_INDEX || kind == RELKIND_PARTITIONED_INDEX)
		relid = IndexGetRelation(relid, true);
	else if (kind == RELKIND_COMPOSITE_TYPE)
		return is_evlog_member(TypeRelationId, get_rel_type_id(relid));
	return is_evlog_member(RelationRelationId, relid);
}

/*
 * rangevar_relid
 *		The relation a RangeVar names, as the command will resolve it, or
 *		InvalidOid.  Takes no lock (the command takes its own).
 */
static Oid
rangevar_relid(RangeVar *rv)
{
	return rv ? RangeVarGetRelid(rv, NoLock, true) : InvalidOid;
}

/*
 * own_object_address
 *		The address of a non-relation object named as in a utility
 *		statement (as get_object_address takes it, or, for a type, the list
 *		of names RENAME and SET SCHEMA give), for the object types evlog owns
 *		(functions, types, schemas), or InvalidObjectAddress.  Takes AccessShareLock on the
 *		object, as get_object_address does.
 */
static ObjectAddress
own_object_address(ObjectType type, Node *object)
{
	Relation	rel = NULL;
	ObjectAddress addr;

	switch (type)
	{
		case OBJECT_FUNCTION:
		case OBJECT_PROCEDURE:
		case OBJECT_ROUTINE:
		case OBJECT_AGGREGATE:
		case OBJECT_TYPE:
		case OBJECT_DOMAIN:
		case OBJECT_SCHEMA:
		case OBJECT_TABLE:
		case OBJECT_VIEW:
		case OBJECT_MATVIEW:
		case OBJECT_SEQUENCE:
		case OBJECT_FOREIGN_TABLE:
			if (object == NULL)
				return InvalidObjectAddress;
			/* RENAME and SET SCHEMA name a type by a list, not a TypeName */
			if ((type == OBJECT_TYPE || type == OBJECT_DOMAIN) && IsA(object, List))
				object = (Node *) makeTypeNameFromNameList((List *) object);
			addr = get_object_address(type, object, &rel, AccessShareLock, true);
			if (rel)
				relation_close(rel, NoLock);
			return addr;
		default:
			return InvalidObjectAddress;
	}
}

/*
 * check_evlog_object
 *		Refuse, with fmt (see refuse_object), a command on addr when it is
 *		evlog's: a member of the extension, or one of its relations.
 */
static void
check_evlog_object(const ObjectAddress *addr, const char *fmt)
{
	if (!OidIsValid(addr->objectId))
		return;
	if (addr->classId == RelationRelationId ?
		evlog_relation(addr->objectId) :
		is_evlog_member(addr->classId, addr->objectId))
		refuse_own_object_change(addr, fmt);
}

/*
 * check_evlog_relation
 *		check_evlog_object for the relation relid.
 */
static void
check_evlog_relation(Oid relid, const char *fmt)
{
	ObjectAddress addr;

	ObjectAddressSet(addr, RelationRelationId, relid);
	check_evlog_object(&addr, fmt);
}

/*
 * check_alter_table
 *		Refuse ALTER TABLE (or INDEX, FOREIGN TABLE, ...) subcommands that
 *		would weaken the guard:
 *		- on any table: INHERIT evlog.events, ATTACH PARTITION evlog.events;
 *		- on a protected table: disabling a guard trigger or setting it to
 *		  fire only in some replication roles, and detaching a partition
 *		  (which drops the guard triggers cloned to it);
 *		- on evlog.events: every subcommand that is not in the list below
 *		  (which keeps columns, constraints, inheritance and persistence);
 *		- on an index of evlog.events: all but statistics, storage options
 *		  and tablespace.
 *		SET TABLESPACE is allowed: it moves the files, not the log.
 */
static void
check_alter_table(AlterTableStmt *stmt)
{
	Oid			relid = rangevar_relid(stmt->relation);
	bool		guarded;
	bool		is_log;
	bool		log_index;
	ListCell   *lc;

	if (!OidIsValid(relid))
		return;
	guarded = has_guard(relid, NULL);
	is_log = is_events_table(relid);
	log_index = is_log_index(relid);

	foreach(lc, stmt->cmds)
	{
		AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc);

		if (cmd->subtype == AT_AddInherit &&
			is_events_table(rangevar_relid((RangeVar *) cmd->def)))
			refuse_guard_ddl("Rows of another table would be read as events of the log.",
							 "cannot inherit from append-only table \"%s.%s\"",
							 EVLOG_SCHEMA, EVLOG_EVENTS_TABLE);
		if (cmd->subtype == AT_AttachPartition &&
			is_events_table(rangevar_relid(castNode(PartitionCmd, cmd->def)->name)))
			refuse_guard_ddl("The log must stay a table of its own.",
							 "cannot attach append-only table \"%s.%s\" as a partition",
							 EVLOG_SCHEMA, EVLOG_EVENTS_TABLE);

		if (log_index)
		{
			switch (cmd->subtype)
			{
				case AT_SetStatistics:
				case AT_SetRelOptions:
				case AT_ResetRelOptions:
				case AT_ReplaceRelOptions:
				case AT_SetTableSpace:
					break;
				default:
					refuse_weakening(IndexGetRelation(relid, false),
									 psprintf("change index \"%s\"", get_rel_name(relid)));
			}
			continue;
		}
		if (!guarded)
			continue;

		switch (cmd->subtype)
		{
			case AT_EnableTrig:
			case AT_EnableReplicaTrig:
			case AT_DisableTrig:
				if (has_guard(relid, cmd->name))
					refuse_weakening(relid, "change the firing of guard trigger");
				break;
			case AT_EnableTrigAll:
			case AT_DisableTrigAll:
			case AT_EnableTrigUser:
			case AT_DisableTrigUser:
				refuse_weakening(relid, "change the firing of all triggers");
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
			case AT_AddInherit:
			case AT_DropInherit:
			case AT_AttachPartition:
				if (is_log)
					refuse_weakening(relid, "change inheritance or partitions");
				break;
			case AT_DetachPartition:
			case AT_DetachPartitionFinalize:
				/* a detached partition loses the guard triggers cloned to it */
				refuse_weakening(relid, is_log ? "change inheritance or partitions" :
								 "detach a partition");
				break;
			default:
				if (is_log)
					refuse_weakening(relid, "change the columns, constraints or persistence");
				break;
		}
	}
}

/*
 * check_drop_stmt
 *		Refuse DROP TRIGGER of a guard trigger and DROP INDEX of an index of
 *		evlog.events (a re-index under a new name).
 */
static void
check_drop_stmt(DropStmt *stmt)
{
	ListCell   *lc;

	if (stmt->removeType != OBJECT_TRIGGER && stmt->removeType != OBJECT_INDEX)
		return;
	foreach(lc, stmt->objects)
	{
		List	   *names = (List *) lfirst(lc);
		Oid			relid;

		if (stmt->removeType == OBJECT_INDEX)
		{
			relid = rangevar_relid(makeRangeVarFromNameList(names));
			if (is_log_index(relid))
				refuse_weakening(IndexGetRelation(relid, false),
								 psprintf("drop index \"%s\"", get_rel_name(relid)));
			continue;
		}
		relid = rangevar_relid(makeRangeVarFromNameList(list_copy_head(names, list_length(names) - 1)));
		if (has_guard(relid, strVal(llast(names))))
			refuse_weakening(relid, "drop guard trigger");
	}
}

/*
 * check_rename
 *		Refuse renaming evlog.events, its columns, constraints and indexes,
 *		a guard trigger of any table, and any other object of evlog's (its
 *		schema, tables, views, types and functions, which evlog finds by
 *		name).
 */
static void
check_rename(RenameStmt *stmt)
{
	Oid			relid;
	ObjectAddress addr;

	if (stmt->renameType == OBJECT_SCHEMA)
	{
		ObjectAddressSet(addr, NamespaceRelationId,
						 get_namespace_oid(stmt->subname, true));
		check_evlog_object(&addr, "cannot rename %s");
		return;
	}
	if (stmt->relation == NULL)
	{
		addr = own_object_address(stmt->renameType, stmt->object);
		check_evlog_object(&addr, "cannot rename %s");
		return;
	}

	relid = rangevar_relid(stmt->relation);
	if (!OidIsValid(relid))
		return;
	if (stmt->renameType == OBJECT_TRIGGER)
	{
		if (has_guard(relid, stmt->subname))
			refuse_weakening(relid, psprintf("rename guard trigger \"%s\"", stmt->subname));
		return;
	}
	if (is_events_table(relid) &&
		(stmt->renameType == OBJECT_TABLE ||
		 stmt->renameType == OBJECT_COLUMN ||
		 stmt->renameType == OBJECT_ATTRIBUTE ||
		 stmt->renameType == OBJECT_TABCONSTRAINT))
		refuse_weakening(relid, "rename the log or its columns");
	if (stmt->renameType == OBJECT_POLICY || stmt->renameType == OBJECT_RULE)
		return;
	check_evlog_relation(relid, stmt->renameType == OBJECT_COLUMN ||
						 stmt->renameType == OBJECT_ATTRIBUTE ?
						 "cannot rename a column of %s" :
						 stmt->renameType == OBJECT_TABCONSTRAINT ?
						 "cannot rename a constraint of %s" :
						 "cannot rename %s");
}

/*
 * check_set_schema
 *		Refuse ALTER ... SET SCHEMA of evlog's objects: the log, its
 *		schema's other tables, views, types and functions.
 */
static void
check_set_schema(AlterObjectSchemaStmt *stmt)
{
	ObjectAddress addr;

	if (stmt->relation)
		check_evlog_relation(rangevar_relid(stmt->relation),
							 "cannot move %s to another schema");
	else
	{
		addr = own_object_address(stmt->objectType, stmt->object);
		check_evlog_object(&addr, "cannot move %s to another schema");
	}
}

/*
 * check_depends
 *		Refuse ALTER ... DEPENDS ON EXTENSION of a guard trigger or of one of
 *		evlog's objects: dropping that other extension would drop it too.
 */
static void
check_depends(AlterObjectDependsStmt *stmt)
{
	ObjectAddress addr;
	Oid			relid;

	if (stmt->remove)
		return;
	if (stmt->relation == NULL)
	{
		addr = own_object_address(stmt->objectType, stmt->object);
		check_evlog_object(&addr, "cannot make %s depend on an extension");
		return;
	}
	relid = rangevar_relid(stmt->relation);
	if (stmt->objectType == OBJECT_TRIGGER)
	{
		const char *tgname = strVal(llast(castNode(List, stmt->object)));

		if (has_guard(relid, tgname))
			refuse_guard_ddl("The table is protected by evlog's append-only guard.",
							 "cannot make guard trigger \"%s\" of append-only table \"%s.%s\" depend on an extension",
							 tgname, get_namespace_name(get_rel_namespace(relid)),
							 get_rel_name(relid));
		return;
	}
	check_evlog_relation(relid, "cannot make %s depend on an extension");
}

/*
 * check_extension_contents
 *		Refuse ALTER EXTENSION evlog DROP of any object: a detached log,
 *		index or function could then be dropped or replaced on its own.
 *		ADD stays allowed.
 */
static void
check_extension_contents(AlterExtensionContentsStmt *stmt)
{
	Relation	rel = NULL;
	ObjectAddress addr;

	if (stmt->action >= 0 || strcmp(stmt->extname, "evlog") != 0)
		return;
	addr = get_object_address(stmt->objtype, stmt->object, &rel, AccessShareLock, true);
	if (rel)
		relation_close(rel, NoLock);
	if (OidIsValid(addr.objectId))
		refuse_own_object_change(&addr, "cannot remove %s from extension evlog");
}

/*
 * check_inherits
 *		Refuse CREATE [FOREIGN] TABLE ... INHERITS (evlog.events) or
 *		PARTITION OF evlog.events.
 */
static void
check_inherits(List *parents)
{
	ListCell   *lc;

	foreach(lc, parents)
		if (is_events_table(rangevar_relid(lfirst_node(RangeVar, lc))))
			refuse_guard_ddl("Rows of another table would be read as events of the log.",
							 "cannot inherit from append-only table \"%s.%s\"",
							 EVLOG_SCHEMA, EVLOG_EVENTS_TABLE);
}

/*
 * check_create_trigger
 *		Refuse CREATE TRIGGER on evlog.events (its triggers are evlog's),
 *		CREATE OR REPLACE TRIGGER of a guard trigger, and a trigger that
 *		calls evlog.guard() on a table the current user does not own: only
 *		a table's owner may make it append-only (evlog_protect(), or a
 *		superuser's restore of a dump).  Raises EV001, or 42501.
 */
static void
check_create_trigger(CreateTrigStmt *stmt)
{
	Oid			relid = rangevar_relid(stmt->relation);
	Oid			guard = guard_func_oid();

	if (!OidIsValid(relid))
		return;
	if (is_events_table(relid))
		refuse_weakening(relid, "create a trigger");
	if (stmt->replace && has_guard(relid, stmt->trigname))
		refuse_weakening(relid, psprintf("replace guard trigger \"%s\"", stmt->trigname));
	if (OidIsValid(guard) &&
		LookupFuncName(stmt->funcname, 0, NULL, true) == guard &&
		!evlog_rel_ownercheck(relid, GetUserId()))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("must be owner of table %s to make it append-only",
						get_rel_name(relid)),
				 errdetail("evlog.guard() is attached by evlog_protect(), which only a table's owner may run on it."),
				 errhint("Ask the table's owner to run evlog_protect().")));
}

/*
 * check_create_rule
 *		Refuse CREATE RULE on evlog.events.
 */
static void
check_create_rule(RuleStmt *stmt)
{
	Oid			relid = rangevar_relid(stmt->relation);

	if (is_events_table(relid))
		refuse_weakening(relid, "create a rule");
}

/*
 * check_replace_function
 *		Refuse CREATE OR REPLACE FUNCTION of one of evlog's functions (for
 *		evlog.guard(), a new body would switch the guard off).  Resolves the
 *		input argument types as CREATE FUNCTION does; a type that does not
 *		exist is left to it.
 */
static void
check_replace_function(CreateFunctionStmt *stmt)
{
	Oid			argtypes[FUNC_MAX_ARGS];
	int			nargs = 0;
	ListCell   *lc;
	ObjectAddress addr;

	if (!stmt->replace || !OidIsValid(get_extension_oid("evlog", true)))
		return;
	foreach(lc, stmt->parameters)
	{
		FunctionParameter *fp = lfirst_node(FunctionParameter, lc);

		if (fp->mode == FUNC_PARAM_OUT || fp->mode == FUNC_PARAM_TABLE)
			continue;
		if (nargs >= FUNC_MAX_ARGS)
			return;
		argtypes[nargs] = LookupTypeNameOid(NULL, fp->argType, true);
		if (!OidIsValid(argtypes[nargs]))
			return;
		nargs++;
	}
	ObjectAddressSet(addr, ProcedureRelationId,
					 LookupFuncName(stmt->funcname, nargs, argtypes, true));
	check_evlog_object(&addr, "cannot replace %s");
}

/*
 * evlog_script_running
 *		Is an evlog extension script (CREATE or ALTER EXTENSION evlog)
 *		running?  Its statements are not checked; another extension's script
 *		is.  Reads pg_extension only while some extension script runs.
 */
static bool
evlog_script_running(void)
{
	char	   *name;

	if (!creating_extension)
		return false;
	name = get_extension_name(CurrentExtensionObject);
	return name != NULL && strcmp(name, "evlog") == 0;
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
 *		COPY FROM STDIN into evlog.append_queue runs in copy.c instead when
 *		no hook was installed before evlog's (else it goes down the chain).
 *
 * Statements run by evlog's own extension scripts (CREATE or ALTER
 * EXTENSION evlog) are not checked.  Raises EV001 (or 42501) through the
 * check_* functions.
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

			/*
			 * The workers of this database would otherwise hold locks on
			 * evlog's tables mid-batch while the drop takes them in another
			 * order (a deadlock): ask them to leave, and the launcher to
			 * start none for a few seconds.  They would leave anyway once
			 * they see the extension gone.
			 */
			(void) evlog_evict_worker(MyDatabaseId, 5);
			evlog_registry_changed();
		}
	}
	if (!evlog_script_running())
	{
		switch (nodeTag(parsetree))
		{
			case T_AlterTableStmt:
				check_alter_table((AlterTableStmt *) parsetree);
				break;
			case T_DropStmt:
				check_drop_stmt((DropStmt *) parsetree);
				break;
			case T_RenameStmt:
				check_rename((RenameStmt *) parsetree);
				break;
			case T_AlterObjectSchemaStmt:
				check_set_schema((AlterObjectSchemaStmt *) parsetree);
				break;
			case T_AlterObjectDependsStmt:
				check_depends((AlterObjectDependsStmt *) parsetree);
				break;
			case T_AlterExtensionContentsStmt:
				check_extension_contents((AlterExtensionContentsStmt *) parsetree);
				break;
			case T_CreateStmt:
				check_inherits(((CreateStmt *) parsetree)->inhRelations);
				break;
			case T_CreateForeignTableStmt:
				check_inherits(((CreateForeignTableStmt *) parsetree)->base.inhRelations);
				break;
			case T_CreateTrigStmt:
				check_create_trigger((CreateTrigStmt *) parsetree);
				break;
			case T_RuleStmt:
				check_create_rule((RuleStmt *) parsetree);
				break;
			case T_CreateFunctionStmt:
				check_replace_function((CreateFunctionStmt *) parsetree);
				break;
			default:
				break;
		}
	}

	/*
	 * A loader's COPY into evlog.append_queue, without a trigger per row.
	 * Only when no ProcessUtility hook was installed before evlog's: such a
	 * hook (pg_stat_statements) wraps the statement's execution and must see
	 * it, so the COPY then goes down the chain and through the view's
	 * trigger, with the same result (README, "SQL API", "Appending").  Loaded before
	 * those libraries, evlog's hook is the innermost and keeps the fast path
	 * under theirs.
	 */
	if (prev_ProcessUtility == NULL && IsA(parsetree, CopyStmt) &&
		evlog_copy_append_queue((CopyStmt *) parsetree, queryString, queryEnv, qc))
		return;
	/* a restore's COPY into an empty log, in bulk; under the same rule */
	if (prev_ProcessUtility == NULL && IsA(parsetree, CopyStmt) &&
		evlog_restore_copy((CopyStmt *) parsetree, queryString, queryEnv, qc))
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
	DefineCustomBoolVariable("evlog.allow_drop",
							 "Let DROP EXTENSION evlog drop a log that holds events.",
							 "Set it with SET LOCAL in the dropping transaction; losing the log must be deliberate.",
							 &evlog_allow_drop,
							 false,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);
}
