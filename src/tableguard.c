/*-------------------------------------------------------------------------
 *
 * tableguard.c
 *	  The DDL side of the append-only guard on tables (README, "The
 *	  guard"): what the utility hook refuses on evlog.events, its indexes
 *	  and the guard triggers of every append-only table.
 *
 * A table's owner could disable or drop the guard's triggers (guard.c).
 * With the library preloaded, the utility hook (utility.c, through
 * objectguard.c) passes every statement here, which refuses that (and
 * renaming, replacing, detaching or making an extension's member of a
 * guard trigger), every change to the shape, name, inheritance, rules,
 * triggers and indexes of evlog.events, and inheriting from it or
 * attaching it as a partition.  What guards evlog's other objects (found
 * by name) and DROP EXTENSION evlog is in objectguard.c; every refusal of
 * both goes through evlog_refuse_guard_ddl, here.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/index.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "parser/parse_func.h"
#include "utils/lsyscache.h"

#include "evlog.h"
#include "guard.h"
#include "tableguard.h"

/*
 * evlog_refuse_guard_ddl
 *		Raise EV001 for a DDL command that would weaken the guard or change
 *		one of evlog's own objects: fmt and its arguments make the message,
 *		detail the DETAIL.  Every refusal of the utility hook's checks (here
 *		and in objectguard.c) goes through here, so that all carry the same
 *		hint.  Takes no locks; does not return.
 */
void
evlog_refuse_guard_ddl(const char *detail, const char *fmt,...)
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
	evlog_refuse_guard_ddl("The table is protected by evlog's append-only guard.",
						   "cannot %s on append-only table \"%s.%s\"", what,
						   get_namespace_name(get_rel_namespace(relid)),
						   get_rel_name(relid));
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
			evlog_refuse_guard_ddl("Rows of another table would be read as events of the log.",
								   "cannot inherit from append-only table \"%s.%s\"",
								   EVLOG_SCHEMA, EVLOG_EVENTS_TABLE);
		if (cmd->subtype == AT_AttachPartition &&
			evlog_is_events_table(rangevar_relid(castNode(PartitionCmd, cmd->def)->name)))
			evlog_refuse_guard_ddl("The log must stay a table of its own.",
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
 *		Refuse renaming evlog.events, its columns and constraints, and a
 *		guard trigger of any table.  The rename of evlog's other objects
 *		(the log's indexes among them) is objectguard.c's.  Raises EV001;
 *		takes no lock on the relation (the command takes its own).
 */
static void
check_rename(RenameStmt *stmt)
{
	Oid			relid;

	if (stmt->renameType == OBJECT_SCHEMA || stmt->relation == NULL)
		return;
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
}

/*
 * check_depends
 *		Refuse ALTER TRIGGER ... DEPENDS ON EXTENSION of a guard trigger:
 *		dropping that extension would drop the trigger too.  The same for
 *		evlog's own objects is objectguard.c's.  Raises EV001; takes no
 *		lock on the table (the command takes its own).
 */
static void
check_depends(AlterObjectDependsStmt *stmt)
{
	Oid			relid;
	const char *tgname;

	if (stmt->remove || stmt->relation == NULL ||
		stmt->objectType != OBJECT_TRIGGER)
		return;
	relid = rangevar_relid(stmt->relation);
	tgname = strVal(llast(castNode(List, stmt->object)));
	if (evlog_has_guard(relid, tgname))
		evlog_refuse_guard_ddl("The table is protected by evlog's append-only guard.",
							   "cannot make guard trigger \"%s\" of append-only table \"%s.%s\" depend on an extension",
							   tgname, get_namespace_name(get_rel_namespace(relid)),
							   get_rel_name(relid));
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
			evlog_refuse_guard_ddl("Rows of another table would be read as events of the log.",
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
 * evlog_table_ddl_check
 *		Refuse the utility statement parsetree when it would weaken the
 *		guard of an append-only table (the check_* functions above).  Called
 *		by evlog_ddl_check (objectguard.c), which skips evlog's own extension
 *		scripts, before its checks of evlog's other objects.
 *
 * Raises EV001 (or 42501, check_create_trigger).  Takes no lock on the
 * statement's objects (the command takes its own); reads the catalogs.
 */
void
evlog_table_ddl_check(Node *parsetree)
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
		case T_AlterObjectDependsStmt:
			check_depends((AlterObjectDependsStmt *) parsetree);
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
		default:
			break;
	}
}
