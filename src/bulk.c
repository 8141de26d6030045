/*-------------------------------------------------------------------------
 *
 * bulk.c
 *	  The bulk paths into the log: evlog_append_batch() and the INSTEAD OF
 *	  INSERT trigger of the view evlog.append_queue (INSERT and COPY).  Each
 *	  event goes through the sequencer exactly as evlog_append's does.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/typcache.h"

#include "evlog.h"
#include "sequencer.h"
#include "stats.h"
#include "subxact.h"

PG_FUNCTION_INFO_V1(evlog_append_batch);
PG_FUNCTION_INFO_V1(evlog_append_queue_insert);

/*
 * batch_error_context
 *		Error context of evlog_append_batch: which element of the array.
 */
static void
batch_error_context(void *arg)
{
	errcontext("event %d of the batch", *(int *) arg + 1);
}

/*
 * append_all
 *		Append the n checked requests in order, setting seqs (when not
 *		NULL); *current tells the error context which one is being appended.  The caller holds the
 *		sequencer (evlog_append_begin).  Raises what evlog_append_one raises.
 */
static void
append_all(AppendContext *ac, EvlogAppendRequest *reqs, int n, Datum *seqs,
		   MemoryContext eventcxt, int *current)
{
	for (int i = 0; i < n; i++)
	{
		MemoryContext oldcxt = MemoryContextSwitchTo(eventcxt);
		int64		seq;

		CHECK_FOR_INTERRUPTS();
		*current = i;
		seq = evlog_append_one(ac, &reqs[i]);
		if (seqs)
			seqs[i] = Int64GetDatum(seq);
		MemoryContextSwitchTo(oldcxt);
		MemoryContextReset(eventcxt);
	}
}

/* The arguments of append_all, for evlog_try_in_subxact */
typedef struct AppendWork
{
	AppendContext *ac;
	EvlogAppendRequest *reqs;
	int			n;
	Datum	   *seqs;
	MemoryContext eventcxt;
	int		   *current;
} AppendWork;

/*
 * append_work
 *		append_all of an AppendWork.
 */
static void
append_work(void *arg)
{
	AppendWork *w = (AppendWork *) arg;

	append_all(w->ac, w->reqs, w->n, w->seqs, w->eventcxt, w->current);
}

/*
 * append_all_optimistic
 *		Try append_all without looking each idempotency key up first, in a
 *		subtransaction: when no key is in the log or twice in the batch, the
 *		outcome is the same, and the unique index on the key checks that as
 *		it inserts.  On any error (a key that exists, a wrong expected
 *		version, anything else) the subtransaction is rolled back and false
 *		returned, for the caller to append again with every lookup, which
 *		gives each event its evlog_append semantics and the right error.
 *
 * Only taken with at least one key and no sync projection (whose handlers
 * would otherwise run twice).  A query cancel propagates.
 */
static bool
append_all_optimistic(AppendContext *ac, EvlogAppendRequest *reqs, int n,
					  Datum *seqs, MemoryContext eventcxt, int *current)
{
	AppendWork	w = {ac, reqs, n, seqs, eventcxt, current};
	ErrorData  *edata;
	bool		any_key = false;
	EvlogStatsMark mark;

	for (int i = 0; i < n && !any_key; i++)
		any_key = reqs[i].idempotency_key != NULL;
	if (!any_key || ac->sync_projections != NIL)
		return false;

	ac->skip_key_probe = true;
	evlog_stats_mark(&mark);
	edata = evlog_try_in_subxact(append_work, &w, true);
	ac->skip_key_probe = false;
	if (edata == NULL)
		return true;
	FreeErrorData(edata);
	evlog_stats_undo(&mark);	/* the careful append counts it all */
	MemoryContextReset(eventcxt);
	/* what the rolled-back appends taught the context is void */
	ac->have_head = false;
	ac->appended = false;
	return false;
}

/*
 * evlog_append_many
 *		Append the n checked requests in order, each with evlog_append's
 *		semantics, setting seqs (when not NULL): append_all_optimistic, else
 *		append_all.  *current tells an error context which request is being
 *		appended.  The caller holds the sequencer (evlog_append_begin);
 *		eventcxt is reset after each event.  Raises what evlog_append
 *		raises.
 */
void
evlog_append_many(AppendContext *ac, EvlogAppendRequest *reqs, int n,
				  Datum *seqs, MemoryContext eventcxt, int *current)
{
	if (!append_all_optimistic(ac, reqs, n, seqs, eventcxt, current))
		append_all(ac, reqs, n, seqs, eventcxt, current);
}

/*
 * evlog_append_batch(events evlog.new_event[]) RETURNS bigint[]
 *
 * Append the events of the array in order, each with evlog_append's
 * semantics, and return their seqs in the same order.  All are checked
 * before the sequencer is taken; one failure fails the whole call
 * (evlog_append_many).  Locks and errors as evlog_append; a NULL element is
 * EV004.  Declared STRICT; called with a NULL array all the same (a
 * declaration changed by hand), raises 22004.
 */
Datum
evlog_append_batch(PG_FUNCTION_ARGS)
{
	ArrayType  *arr;
	Oid			elemtype;
	TupleDesc	tupdesc;
	Datum	   *elems;
	bool	   *elemnulls;
	int			nelems;
	EvlogAppendRequest *reqs;
	Datum	   *seqs;
	AppendContext ac;
	MemoryContext eventcxt;
	ErrorContextCallback errcallback;
	int			current = 0;

	if (PG_NARGS() != 1 || PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("events must not be null"),
				 errdetail("evlog_append_batch() takes one array of evlog.new_event.")));
	arr = PG_GETARG_ARRAYTYPE_P(0);
	elemtype = ARR_ELEMTYPE(arr);
	tupdesc = lookup_rowtype_tupdesc(elemtype, -1);
	if (tupdesc->natts != EVLOG_REQUEST_FIELDS)
		elog(ERROR, "evlog.new_event has %d fields, expected %d",
			 tupdesc->natts, EVLOG_REQUEST_FIELDS);
	deconstruct_array(arr, elemtype, -1, false, TYPALIGN_DOUBLE,
					  &elems, &elemnulls, &nelems);

	errcallback.callback = batch_error_context;
	errcallback.arg = &current;
	errcallback.previous = error_context_stack;
	error_context_stack = &errcallback;

	reqs = palloc_array(EvlogAppendRequest, nelems);
	for (int i = 0; i < nelems; i++)
	{
		HeapTupleData tmp;
		Datum		values[EVLOG_REQUEST_FIELDS];
		bool		nulls[EVLOG_REQUEST_FIELDS];

		if (elemnulls[i])
		{
			evlog_stats_add(EVLOG_STAT_REJECTED, 1);
			ereport(ERROR,
					(errcode(ERRCODE_EVLOG_INVALID_EVENT),
					 errmsg("invalid event argument \"events\""),
					 errdetail("Element %d of the array is null.", i + 1)));
		}
		current = i;
		tmp.t_len = HeapTupleHeaderGetDatumLength(DatumGetHeapTupleHeader(elems[i]));
		tmp.t_data = DatumGetHeapTupleHeader(elems[i]);
		heap_deform_tuple(&tmp, tupdesc, values, nulls);
		evlog_fill_request(&reqs[i], values, nulls);
	}
	ReleaseTupleDesc(tupdesc);

	seqs = palloc_array(Datum, Max(nelems, 1));
	eventcxt = AllocSetContextCreate(CurrentMemoryContext, "evlog append",
									 ALLOCSET_DEFAULT_SIZES);
	evlog_append_begin(&ac, NULL, true);
	evlog_append_many(&ac, reqs, nelems, seqs, eventcxt, &current);
	evlog_append_end(&ac);
	MemoryContextDelete(eventcxt);
	error_context_stack = errcallback.previous;

	PG_RETURN_ARRAYTYPE_P(construct_array(seqs, nelems, INT8OID, sizeof(int64),
										  FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/*
 * evlog_append_queue_insert()
 *		INSTEAD OF INSERT row trigger of the view evlog.append_queue: append
 *		the row as evlog_append would, and return it with seq set, so that
 *		INSERT ... RETURNING seq works.
 *
 * Refuses (EV004) to run on any relation but evlog.append_queue.  Locks and
 * errors as evlog_append.
 */
Datum
evlog_append_queue_insert(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Relation	view;
	TupleDesc	desc;
	Datum		values[EVLOG_REQUEST_FIELDS + 1];
	bool		nulls[EVLOG_REQUEST_FIELDS + 1];
	EvlogAppendRequest req;
	AppendContext ac;
	int			col = 1;
	Datum		seq;
	bool		seq_null = false;

	if (!CALLED_AS_TRIGGER(fcinfo) ||
		!TRIGGER_FIRED_INSTEAD(trigdata->tg_event) ||
		!TRIGGER_FIRED_BY_INSERT(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event))
		elog(ERROR, "evlog.append_queue_insert() must be an INSTEAD OF INSERT row trigger");
	view = trigdata->tg_relation;
	if (strcmp(RelationGetRelationName(view), "append_queue") != 0 ||
		strcmp(get_namespace_name(RelationGetNamespace(view)), EVLOG_SCHEMA) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_EVLOG_INVALID_EVENT),
				 errmsg("evlog.append_queue_insert() only serves the view evlog.append_queue")));

	desc = RelationGetDescr(view);
	heap_deform_tuple(trigdata->tg_trigtuple, desc, values, nulls);
	evlog_fill_request(&req, values + 1, nulls + 1);

	evlog_append_begin(&ac, NULL, true);
	seq = Int64GetDatum(evlog_append_one(&ac, &req));
	evlog_append_end(&ac);

	return PointerGetDatum(heap_modify_tuple_by_cols(trigdata->tg_trigtuple, desc,
													 1, &col, &seq, &seq_null));
}

