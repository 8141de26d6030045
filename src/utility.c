/*-------------------------------------------------------------------------
 *
 * utility.c
 *	  evlog's ProcessUtility hook: the guard's DDL checks before every
 *	  statement, the worker's eviction before commands that need a database
 *	  to themselves, and the COPY fast paths.
 *
 * Installed when the library is loaded; with it in shared_preload_libraries
 * every backend has it, which the guard's guarantees assume (README, "The
 * guard").
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "commands/dbcommands.h"
#include "commands/defrem.h"
#include "nodes/parsenodes.h"
#include "tcop/utility.h"

#include "evlog.h"
#include "copy.h"
#include "objectguard.h"
#include "restorecopy.h"
#include "shmem.h"
#include "stats.h"
#include "utility.h"

static ProcessUtility_hook_type prev_ProcessUtility = NULL;

/*
 * evict_for
 *		Commands that need a database to themselves (DROP DATABASE, CREATE
 *		DATABASE ... TEMPLATE, ALTER DATABASE RENAME or SET TABLESPACE) must
 *		not be blocked by its evlog worker: ask the worker to leave, and the
 *		launcher to start none for a minute.  The command itself waits for
 *		other sessions to go, as it always does.  Returns the database's OID,
 *		InvalidOid for other commands or a database that does not exist.
 */
static Oid
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
		return InvalidOid;
	dboid = get_database_oid(dbname, true);
	if (OidIsValid(dboid))
		(void) evlog_evict_worker(dboid, 60);
	return dboid;
}

/*
 * evlog_ProcessUtility
 *		ProcessUtility_hook: check the statement (objectguard.c and
 *		tableguard.c), then run it as usual; a COPY FROM STDIN into
 *		evlog.append_queue runs in copy.c, and a restore's COPY into an empty
 *		log in restorecopy.c, instead, when no hook was installed before
 *		evlog's (else it goes down the chain).
 *		After DROP DATABASE, the database's statistics slot is freed.
 *
 * Raises EV001 (or 42501) through evlog_ddl_check.
 */
static void
evlog_ProcessUtility(PlannedStmt *pstmt, const char *queryString,
					 bool readOnlyTree, ProcessUtilityContext context,
					 ParamListInfo params, QueryEnvironment *queryEnv,
					 DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *parsetree = pstmt->utilityStmt;
	Oid			evicted = evict_for(parsetree);
	Oid			dropped = IsA(parsetree, DropdbStmt) ? evicted : InvalidOid;

	evlog_ddl_check(parsetree);

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
	/* DROP DATABASE cannot run in a transaction block: it is done */
	if (OidIsValid(dropped))
		evlog_stats_forget_database(dropped);
}
/*
 * evlog_utility_init
 *		Install the utility hook, chained to the one installed before.
 *		Called from _PG_init: with the library preloaded every backend has
 *		the hook, otherwise only the backends that have loaded the library
 *		(the guarantees of the guard assume preload; the COPY path of copy.c
 *		is only faster).
 */
void
evlog_utility_init(void)
{
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = evlog_ProcessUtility;
}
