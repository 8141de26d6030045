/*-------------------------------------------------------------------------
 *
 * objectguard.c
 *	  The DDL side of the append-only guard on evlog's own objects (README,
 *	  "The guard"): what the utility hook refuses on the members of the
 *	  extension, and DROP EXTENSION evlog while the log holds events.
 *
 * evlog finds its schema, tables, views, types and functions by name.  With
 * the library preloaded, the utility hook (utility.c) passes every
 * statement to evlog_ddl_check here first, which runs the checks of the
 * append-only tables (tableguard.c), then refuses every rename, move,
 * removal from the extension, dependency on another extension and
 * replacement of evlog's own objects, and DROP EXTENSION evlog while the
 * log holds events unless a superuser has set evlog.allow_drop for the
 * transaction.  Statements of evlog's own extension scripts are not
 * checked.
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
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "parser/parse_func.h"
#include "parser/parse_type.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "evlog.h"
#include "notify.h"
#include "objectguard.h"
#include "oidcache.h"
#include "shmem.h"
#include "tableguard.h"

/* evlog.allow_drop: let DROP EXTENSION evlog drop a log that holds events */
static bool evlog_allow_drop = false;

/*
 * refuse_own_object_change
 *		Raise EV001 for a DDL command that would rename, move or detach one
 *		of evlog's own objects (a member of the extension, or an index of
 *		one of its tables).  fmt has one %s, the object's description.
 */
static void
refuse_own_object_change(const ObjectAddress *addr, const char *fmt)
{
	evlog_refuse_guard_ddl("evlog finds its objects by name, in its own schema and extension; the append-only guard relies on them.",
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
 * check_rename
 *		Refuse renaming any of evlog's objects (its schema, tables, views,
 *		types and functions, which evlog finds by name, the indexes of its
 *		tables, their columns and constraints).  A guard trigger's rename,
 *		and the log's, is tableguard.c's, checked before.  Raises EV001;
 *		takes AccessShareLock on a non-relation object it looks up
 *		(own_object_address), no lock on a relation.
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

	relid = RangeVarGetRelid(stmt->relation, NoLock, true);
	if (!OidIsValid(relid) ||
		stmt->renameType == OBJECT_TRIGGER ||
		stmt->renameType == OBJECT_POLICY ||
		stmt->renameType == OBJECT_RULE)
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
		check_evlog_relation(RangeVarGetRelid(stmt->relation, NoLock, true),
							 "cannot move %s to another schema");
	else
	{
		addr = own_object_address(stmt->objectType, stmt->object);
		check_evlog_object(&addr, "cannot move %s to another schema");
	}
}

/*
 * check_depends
 *		Refuse ALTER ... DEPENDS ON EXTENSION of one of evlog's objects:
 *		dropping that other extension would drop it too.  A guard trigger's
 *		is tableguard.c's.  Raises EV001; takes AccessShareLock on a
 *		non-relation object it looks up (own_object_address), no lock on a
 *		relation.
 */
static void
check_depends(AlterObjectDependsStmt *stmt)
{
	ObjectAddress addr;

	if (stmt->remove)
		return;
	if (stmt->relation == NULL)
	{
		addr = own_object_address(stmt->objectType, stmt->object);
		check_evlog_object(&addr, "cannot make %s depend on an extension");
		return;
	}
	if (stmt->objectType == OBJECT_TRIGGER)
		return;
	check_evlog_relation(RangeVarGetRelid(stmt->relation, NoLock, true),
						 "cannot make %s depend on an extension");
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
 *		guard of an append-only table (evlog_table_ddl_check, tableguard.c)
 *		or change evlog's own objects (the check_* functions above), and
 *		before DROP EXTENSION evlog, refuse it while the log holds events
 *		(check_drop_extension) or else ask this database's workers to leave.
 *		Called by the utility hook (utility.c) before every statement.
 *
 * Statements run by evlog's own extension scripts (CREATE or ALTER
 * EXTENSION evlog) are not checked.  The tables' checks run first, so a
 * statement both refuse (renaming evlog.events) gets the tables' error.
 * Raises EV001 (or 42501) through the check_* functions.  Takes the locks the checks name: catalog reads with
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
	evlog_table_ddl_check(parsetree);
	switch (nodeTag(parsetree))
	{
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
		case T_CreateFunctionStmt:
			check_replace_function((CreateFunctionStmt *) parsetree);
			break;
		default:
			break;
	}
}

/*
 * evlog_objectguard_init
 *		Define evlog.allow_drop.  Called from _PG_init.
 */
void
evlog_objectguard_init(void)
{
	DefineCustomBoolVariable("evlog.allow_drop",
							 "Let DROP EXTENSION evlog drop a log that holds events.",
							 "Set it with SET LOCAL in the dropping transaction; losing the log must be deliberate.",
							 &evlog_allow_drop,
							 false,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);
}
