/*-------------------------------------------------------------------------
 *
 * copy.c
 *	  COPY ... FROM STDIN into evlog.append_queue without a trigger call
 *	  per row.
 *
 * PostgreSQL copies into a view by calling its INSTEAD OF trigger for every
 * row; evlog's trigger then sets an append up, appends one event and tears
 * the append down again.  A loader's COPY of many rows pays that per row.
 * The utility hook (guard.c) hands a COPY FROM STDIN into evlog.append_queue
 * here instead: the rows are read with PostgreSQL's own COPY parser
 * (BeginCopyFrom / NextCopyFrom, so formats, options, column lists and the
 * view's column defaults behave as in any COPY) and appended through one
 * append set-up, as evlog_append_batch does, with the same checks and
 * errors as the trigger, in COPY's error context ("COPY append_queue, line
 * N").
 *
 * Only the plain case is taken: FROM STDIN, no WHERE clause, no FREEZE, and
 * the view still has exactly its one enabled trigger, evlog's.  Anything
 * else (a file or program, a WHERE clause, FREEZE, a user's trigger on the
 * view) runs as PostgreSQL runs it, through the trigger.  Privileges are checked as COPY
 * checks them: INSERT on the view, or on each column copied.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "commands/copy.h"
#include "commands/progress.h"
#include "catalog/namespace.h"
#include "catalog/pg_trigger.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "parser/parse_relation.h"
#include "pgstat.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "evlog.h"
#include "copy.h"
#include "oidcache.h"
#include "sequencer.h"

/*
 * only_evlog_trigger
 *		Does rel (evlog.append_queue) have exactly one trigger, enabled, and
 *		is it evlog's INSTEAD OF INSERT row trigger?
 */
static bool
only_evlog_trigger(Relation rel)
{
	Trigger    *trig;

	if (rel->trigdesc == NULL || rel->trigdesc->numtriggers != 1)
		return false;
	trig = &rel->trigdesc->triggers[0];
	return strcmp(trig->tgname, "append_queue_insert") == 0 &&
		trig->tgenabled != TRIGGER_DISABLED &&
		TRIGGER_FOR_ROW(trig->tgtype) &&
		TRIGGER_FOR_INSTEAD(trig->tgtype) &&
		TRIGGER_FOR_INSERT(trig->tgtype) &&
		get_func_namespace(trig->tgfoid) == get_namespace_oid(EVLOG_SCHEMA, false) &&
		strcmp(get_func_name(trig->tgfoid), "append_queue_insert") == 0;
}

/*
 * evlog_copy_append_queue
 *		Run stmt if it is a COPY FROM STDIN into evlog.append_queue that this
 *		module serves, set qc to "COPY n" and return true; else return false
 *		and leave the statement to PostgreSQL.
 *
 * Takes RowExclusiveLock on the view, and what an append takes (the
 * sequencer until the end of the transaction).  Raises what COPY raises
 * (42501 without INSERT on the view or a column, the parser's errors) and
 * what evlog_append raises, in COPY's error context.
 */
bool
evlog_copy_append_queue(CopyStmt *stmt, const char *queryString,
						QueryEnvironment *queryEnv, QueryCompletion *qc)
{
	Oid			viewid;
	Relation	rel;
	ParseState *pstate;
	ParseNamespaceItem *nsitem;
	ListCell   *lc;
	CopyFromState cstate;
	EState	   *estate;
	ExprContext *econtext;
	Datum	   *values;
	bool	   *nulls;
	AppendContext ac;
	ErrorContextCallback errcallback;
	uint64		processed = 0;
	int			nestlevel;

	if (!stmt->is_from || stmt->relation == NULL || stmt->filename != NULL ||
		stmt->is_program || stmt->whereClause != NULL)
		return false;
	/* FREEZE and the like are PostgreSQL's to refuse for a view */
	foreach(lc, stmt->options)
	{
		if (strcmp(((DefElem *) lfirst(lc))->defname, "freeze") == 0)
			return false;
	}
	viewid = evlog_relid_if_exists("append_queue");
	if (!OidIsValid(viewid) ||
		RangeVarGetRelid(stmt->relation, NoLock, true) != viewid)
		return false;
	rel = table_open(viewid, RowExclusiveLock);
	if (!only_evlog_trigger(rel))
	{
		table_close(rel, RowExclusiveLock);
		return false;
	}

	/* the privileges COPY checks: INSERT on the view or the columns copied */
	pstate = make_parsestate(NULL);
	pstate->p_sourcetext = queryString;
	pstate->p_queryEnv = queryEnv;
	nsitem = addRangeTableEntryForRelation(pstate, rel, RowExclusiveLock,
										   NULL, false, false);
	nsitem->p_rte->requiredPerms = ACL_INSERT;
	foreach(lc, CopyGetAttnums(RelationGetDescr(rel), rel, stmt->attlist))
		nsitem->p_rte->insertedCols =
			bms_add_member(nsitem->p_rte->insertedCols,
						   lfirst_int(lc) - FirstLowInvalidHeapAttributeNumber);
	ExecCheckRTPerms(pstate->p_rtable, true);

	/* as the trigger function would run: with evlog's search_path */
	nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp",
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
							 true, 0, false);

	cstate = BeginCopyFrom(pstate, rel, NULL, NULL, false, NULL,
						   stmt->attlist, stmt->options);
	estate = CreateExecutorState();
	econtext = GetPerTupleExprContext(estate);
	values = palloc_array(Datum, RelationGetDescr(rel)->natts);
	nulls = palloc_array(bool, RelationGetDescr(rel)->natts);

	errcallback.callback = CopyFromErrorCallback;
	errcallback.arg = cstate;
	errcallback.previous = error_context_stack;
	error_context_stack = &errcallback;

	evlog_append_begin(&ac, NULL, true);
	for (;;)
	{
		EvlogAppendRequest req;
		MemoryContext oldcxt;

		CHECK_FOR_INTERRUPTS();
		ResetPerTupleExprContext(estate);
		oldcxt = MemoryContextSwitchTo(GetPerTupleMemoryContext(estate));
		if (!NextCopyFrom(cstate, econtext, values, nulls))
		{
			MemoryContextSwitchTo(oldcxt);
			break;
		}
		/* column 1 is seq, which the append sets; the request follows */
		evlog_fill_request(&req, values + 1, nulls + 1);
		(void) evlog_append_one(&ac, &req);
		MemoryContextSwitchTo(oldcxt);
		pgstat_progress_update_param(PROGRESS_COPY_TUPLES_PROCESSED, ++processed);
	}
	evlog_append_end(&ac);

	error_context_stack = errcallback.previous;
	EndCopyFrom(cstate);
	FreeExecutorState(estate);
	AtEOXact_GUC(true, nestlevel);
	table_close(rel, NoLock);

	if (qc)
		SetQueryCompletion(qc, CMDTAG_COPY, processed);
	return true;
}
