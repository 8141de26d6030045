/*-------------------------------------------------------------------------
 *
 * fold.c
 *	  Folding events into projections: calling a handler as the role that
 *	  registered it (P6), the sync fold inside evlog_append (P3), and
 *	  evlog_fold(), which the worker and evlog_catch_up use to fold from a
 *	  checkpoint with the checkpoint committed in the same transaction (P1),
 *	  in seq order (P2), each event isolated in a subtransaction (P5).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "evlog.h"
#include "handler.h"
#include "locks.h"
#include "contracts.h"
#include "logscan.h"
#include "projection.h"
#include "sequencer.h"
#include "stats.h"
#include "subxact.h"
#include "versions.h"

/* evlog.progress_events: a rebuild reports progress every this many events */
static int	evlog_progress_events = 100000;

/* evlog.batch_size: events a worker or evlog_catch_up reads per batch */
static int	evlog_batch_size = 1000;

PG_FUNCTION_INFO_V1(evlog_catch_up);
PG_FUNCTION_INFO_V1(evlog_appended_here);

/*
 * evlog_prepare_handler
 *		Look the handler up for calling.  Raises EV005 when it was dropped
 *		after registration, 42501 when its owner lost EXECUTE on it.
 */
void
evlog_prepare_handler(EvlogProjection *p)
{
	evlog_prepare_user_function(p->handler, p->owner, p->what, &p->flinfo);
}

/*
 * evlog_user_code_of
 *		How p's handler and reset function run: as p's owner, under p's
 *		timeout (handler.c).
 */
void
evlog_user_code_of(EvlogProjection *p, EvlogUserCode *code)
{
	code->owner = p->owner;
	code->timeout_ms = p->timeout_ms;
	code->what = p->what;
}

/*
 * evlog_call_handler
 *		Call p's handler (prepared) with one event row, as p's owner, in a
 *		security-restricted operation and GUC nest level of its own, under
 *		p's timeout (handler.c); a projection that asked for upcasting gets
 *		the row at its type's latest version, each upcaster under the same
 *		timeout.  Errors propagate.
 */
static void
evlog_call_handler(EvlogProjection *p, Datum row)
{
	EvlogUserCode code;
	bool		isnull;

	evlog_user_code_of(p, &code);
	if (p->upcast)
		row = evlog_upcast_row(row, p->timeout_ms);
	(void) evlog_call_user(&code, &p->flinfo, 1, row, &isnull);
	evlog_stats_count_fold();
}

/*
 * evlog_sync_prepare
 *		Get the active sync projections ready for an appending call: pass
 *		over those being rebuilt (their rebuild lock is taken), and take the
 *		rebuild lock in share mode on the others, until the end of the
 *		transaction, so that a rebuild starting now waits for this append.
 *		The caller holds the sequencer.
 */
void
evlog_sync_prepare(List *projections)
{
	ListCell   *lc;

	foreach(lc, projections)
	{
		EvlogProjection *p = lfirst(lc);

		p->skip = !evlog_rebuild_lock_shared(p->name);
		if (!p->skip)
			evlog_prepare_handler(p);
	}
}

/*
 * evlog_sync_fold
 *		Fold one just-written event, seq, into every active sync projection
 *		that is not being rebuilt and wants its type (P3).  A projection whose
 *		checkpoint is behind seq - 1 (a rebuild that rolled back after
 *		appends passed it over) first folds what it missed.  A handler error
 *		fails the append.
 */
void
evlog_sync_fold(List *projections, HeapTuple tuple, TupleDesc desc, text *type,
				int64 seq)
{
	ListCell   *lc;
	Datum		row = (Datum) 0;
	int			nestlevel = -1;

	foreach(lc, projections)
	{
		EvlogProjection *p = lfirst(lc);

		if (p->skip)
			continue;
		if (p->checkpoint < seq - 1)
		{
			int64		handed = 0;
			int64		last;

			SPI_connect();
			(void) evlog_fold_range(p, p->checkpoint, seq - 1, true, 0, false,
									&handed, &last);
			SPI_finish();
		}
		p->checkpoint = seq;
		if (!evlog_projection_wants(p, type))
			continue;
		if (row == (Datum) 0)
		{
			row = heap_copy_tuple_as_datum(tuple, desc);
			nestlevel = evlog_user_scope_begin();
		}
		evlog_call_handler(p, row);
	}
	if (nestlevel >= 0)
		evlog_scope_end(nestlevel);
}

/* The events fold_in_subxact hands over */
typedef struct FoldWork
{
	EvlogProjection *p;
	EvlogBatch *batch;
	int			first;
	int			n;
} FoldWork;

/*
 * fold_events
 *		Call the handler for the events of a FoldWork, in order.
 */
static void
fold_events(void *arg)
{
	FoldWork   *w = (FoldWork *) arg;

	for (int i = w->first; i < w->first + w->n; i++)
	{
		CHECK_FOR_INTERRUPTS();
		evlog_call_handler(w->p, w->batch->rows[i]);
	}
}

/*
 * fold_in_subxact
 *		Call the handler for the n events of batch from index first on, in
 *		one subtransaction.  Returns NULL when all succeeded, else the
 *		message of the handler's error (the subtransaction has rolled back).
 *		A query cancel is the session's, not the handler's: it propagates.
 */
static char *
fold_in_subxact(EvlogProjection *p, EvlogBatch *batch, int first, int n)
{
	FoldWork	w = {p, batch, first, n};
	ErrorData  *edata = evlog_try_in_subxact(fold_events, &w, true);
	char	   *message;

	if (edata == NULL)
		return NULL;
	message = pstrdup(edata->message);
	FreeErrorData(edata);
	return message;
}

/*
 * record_failure
 *		on_error = 'skip': write a dead letter (evlog_record_dead_letter).
 *		'stop': mark the projection failed at seq (evlog_mark_failed).  Both
 *		in projection_rows.c.  The caller is SPI-connected.
 */
static void
record_failure(EvlogProjection *p, int64 seq, const char *message)
{
	evlog_stats_add(EVLOG_STAT_FOLD_FAILURES, 1);
	if (!p->skip_on_error)
	{
		evlog_mark_failed(p->name, seq, message);
		return;
	}
	evlog_record_dead_letter(p->name, seq, message);
	evlog_stats_add(EVLOG_STAT_DEAD_LETTERS, 1);
}

/*
 * evlog_fold_range
 *		Hand the events in (after, upto] that p wants to its handler, in seq
 *		order, reading evlog.batch_size at a time, at most limit events
 *		(0: no limit).  strict lets a handler error propagate; otherwise each
 *		batch runs in a subtransaction, and a batch that fails runs again
 *		with each event in a subtransaction of its own, so that a failing
 *		event is isolated and recorded as on_error says ('skip': dead
 *		letter and go on; 'stop': projection failed, and the fold ends before
 *		the event).  Events are read by evlog_read_batch (logscan.c).  After
 *		each batch evlog.progress is updated (progress.c); with progress (a
 *		rebuild), a NOTICE every evlog.progress_events events, at most one
 *		every evlog.progress_notice_interval.  The caller
 *		is SPI-connected (record_failure) and has prepared the handler.
 *
 * *handed counts the events given to the handler; *last is the seq up to
 * which p has folded or passed over (upto when the range is exhausted).
 * Returns false when a 'stop' failure ended the fold.
 */
bool
evlog_fold_range(EvlogProjection *p, int64 after, int64 upto, bool strict,
				 int64 limit, bool progress, int64 *handed, int64 *last)
{
	MemoryContext batchcxt;
	int			nestlevel;
	bool		failed = false;
	int64		next_notice = evlog_progress_events;

	*last = after;
	batchcxt = AllocSetContextCreate(CurrentMemoryContext, "evlog fold batch",
									 ALLOCSET_DEFAULT_SIZES);
	nestlevel = evlog_user_scope_begin();
	while (*last < upto && !failed && (limit == 0 || *handed < limit))
	{
		int64		max = evlog_batch_size;
		EvlogBatch	batch;
		MemoryContext oldcxt;

		if (limit > 0 && limit - *handed < max)
			max = limit - *handed;
		oldcxt = MemoryContextSwitchTo(batchcxt);
		evlog_read_batch(p, *last, upto, (int) max, &batch);
		MemoryContextSwitchTo(oldcxt);

		/*
		 * Isolated folds try the whole batch in one subtransaction first;
		 * only a batch that fails is folded again event by event, each in a
		 * subtransaction of its own, to find and isolate the failing event.
		 */
		if (!strict && batch.n > 0 && fold_in_subxact(p, &batch, 0, batch.n) == NULL)
			*handed += batch.n;
		else
		{
			for (int i = 0; i < batch.n; i++)
			{
				char	   *message = NULL;

				CHECK_FOR_INTERRUPTS();
				(*handed)++;
				if (strict)
					evlog_call_handler(p, batch.rows[i]);
				else
					message = fold_in_subxact(p, &batch, i, 1);
				if (message)
				{
					record_failure(p, batch.seqs[i], message);
					if (!p->skip_on_error)
					{
						failed = true;
						break;
					}
				}
				*last = batch.seqs[i];
			}
		}
		/* the events of other types passed over count as folded too */
		if (!failed)
			*last = batch.scanned_to;
		MemoryContextReset(batchcxt);
		evlog_progress_report(p, after, *last, upto, progress);
		if (progress && *handed >= next_notice &&
			evlog_progress_notice_due(next_notice == evlog_progress_events))
		{
			ereport(NOTICE,
					(errmsg("projection \"%s\": " INT64_FORMAT " events replayed, at seq " INT64_FORMAT " of " INT64_FORMAT,
							p->name, *handed, *last, upto)));
			next_notice += evlog_progress_events;
		}
	}
	evlog_scope_end(nestlevel);
	MemoryContextDelete(batchcxt);
	return !failed;
}

/*
 * evlog_spi_bigint
 *		The bigint that sql (one row, one column, not null) returns, read
 *		with a new snapshot under READ COMMITTED.  SPI-connected caller.
 */
static int64
evlog_spi_bigint(const char *sql)
{
	bool		isnull;

	if (evlog_exec_own_sql(sql, 0, NULL, NULL, NULL, 1, InvalidOid) != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed: %s", sql);
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/*
 * evlog_head_spi
 *		The head as a new snapshot sees it (under READ COMMITTED; the
 *		transaction's under REPEATABLE READ).  SPI-connected caller.
 */
int64
evlog_head_spi(void)
{
	return evlog_spi_bigint("SELECT coalesce(max(seq), 0) FROM " EVLOG_QUALIFIED(EVLOG_EVENTS_TABLE));
}

/*
 * evlog_fold
 *		Fold projection name from its checkpoint, in the current transaction.
 *
 * EVLOG_FOLD_WORKER folds one batch of an active async projection, passing
 * over one that another session has locked (a rebuild, a catch-up, another
 * worker batch); EVLOG_FOLD_CATCH_UP and EVLOG_FOLD_STRICT fold to the head
 * as this transaction sees it, waiting for the registry row.  The worker and
 * catch-up isolate each event and apply on_error; STRICT lets a handler
 * error fail the call.  The new checkpoint is written in the same
 * transaction.  *more (if given) says whether events remain.  Returns the
 * number of events handed to the handler.  Locks the registry row FOR
 * UPDATE.
 */
int64
evlog_fold(const char *name, EvlogFoldMode mode, bool *more)
{
	int64		handed = 0;
	int64		last;
	int64		head;
	EvlogProjection *p;

	SPI_connect();
	p = evlog_lock_projection(name, false, mode == EVLOG_FOLD_WORKER);
	if (p == NULL || p->state != 'a' || (mode == EVLOG_FOLD_WORKER && p->sync))
	{
		SPI_finish();
		if (more)
			*more = false;
		return 0;
	}
	evlog_prepare_handler(p);
	head = evlog_head_spi();
	(void) evlog_fold_range(p, p->checkpoint, head, mode == EVLOG_FOLD_STRICT,
							mode == EVLOG_FOLD_WORKER ? evlog_batch_size : 0,
							false, &handed, &last);
	if (last != p->checkpoint)
		evlog_set_checkpoint(name, last, false);
	SPI_finish();
	if (more)
		*more = last < head;
	return handed;
}

/*
 * evlog_catch_up(name text) RETURNS bigint
 *
 * Fold a projection up to the head in this session, as the worker would.
 * Returns the number of events handed to the handler.  Checks ownership
 * first, then takes the registry row (waiting for a worker batch).  Errors:
 * 22004 null name; EV005 unknown, paused or failed projection; 42501 not
 * the owner.
 */
Datum
evlog_catch_up(PG_FUNCTION_ARGS)
{
	char	   *name;
	EvlogProjection *p;
	bool		sync;
	char		state;

	evlog_arg_not_null(fcinfo, 0, "name");
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	(void) evlog_check_projection_owner(name);
	SPI_connect();
	p = evlog_lock_projection(name, true, false);
	sync = p->sync;
	state = p->state;
	SPI_finish();
	if (state != 'a')
		ereport(ERROR,
				(errcode(ERRCODE_EVLOG_PROJECTION_STATE),
				 errmsg("projection \"%s\" is %s", name,
						state == 'p' ? "paused" : "failed"),
				 errhint("evlog_resume('%s') makes it active again.", name)));
	/* a sync projection is always at the head */
	if (sync)
		PG_RETURN_INT64(0);
	PG_RETURN_INT64(evlog_fold(name, EVLOG_FOLD_CATCH_UP, NULL));
}

/*
 * evlog.appended_here(seq bigint) RETURNS boolean
 *
 * Was event seq appended by the current transaction (or one of its
 * subtransactions), so that no other session, the worker included, can see
 * it before this transaction commits?  False for NULL, for an event of
 * another transaction, and for a seq not in the log.  evlog_wait asks it
 * before it waits.  Reads evlog.events as the caller (SELECT needed).
 */
Datum
evlog_appended_here(PG_FUNCTION_ARGS)
{
	Oid			argtypes[1] = {INT8OID};
	Datum		args[1];
	bool		here = false;

	if (PG_ARGISNULL(0))
		PG_RETURN_BOOL(false);
	args[0] = PG_GETARG_DATUM(0);
	SPI_connect();
	if (evlog_exec_own_sql("SELECT xmin FROM " EVLOG_QUALIFIED(EVLOG_EVENTS_TABLE) " WHERE seq = $1",
						   1, argtypes, args, NULL, 1, InvalidOid) == SPI_OK_SELECT &&
		SPI_processed > 0)
	{
		bool		isnull;
		Datum		xmin = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		here = !isnull && TransactionIdIsCurrentTransactionId(DatumGetTransactionId(xmin));
	}
	SPI_finish();
	PG_RETURN_BOOL(here);
}

/*
 * evlog_fold_batch_size
 *		evlog.batch_size: the events a worker folds per batch (and per
 *		transaction).  For the version build's promote, which calls a
 *		version "at the head" within one batch of it.  Takes no locks.
 */
int
evlog_fold_batch_size(void)
{
	return evlog_batch_size;
}

/*
 * evlog_fold_init
 *		Define the GUCs of this module; called from _PG_init before the
 *		"evlog" prefix is reserved.  Takes no locks.
 */
void
evlog_fold_init(void)
{
	DefineCustomIntVariable("evlog.batch_size",
							"Events an evlog worker or evlog_catch_up folds per batch (and, for the worker, per transaction).",
							NULL,
							&evlog_batch_size,
							1000, 1, 1000000,
							PGC_SIGHUP, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("evlog.progress_events",
							"evlog_rebuild sends a NOTICE with its progress every this many events.",
							NULL,
							&evlog_progress_events,
							100000, 1, INT_MAX,
							PGC_USERSET, 0,
							NULL, NULL, NULL);
}
