/*-------------------------------------------------------------------------
 *
 * copy.c
 *	  COPY ... FROM STDIN into evlog.append_queue without a trigger call
 *	  per row.
 *
 * PostgreSQL copies into a view by calling its INSTEAD OF trigger for every
 * row; evlog's trigger then sets an append up, appends one event and tears
 * the append down again.  A loader's COPY of many rows pays that per row.
 * The utility hook (utility.c) hands a COPY FROM STDIN into evlog.append_queue
 * here instead: the rows are read with PostgreSQL's own COPY parser
 * (BeginCopyFrom / NextCopyFrom, so formats, options, column lists and the
 * view's column defaults behave as in any COPY), checked, and appended
 * EVLOG_COPY_CHUNK at a time through one append set-up, as
 * evlog_append_batch appends (evlog_append_many), with the same checks and
 * errors as the trigger, in COPY's error context ("COPY append_queue, line
 * N: ..."), the line being that of the row whose append failed.
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
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "parser/parse_relation.h"
#include "pgstat.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "evlog.h"
#define EVLOG_COMPAT_COPYFROM
#include "compat.h"
#include "copy.h"
#include "oidcache.h"
#include "sequencer.h"

/* Rows read before they are appended together */
#define EVLOG_COPY_CHUNK 1000

/* Longest part of a line an error context shows, as COPY's own does */
#define EVLOG_COPY_LINE_DISPLAY 100

/* Where the rows of a chunk came from, for the error context */
typedef struct CopyChunk
{
	const char *relname;
	uint64		linenos[EVLOG_COPY_CHUNK];
	char	   *lines[EVLOG_COPY_CHUNK];	/* NULL in binary format */
	int			current;		/* the row being appended */
} CopyChunk;

/*
 * chunk_error_context
 *		Error context while a chunk is appended: the row's line, as
 *		CopyFromErrorCallback shows a line being read.
 */
static void
chunk_error_context(void *arg)
{
	CopyChunk  *chunk = (CopyChunk *) arg;
	const char *line = chunk->lines[chunk->current];

	if (line == NULL)
		errcontext("COPY %s, line %llu", chunk->relname,
				   (unsigned long long) chunk->linenos[chunk->current]);
	else if (strlen(line) <= EVLOG_COPY_LINE_DISPLAY)
		errcontext("COPY %s, line %llu: \"%s\"", chunk->relname,
				   (unsigned long long) chunk->linenos[chunk->current], line);
	else
		errcontext("COPY %s, line %llu: \"%s...\"", chunk->relname,
				   (unsigned long long) chunk->linenos[chunk->current],
				   pnstrdup(line, pg_mbcliplen(line, strlen(line),
											   EVLOG_COPY_LINE_DISPLAY)));
}

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
 * sequencer until the end of the transaction, before the client is asked
 * for data).  Raises what COPY raises (42501 without INSERT on the view or
 * a column, 25006 in a read-only transaction, the parser's errors) and what
 * evlog_append raises, in COPY's error context.
 */
bool
evlog_copy_append_queue(CopyStmt *stmt, const char *queryString,
						QueryEnvironment *queryEnv, QueryCompletion *qc)
{
	Oid			viewid;
	Relation	rel;
	ParseState *pstate;
	ListCell   *lc;
	CopyFromState cstate;
	EState	   *estate;
	ExprContext *econtext;
	Datum	   *values;
	bool	   *nulls;
	AppendContext ac;
	CopyChunk  *chunk;
	EvlogAppendRequest *reqs;
	MemoryContext eventcxt;
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
	viewid = evlog_relid_if_exists(EVLOG_APPEND_QUEUE_VIEW);
	if (!OidIsValid(viewid) ||
		RangeVarGetRelid(stmt->relation, NoLock, true) != viewid)
		return false;
	rel = table_open(viewid, RowExclusiveLock);
	if (!only_evlog_trigger(rel))
	{
		table_close(rel, RowExclusiveLock);
		return false;
	}
	PreventCommandIfReadOnly("COPY FROM");

	/* the privileges COPY checks: INSERT on the view or the columns copied */
	pstate = evlog_copy_pstate(rel, queryString, queryEnv, stmt->attlist);

	/* as the trigger function would run: with evlog's search_path */
	nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp",
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
							 true, 0, false);

	/* before the client is asked for data: the sequencer, and its refusals */
	evlog_append_begin(&ac, NULL, true);
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

	chunk = palloc0_object(CopyChunk);
	chunk->relname = RelationGetRelationName(rel);
	reqs = palloc_array(EvlogAppendRequest, EVLOG_COPY_CHUNK);
	eventcxt = AllocSetContextCreate(CurrentMemoryContext, "evlog append",
									 ALLOCSET_DEFAULT_SIZES);
	for (;;)
	{
		ErrorContextCallback chunkcallback;
		MemoryContext oldcxt;
		int			n = 0;

		/* read and check a chunk of rows, in COPY's error context */
		ResetPerTupleExprContext(estate);
		oldcxt = MemoryContextSwitchTo(GetPerTupleMemoryContext(estate));
		while (n < EVLOG_COPY_CHUNK &&
			   NextCopyFrom(cstate, econtext, values, nulls))
		{
			CHECK_FOR_INTERRUPTS();
			/* column 1 is seq, which the append sets; the request follows */
			evlog_fill_request(&reqs[n], values + 1, nulls + 1);
			chunk->linenos[n] = evlog_copy_lineno(cstate);
			chunk->lines[n] = evlog_copy_line(cstate);
			n++;
		}
		MemoryContextSwitchTo(oldcxt);
		if (n == 0)
			break;

		/* append it, in the context of the row being appended */
		chunkcallback.callback = chunk_error_context;
		chunkcallback.arg = chunk;
		chunkcallback.previous = errcallback.previous;
		error_context_stack = &chunkcallback;
		evlog_append_many(&ac, reqs, n, NULL, eventcxt, &chunk->current);
		error_context_stack = &errcallback;
		processed += n;
		pgstat_progress_update_param(PROGRESS_COPY_TUPLES_PROCESSED, processed);
	}
	evlog_append_end(&ac);

	error_context_stack = errcallback.previous;
	MemoryContextDelete(eventcxt);
	EndCopyFrom(cstate);
	FreeExecutorState(estate);
	AtEOXact_GUC(true, nestlevel);
	table_close(rel, NoLock);

	if (qc)
		SetQueryCompletion(qc, CMDTAG_COPY, processed);
	return true;
}
