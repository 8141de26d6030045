/*-------------------------------------------------------------------------
 *
 * ddlguard.c
 *	  The DDL side of the append-only guard (README, "The guard"): what the
 *	  utility hook refuses.
 *
 * A table's owner could disable or drop the guard's triggers (guard.c).
 * With the library preloaded, the utility hook (utility.c) passes every
 * statement here first, which refuses that (and renaming, replacing or
 * detaching guard triggers), every change to the shape, name, schema,
 * inheritance, rules, triggers and indexes of evlog.events, every rename,
 * move or removal from the extension of evlog's own objects (which evlog
 * finds by name), and DROP EXTENSION evlog while the log holds events
 * unless a superuser has set evlog.allow_drop for the transaction.
 * Statements of evlog's own extension scripts are not checked.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/relation.h"
#include "access/table.h"
#include "catalog/dependency.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "catalog/objectaddress.h"
#include "catalog/pg_class.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "parser/parse_func.h"
#include "parser/parse_type.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "evlog.h"
#include "ddlguard.h"
#include "guard.h"
#include "notify.h"
#include "oidcache.h"
#include "shmem.h"

/* evlog.allow_drop: let DROP EXTENSION evlog drop a log that holds events */
static bool evlog_allow_drop = false;

static void refuse_guard_ddl(const char *detail, const char *fmt,...) pg_attribute_printf(2, 3);

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
		evlog_is_events_table(IndexGetRelation(relid, true));
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
	guarded = evlog_has_guard(relid, NULL);
	is_log = evlog_is_events_table(relid);
	log_index = is_log_index(relid);

	foreach(lc, stmt->cmds)
	{
		AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc);

		if (cmd->subtype == AT_AddInherit &&
			evlog_is_events_table(rangevar_relid((RangeVar *) cmd->def)))
			refuse_guard_ddl("Rows of another table would be read as events of the log.",
							 "cannot inherit from append-only table \"%s.%s\"",
							 EVLOG_SCHEMA, EVLOG_EVENTS_TABLE);
		if (cmd->subtype == AT_AttachPartition &&
			evlog_is_events_table(rangevar_relid(castNode(PartitionCmd, cmd->def)->name)))
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
				if (evlog_has_guard(relid, cmd->name))
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
		if (evlog_has_guard(relid, strVal(llast(names))))
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
		if (evlog_has_guard(relid, stmt->subname))
			refuse_weakening(relid, psprintf("rename guard trigger \"%s\"", stmt->subname));
		return;
	}
	if (evlog_is_events_table(relid) &&
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

		if (evlog_has_guard(relid, tgname))
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
		if (evlog_is_events_table(rangevar_relid(lfirst_node(RangeVar, lc))))
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
	Oid			guard = evlog_guard_func_oid();

	if (!OidIsValid(relid))
		return;
	if (evlog_is_events_table(relid))
		refuse_weakening(relid, "create a trigger");
	if (stmt->replace && evlog_has_guard(relid, stmt->trigname))
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

	if (evlog_is_events_table(relid))
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
 * evlog_ddl_check
 *		Refuse the utility statement parsetree when it would weaken the
 *		guard or change evlog's own objects (the check_* functions above),
 *		and before DROP EXTENSION evlog, refuse it while the log holds events
 *		(check_drop_extension) or else ask this database's workers to leave.
 *
 * Statements run by evlog's own extension scripts (CREATE or ALTER
 * EXTENSION evlog) are not checked.  Raises EV001 (or 42501) through the
 * check_* functions.  Takes the locks the checks name: catalog reads with
 * AccessShareLock, none on the statement's own objects.
 */
void
evlog_ddl_check(Node *parsetree)
{
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
	if (evlog_script_running())
		return;
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
 * evlog_ddlguard_init
 *		Define evlog.allow_drop.  Called from _PG_init.
 */
void
evlog_ddlguard_init(void)
{
	DefineCustomBoolVariable("evlog.allow_drop",
							 "Let DROP EXTENSION evlog drop a log that holds events.",
							 "Set it with SET LOCAL in the dropping transaction; losing the log must be deliberate.",
							 &evlog_allow_drop,
							 false,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);
}
