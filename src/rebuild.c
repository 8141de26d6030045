/*-------------------------------------------------------------------------
 *
 * rebuild.c
 *	  evlog_rebuild (P7): replace a projection's read model with the fold of
 *	  the whole log; and evlog_verify (P8): compare the read model with a
 *	  fresh fold up to the checkpoint, changing nothing.
 *
 * A rebuild empties the projection's tables with DELETE and folds the log
 * into them in one transaction: readers keep seeing the old read model
 * (MVCC) until it commits, and see the new one at once after, never a
 * half-built one; nothing blocks them, because DELETE and INSERT take only
 * RowExclusiveLock.  The rebuild holds the projection's registry row FOR
 * UPDATE, so the worker passes the projection over and evlog_catch_up waits;
 * both go on from the new checkpoint afterwards.  A sync projection is also
 * held by its rebuild lock: appends that start during the rebuild pass it
 * over (they neither fold nor move its checkpoint), and the rebuild, once it
 * has folded what it saw, takes the sequencer and folds the tail, so the
 * projection is at the head when it commits.  If a rebuild rolls back, the
 * next append folds what the passed-over appends missed (fold.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
#include "utils/acl.h"
#include "utils/tuplestore.h"
#include "executor/tstoreReceiver.h"
#include "executor/tuptable.h"
#include "access/tupdesc.h"

#include "evlog.h"
#include "handler.h"
#include "locks.h"
#include "projection.h"
#include "subxact.h"
#include "sequencer.h"
#include "versions.h"

PG_FUNCTION_INFO_V1(evlog_rebuild);
PG_FUNCTION_INFO_V1(evlog_verify);

/* Set by snapshot.c (versions.h) */
evlog_restore_hook_type evlog_restore_hook = NULL;

/*
 * The rebuild locks this backend holds at session level, each with the
 * subtransaction that took it (an abort of that subtransaction, a caught
 * error say, releases it: nothing outlives a failed call).
 */
#define EVLOG_MAX_REBUILDS_PER_XACT 8
typedef struct HeldRebuildLock
{
	LOCKTAG		tag;
	SubTransactionId subid;
} HeldRebuildLock;
static HeldRebuildLock held_locks[EVLOG_MAX_REBUILDS_PER_XACT];
static int	n_held_locks = 0;

/*
 * hold_rebuild_lock
 *		Take projection name's rebuild lock exclusively at session level,
 *		waiting, unless this transaction holds it already; the callbacks
 *		below release it when the transaction, or the subtransaction that
 *		took it, ends.  Errors: 54000 past EVLOG_MAX_REBUILDS_PER_XACT
 *		projections in one transaction.
 */
static void
hold_rebuild_lock(const char *name)
{
	LOCKTAG		tag;

	evlog_rebuild_locktag(&tag, name);
	for (int i = 0; i < n_held_locks; i++)
		if (memcmp(&held_locks[i].tag, &tag, sizeof(tag)) == 0)
			return;
	if (n_held_locks >= EVLOG_MAX_REBUILDS_PER_XACT)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many projections rebuilt in one transaction"),
				 errdetail("A transaction can rebuild at most %d projections.",
						   EVLOG_MAX_REBUILDS_PER_XACT)));
	(void) LockAcquire(&tag, ExclusiveLock, true, false);
	held_locks[n_held_locks].tag = tag;
	held_locks[n_held_locks].subid = GetCurrentSubTransactionId();
	n_held_locks++;
}

/*
 * rebuild_xact_callback
 *		Release the session-level rebuild locks when the rebuilding
 *		transaction ends: at commit before the transaction's own locks (the
 *		sequencer among them), so the next appender finds them free.
 */
static void
rebuild_xact_callback(XactEvent event, void *arg)
{
	if (n_held_locks > 0 && evlog_xact_ended(event))
	{
		for (int i = 0; i < n_held_locks; i++)
			LockRelease(&held_locks[i].tag, ExclusiveLock, true);
		n_held_locks = 0;
	}
}

/*
 * rebuild_subxact_callback
 *		When the subtransaction that took a rebuild lock aborts, release
 *		the lock; when it commits, its parent holds it.
 */
static void
rebuild_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						 SubTransactionId parentSubid, void *arg)
{
	for (int i = n_held_locks - 1; i >= 0; i--)
	{
		if (held_locks[i].subid != mySubid)
			continue;
		if (event == SUBXACT_EVENT_COMMIT_SUB)
			held_locks[i].subid = parentSubid;
		else if (event == SUBXACT_EVENT_ABORT_SUB)
		{
			LockRelease(&held_locks[i].tag, ExclusiveLock, true);
			held_locks[i] = held_locks[--n_held_locks];
		}
	}
}

/*
 * evlog_rebuild_init
 *		Register the (sub)transaction callbacks; called once from _PG_init.
 */
void
evlog_rebuild_init(void)
{
	RegisterXactCallback(rebuild_xact_callback, NULL);
	RegisterSubXactCallback(rebuild_subxact_callback, NULL);
}

/*
 * read_model_table_name
 *		The schema-qualified, quoted name of relid, a table of p.  42P01
 *		when it was dropped after registration, 42809 when it is no longer
 *		an ordinary table.
 */
static char *
read_model_table_name(EvlogProjection *p, Oid relid)
{
	char	   *rel = get_rel_name(relid);

	if (rel == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("a table of projection \"%s\" no longer exists", p->name),
				 errhint("Register the projection again with its current tables.")));
	evlog_check_table_kind(relid, p->name);
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)), rel);
}

/*
 * empty_read_model
 *		DELETE every row of p's tables (in reverse order of registration, so
 *		that tables referencing earlier ones go first), then run its reset
 *		function, all as p's owner through handler.c (security-restricted,
 *		own GUC nest level, p's timeout).  SPI-connected caller.  Errors:
 *		42P01, 42809 (read_model_table_name), EV005 reset function dropped, 42501 its
 *		owner may no longer execute it, and what the owner's code raises.
 */
static void
empty_read_model(EvlogProjection *p)
{
	EvlogUserCode code;

	evlog_user_code_of(p, &code);
	for (int i = list_length(p->tables) - 1; i >= 0; i--)
		evlog_exec_user_sql(&code,
							psprintf("DELETE FROM %s", read_model_table_name(p, list_nth_oid(p->tables, i))),
							NULL);
	if (OidIsValid(p->reset))
	{
		FmgrInfo	flinfo;
		bool		isnull;

		code.what = psprintf("reset function of projection \"%s\"", p->name);
		evlog_prepare_user_function(p->reset, p->owner, code.what, &flinfo);
		(void) evlog_call_user(&code, &flinfo, 0, (Datum) 0, &isnull);
	}
}

/*
 * evlog_rebuild(name text, from_snapshot boolean) RETURNS bigint
 *
 * Replace projection name's read model with the fold of the whole log (of
 * its event types) and set its checkpoint to the head, in this transaction;
 * return the number of events replayed.  With from_snapshot, the read model
 * is set to a matching snapshot instead of emptied (snapshot.c, through
 * evlog_restore_hook) and only the events after it are folded.  Clears its
 * dead letters first (after a restore only those after the snapshot's seq,
 * which the tail's fold records again; those up to it are what the
 * snapshot's read model stands on); a failed projection that rebuilds
 * cleanly becomes active.  NOTICE every
 * evlog.progress_events.  Checks ownership before any lock; then locks, in
 * this order: the projection's rebuild lock for the whole transaction (or
 * until the subtransaction that took it aborts), the registry row FOR UPDATE,
 * RowExclusiveLock on the read model's tables, and for a sync projection
 * the sequencer from the last step to the end of the transaction.  Errors: EV005, 42501, a handler's error under
 * on_error = 'stop' (nothing changes), 0A000 for a sync projection under
 * REPEATABLE READ.
 */
Datum
evlog_rebuild(PG_FUNCTION_ARGS)
{
	char	   *name;
	EvlogProjection *p;
	int64		handed = 0;
	int64		last;
	int64		from = -1;

	evlog_arg_not_null(fcinfo, 0, "name");
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	PreventCommandIfReadOnly("evlog_rebuild()");

	/*
	 * The caller's rights before any lock; then the rebuild lock before the
	 * registry row: appenders folding a sync projection hold the first and
	 * then update the second.
	 */
	(void) evlog_check_projection_owner(name);
	hold_rebuild_lock(name);
	SPI_connect();
	p = evlog_lock_projection(name, true, false);
	if (p->sync && IsolationUsesXactSnapshot())
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("evlog_rebuild of sync projection \"%s\" needs READ COMMITTED", name),
				 errdetail("The rebuild folds the events appended while it runs, which a REPEATABLE READ snapshot cannot see.")));
	evlog_prepare_handler(p);

	if (evlog_restore_hook)
		from = evlog_restore_hook(p, fcinfo);
	if (from < 0)
		empty_read_model(p);
	evlog_forget_dead_letters(name, from);

	(void) evlog_fold_range(p, Max(from, 0), evlog_head_spi(), !p->skip_on_error, 0, true,
							&handed, &last);
	if (p->sync)
	{
		/* the tail appended meanwhile, with appends held off */
		evlog_sequencer_lock();
		(void) evlog_fold_range(p, last, evlog_head_spi(), !p->skip_on_error, 0,
								true, &handed, &last);
	}

	evlog_set_checkpoint(name, last, true);
	SPI_finish();
	evlog_registry_changed();
	PG_RETURN_INT64(handed);
}

/* What verify_refold compares, and where it puts the counts */
typedef struct VerifyWork
{
	EvlogProjection *p;
	Oid		   *relids;			/* of the read-model tables, set here */
	int64	   *missing;
	int64	   *unexpected;
} VerifyWork;

/*
 * rows_as_text
 *		The rows of p's table relid as text, sorted bytewise, read as p's
 *		owner through handler.c (a view's, policy's or trigger's code there
 *		is the owner's) into a tuplestore that spills to disk past
 *		work_mem.  SPI-connected caller.
 */
static Tuplestorestate *
rows_as_text(EvlogProjection *p, Oid relid)
{
	Tuplestorestate *ts = tuplestore_begin_heap(false, false, work_mem);
	DestReceiver *dest = CreateDestReceiver(DestTuplestore);
	EvlogUserCode code;

	evlog_user_code_of(p, &code);
	SetTuplestoreDestReceiverParams(dest, ts, CurrentMemoryContext, false, NULL, NULL);
	evlog_exec_user_sql(&code,
						psprintf("SELECT r FROM (SELECT t::pg_catalog.text AS r FROM %s t) s ORDER BY r COLLATE pg_catalog.\"C\"",
								 read_model_table_name(p, relid)),
						dest);
	dest->rDestroy(dest);
	return ts;
}

/*
 * next_row_text
 *		The next text of a tuplestore filled by rows_as_text, or NULL at its
 *		end.
 */
static text *
next_row_text(Tuplestorestate *ts, TupleTableSlot *slot)
{
	bool		isnull;
	Datum		d;

	if (!tuplestore_gettupleslot(ts, true, false, slot))
		return NULL;
	d = slot_getattr(slot, 1, &isnull);
	return isnull ? cstring_to_text("") : DatumGetTextPP(d);
}

/*
 * count_differences
 *		Merge two sorted multisets of rows: *missing counts the rows of
 *		fresh that table lacks, *unexpected the rows of table that fresh
 *		lacks.  Bytewise order, as rows_as_text sorts (COLLATE "C").
 */
static void
count_differences(Tuplestorestate *table, Tuplestorestate *fresh,
				  int64 *missing, int64 *unexpected)
{
	TupleDesc	desc = CreateTemplateTupleDesc(1);
	TupleTableSlot *ts;
	TupleTableSlot *fs;
	text	   *t;
	text	   *f;

	TupleDescInitEntry(desc, 1, "r", TEXTOID, -1, 0);
	ts = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	fs = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	t = next_row_text(table, ts);
	f = next_row_text(fresh, fs);
	while (t != NULL || f != NULL)
	{
		int			c;

		if (t == NULL)
			c = 1;
		else if (f == NULL)
			c = -1;
		else
		{
			int			tl = VARSIZE_ANY_EXHDR(t);
			int			fl = VARSIZE_ANY_EXHDR(f);

			c = memcmp(VARDATA_ANY(t), VARDATA_ANY(f), Min(tl, fl));
			if (c == 0)
				c = (tl > fl) - (tl < fl);
		}
		if (c <= 0 && t != NULL && c < 0)
			(*unexpected)++;
		else if (c > 0)
			(*missing)++;
		if (c <= 0)
			t = next_row_text(table, ts);
		if (c >= 0)
			f = next_row_text(fresh, fs);
	}
	ExecDropSingleTupleTableSlot(ts);
	ExecDropSingleTupleTableSlot(fs);
}

/*
 * verify_refold
 *		Read the read model's rows, empty it, fold the log into it again up
 *		to the checkpoint, read it again, and count per table the rows
 *		missing from it and the rows it had that the fresh fold has not.
 *		Every read and write of the owner's tables runs as the owner,
 *		security-restricted (handler.c).  The caller rolls all of it back;
 *		the tuplestores live and die inside it.
 */
static void
verify_refold(void *arg)
{
	VerifyWork *w = (VerifyWork *) arg;
	EvlogProjection *p = w->p;
	int			ntables = list_length(p->tables);
	Tuplestorestate **before = palloc0_array(Tuplestorestate *, Max(ntables, 1));
	int64		handed = 0;
	int64		last;

	for (int i = 0; i < ntables; i++)
	{
		w->relids[i] = list_nth_oid(p->tables, i);
		before[i] = rows_as_text(p, w->relids[i]);
	}
	empty_read_model(p);
	(void) evlog_fold_range(p, 0, p->checkpoint, !p->skip_on_error, 0, false,
							&handed, &last);
	for (int i = 0; i < ntables; i++)
	{
		Tuplestorestate *fresh = rows_as_text(p, w->relids[i]);

		count_differences(before[i], fresh, &w->missing[i], &w->unexpected[i]);
		tuplestore_end(fresh);
		tuplestore_end(before[i]);
	}
}

/*
 * evlog_verify(name text)
 *		RETURNS TABLE(table_name regclass, missing bigint, unexpected bigint)
 *
 * Compare each table of projection name with a fresh fold of events
 * 1..checkpoint: missing counts the rows of the fresh fold that the table
 * lacks, unexpected the rows the table has that the fresh fold does not (as
 * multisets of whole rows, compared as text).  Returns a row per table that
 * differs; none means no drift.  The fresh fold is made in the live tables
 * inside a subtransaction that is rolled back, so nothing a reader can see
 * changes; the tables are read and written as the projection's owner only
 * (handler.c), never as the caller.  Ownership is checked before any lock.
 * Memory stays bounded: the rows are compared through sorted tuplestores
 * that spill to disk past work_mem.  Locks: the registry row FOR UPDATE (the worker passes the
 * projection over meanwhile), row locks on the read model until the
 * subtransaction ends, and for a sync projection the sequencer until the
 * end of the transaction.  Errors: EV005, 42501, a handler's error under
 * on_error = 'stop'.
 */
Datum
evlog_verify(PG_FUNCTION_ARGS)
{
	char	   *name;
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext cxt = CurrentMemoryContext;
	EvlogProjection *p;
	int			ntables;
	Oid		   *relids;
	int64	   *missing;
	int64	   *unexpected;
	VerifyWork	w;
	ErrorData  *edata;
	bool		sync;

	evlog_arg_not_null(fcinfo, 0, "name");
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	InitMaterializedSRF(fcinfo, 0);

	/*
	 * The caller's rights before any lock.  A sync projection's checkpoint
	 * moves with every append: hold appends off, taking the sequencer
	 * before the registry row as appenders do.
	 */
	sync = evlog_check_projection_owner(name);
	SPI_connect();
	if (sync)
		evlog_sequencer_lock();
	p = evlog_lock_projection(name, true, false);
	evlog_prepare_handler(p);
	ntables = list_length(p->tables);
	relids = MemoryContextAlloc(cxt, sizeof(Oid) * Max(ntables, 1));
	missing = MemoryContextAllocZero(cxt, sizeof(int64) * Max(ntables, 1));
	unexpected = MemoryContextAllocZero(cxt, sizeof(int64) * Max(ntables, 1));

	w.p = p;
	w.relids = relids;
	w.missing = missing;
	w.unexpected = unexpected;
	edata = evlog_try_in_subxact(verify_refold, &w, false);
	if (edata)
		ReThrowError(edata);
	SPI_finish();

	for (int i = 0; i < ntables; i++)
	{
		Datum		values[3];
		bool		nulls[3] = {false, false, false};

		if (missing[i] == 0 && unexpected[i] == 0)
			continue;
		values[0] = ObjectIdGetDatum(relids[i]);
		values[1] = Int64GetDatum(missing[i]);
		values[2] = Int64GetDatum(unexpected[i]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	PG_RETURN_VOID();
}
