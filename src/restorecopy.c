/*-------------------------------------------------------------------------
 *
 * restorecopy.c
 *	  A COPY that restores a dump into an empty log: rows in batches, the
 *	  indexes built once at the end, then the proof (README "Backup and
 *	  restore").
 *
 * pg_restore (and psql running a plain dump) loads evlog.events with
 * COPY ... FROM STDIN.  Left to PostgreSQL, that COPY inserts row by row (a
 * BEFORE ROW trigger on the table rules out COPY's batches), calls the
 * guard trigger for each row, and maintains the log's four indexes one row
 * at a time, which costs more than building them afterwards.  When the log
 * is empty, the utility hook (utility.c) hands the COPY here instead:
 *
 *	1. the privileges COPY checks, then ShareLock on the log (no one else
 *	   inserts until the transaction ends) and AccessExclusiveLock on each of
 *	   its indexes, then the sequencer (sequencer.c, as for any direct row),
 *	   in the order an append takes them, so that waiting cannot deadlock;
 *	2. the rows are read with PostgreSQL's COPY parser (BeginCopyFrom /
 *	   NextCopyFrom: formats, options, column lists and defaults as in any
 *	   COPY), checked against the table's constraints (ExecConstraints) and
 *	   inserted RESTORE_BATCH_ROWS at a time (table_multi_insert), without
 *	   index entries;
 *	3. each index is rebuilt from the table (reindex_index: a sort, and the
 *	   unique indexes refuse a duplicate seq, (stream, stream_version) or
 *	   idempotency key with 23505);
 *	4. the rows are proven whole as they come (loadproof.c), in any order:
 *	   runs of consecutive seqs, each row's link checked when the row before
 *	   it in seq is in the same run or when two runs meet, and each
 *	   stream's versions kept the same way; at the end, with the unique
 *	   indexes built, one run of seqs from 1 and one run of versions from 1
 *	   per stream make the load whole; otherwise (a check failed, or the
 *	   proof's state reached work_mem) the rows are proven again in seq
 *	   order as any direct rows are (restore.c), which names the first seq
 *	   that fails.
 *
 * An error at any step rolls the transaction back, and with it every row and
 * the new indexes: the log is left empty.  Memory is bounded: one batch of
 * rows (at most RESTORE_BATCH_ROWS rows or RESTORE_BATCH_BYTES bytes of
 * tuples), the index builds' sorts (maintenance_work_mem, spilling to disk),
 * and the proof's state (work_mem).
 *
 * Anything else runs as PostgreSQL runs it, through the guard triggers: a
 * log that is not empty, a role that does not own the log (whose INSERT
 * privilege must not let it take the locks above), a file or program, a
 * WHERE clause, FREEZE, row level security, a trigger on the log that is
 * not evlog's.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/tableam.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "commands/copy.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/rls.h"

#include "evlog.h"
#define EVLOG_COMPAT_COPYFROM
#include "compat.h"
#include "loadproof.h"
#include "oidcache.h"
#include "restore.h"
#include "restorecopy.h"
#include "sequencer.h"

/*
 * Rows inserted together: as COPY batches them (copyfrom.c's
 * MAX_BUFFERED_TUPLES and MAX_BUFFERED_BYTES).
 */
#define RESTORE_BATCH_ROWS	1000
#define RESTORE_BATCH_BYTES	65535

/*
 * only_guard_triggers
 *		Are all of rel's triggers evlog's guard triggers (evlog.guard())?
 */
static bool
only_guard_triggers(Relation rel)
{
	Oid			nsp = get_namespace_oid(EVLOG_SCHEMA, false);

	if (rel->trigdesc == NULL)
		return false;
	for (int i = 0; i < rel->trigdesc->numtriggers; i++)
	{
		Oid			fn = rel->trigdesc->triggers[i].tgfoid;

		if (get_func_namespace(fn) != nsp ||
			strcmp(get_func_name(fn), "guard") != 0)
			return false;
	}
	return true;
}

/*
 * copy_into_log_relid
 *		If stmt is a COPY FROM STDIN into evlog.events, without a WHERE
 *		clause or FREEZE, return the log's OID; else InvalidOid.  Takes no
 *		locks.
 */
static Oid
copy_into_log_relid(CopyStmt *stmt)
{
	ListCell   *lc;
	Oid			relid;

	if (!stmt->is_from || stmt->relation == NULL || stmt->filename != NULL ||
		stmt->is_program || stmt->whereClause != NULL)
		return InvalidOid;
	foreach(lc, stmt->options)
	{
		if (strcmp(((DefElem *) lfirst(lc))->defname, "freeze") == 0)
			return InvalidOid;
	}
	relid = evlog_relid_if_exists(EVLOG_EVENTS_TABLE);
	if (!OidIsValid(relid) ||
		RangeVarGetRelid(stmt->relation, NoLock, true) != relid)
		return InvalidOid;
	return relid;
}

/*
 * lock_for_build
 *		Take ShareLock on rel and AccessExclusiveLock on each of its indexes
 *		until the end of the transaction, then the sequencer (through
 *		evlog_check_direct_insert, which also begins the restore state), and
 *		return whether the log is empty.  Waits for the locks.
 */
static bool
lock_for_build(Relation rel, List *indexes)
{
	ListCell   *lc;
	EvlogHead	head;

	LockRelationOid(RelationGetRelid(rel), ShareLock);
	foreach(lc, indexes)
		LockRelationOid(lfirst_oid(lc), AccessExclusiveLock);
	evlog_check_direct_insert(rel, NULL);
	return evlog_restore_head(RelationGetRelid(rel), &head) && head.seq == 0;
}

/*
 * insert_batch
 *		Insert the n rows in slots into rel with one table_multi_insert,
 *		without index entries, in batchcxt, which is then reset; clear the
 *		slots.
 */
static void
insert_batch(Relation rel, TupleTableSlot **slots, int n, CommandId cid,
			 BulkInsertState bistate, MemoryContext batchcxt)
{
	MemoryContext oldcxt;

	if (n == 0)
		return;
	/* what the insert allocates (its array of tuples) goes with the batch */
	oldcxt = MemoryContextSwitchTo(batchcxt);
	table_multi_insert(rel, slots, n, cid, 0, bistate);
	MemoryContextSwitchTo(oldcxt);
	MemoryContextReset(batchcxt);
	for (int i = 0; i < n; i++)
		ExecClearTuple(slots[i]);
}

/*
 * load_rows
 *		Read every row of cstate, check it against rel's constraints and the
 *		load proof lp, and insert it, RESTORE_BATCH_ROWS at a time, without
 *		index entries.  Returns the number of rows.  Raises what COPY's
 *		parser and the table's constraints raise, in COPY's error context.
 */
static uint64
load_rows(CopyFromState cstate, EState *estate, ResultRelInfo *rri,
		  EvlogLoadProof *lp)
{
	Relation	rel = rri->ri_RelationDesc;
	ExprContext *econtext = GetPerTupleExprContext(estate);
	TupleTableSlot **slots = palloc_array(TupleTableSlot *, RESTORE_BATCH_ROWS);
	BulkInsertState bistate = GetBulkInsertState();
	CommandId	cid = GetCurrentCommandId(true);
	MemoryContext oldcxt = CurrentMemoryContext;
	MemoryContext batchcxt = AllocSetContextCreate(CurrentMemoryContext,
												   "evlog restore batch",
												   ALLOCSET_DEFAULT_SIZES);
	uint64		processed = 0;
	int			n = 0;
	int			bytes = 0;

	for (int i = 0; i < RESTORE_BATCH_ROWS; i++)
		slots[i] = table_slot_create(rel, NULL);
	for (;;)
	{
		TupleTableSlot *slot = slots[n];

		CHECK_FOR_INTERRUPTS();
		ResetPerTupleExprContext(estate);
		MemoryContextSwitchTo(GetPerTupleMemoryContext(estate));
		ExecClearTuple(slot);
		if (!NextCopyFrom(cstate, econtext, slot->tts_values, slot->tts_isnull))
			break;
		ExecStoreVirtualTuple(slot);
		if (rel->rd_att->constr)
			ExecConstraints(rri, slot, estate);
		/* kept until the batch is inserted, outside the per-row context */
		ExecMaterializeSlot(slot);
		evlog_loadproof_row(lp, ExecFetchSlotHeapTuple(slot, false, NULL));
		MemoryContextSwitchTo(oldcxt);
		n++;
		bytes += ExecFetchSlotHeapTuple(slot, false, NULL)->t_len;
		processed++;
		if (n == RESTORE_BATCH_ROWS || bytes >= RESTORE_BATCH_BYTES)
		{
			insert_batch(rel, slots, n, cid, bistate, batchcxt);
			n = bytes = 0;
		}
	}
	MemoryContextSwitchTo(oldcxt);
	insert_batch(rel, slots, n, cid, bistate, batchcxt);
	table_finish_bulk_insert(rel, 0);
	FreeBulkInsertState(bistate);
	MemoryContextDelete(batchcxt);
	for (int i = 0; i < RESTORE_BATCH_ROWS; i++)
		ExecDropSingleTupleTableSlot(slots[i]);
	pfree(slots);
	return processed;
}

/*
 * evlog_restore_copy
 *		Run stmt if it is a COPY FROM STDIN into an empty evlog.events that
 *		this module serves, set qc to "COPY n" and return true; else return
 *		false and leave the statement to PostgreSQL (the log's locks and the
 *		sequencer may then be held already; the guard triggers take them
 *		again as no-ops).
 *
 * Takes RowExclusiveLock and ShareLock on the log, AccessExclusiveLock on its
 * indexes, and the sequencer, all until the end of the transaction.  Raises
 * what COPY raises (42501 without INSERT on the log or a column copied,
 * 25006 in a read-only transaction, the parser's and the constraints'
 * errors), 23505 from a unique index's build, and EV001 from the proof.
 */
bool
evlog_restore_copy(CopyStmt *stmt, const char *queryString,
				   QueryEnvironment *queryEnv, QueryCompletion *qc)
{
	Oid			relid;
	Relation	rel;
	ParseState *pstate;
	ListCell   *lc;
	List	   *indexes;
	EState	   *estate;
	ResultRelInfo *rri;
	CopyFromState cstate;
	ErrorContextCallback errcallback;
	ReindexParams params = {0};
	EvlogLoadProof *lp;
	uint64		processed;

	relid = copy_into_log_relid(stmt);
	if (!OidIsValid(relid))
		return false;
	rel = table_open(relid, RowExclusiveLock);
	if (!evlog_rel_ownercheck(relid, GetUserId()) ||
		!only_guard_triggers(rel) ||
		check_enable_rls(relid, InvalidOid, true) == RLS_ENABLED ||
		RelationGetNumberOfBlocks(rel) != 0)
	{
		table_close(rel, NoLock);
		return false;
	}
	PreventCommandIfReadOnly("COPY FROM");

	/* the privileges COPY checks: INSERT on the log or the columns copied */
	pstate = evlog_copy_pstate(rel, queryString, queryEnv, stmt->attlist);

	indexes = RelationGetIndexList(rel);
	if (!lock_for_build(rel, indexes))
	{
		table_close(rel, NoLock);
		return false;
	}

	/* the rows, without index entries */
	estate = CreateExecutorState();
	ExecInitRangeTable(estate, pstate->p_rtable);
	rri = makeNode(ResultRelInfo);
	ExecInitResultRelation(estate, rri, 1);
	CheckValidResultRel(rri, CMD_INSERT);
	cstate = BeginCopyFrom(pstate, rel, NULL, NULL, false, NULL,
						   stmt->attlist, stmt->options);
	errcallback.callback = CopyFromErrorCallback;
	errcallback.arg = cstate;
	errcallback.previous = error_context_stack;
	error_context_stack = &errcallback;
	lp = evlog_loadproof_begin(rel);
	processed = load_rows(cstate, estate, rri, lp);
	error_context_stack = errcallback.previous;
	EndCopyFrom(cstate);
	ExecCloseResultRelations(estate);
	ExecCloseRangeTableRelations(estate);
	FreeExecutorState(estate);

	/* the indexes, each built once from the rows */
	CommandCounterIncrement();
	foreach(lc, indexes)
		reindex_index(lfirst_oid(lc), false, rel->rd_rel->relpersistence,
					  &params);
	CommandCounterIncrement();

	/* the proof: what the load could not check, checked now */
	evlog_loadproof_end(lp, rel);
	table_close(rel, NoLock);

	if (qc)
		SetQueryCompletion(qc, CMDTAG_COPY, processed);
	return true;
}
