/*-------------------------------------------------------------------------
 *
 * sequencer.c
 *	  evlog_append and its bulk forms: the only way events enter the log.
 *
 * How the log's guarantees (README, "How it works") are kept:
 *
 * - G1 gapless and G2 prefix visibility.  An appending transaction takes the
 *	 sequencer, a transaction-scoped heavyweight lock, at its first append
 *	 and keeps it to the end.  PostgreSQL releases heavyweight locks only
 *	 after the commit is visible to other snapshots (ProcArrayEndTransaction
 *	 runs first), so the next appender reads the head only once the previous
 *	 appender's events are visible: seq n + 1 never commits before n, and an
 *	 aborted append leaves nothing behind to skip over.
 * - The head, stream versions and idempotency keys are read with SnapshotSelf
 *	 while the sequencer is held: that sees every committed event and this
 *	 transaction's own, whatever the statement's snapshot (the READ COMMITTED
 *	 trap the README's "How it works" describes).  Under REPEATABLE READ or SERIALIZABLE an
 *	 append whose snapshot does not see the head fails with 40001, because
 *	 it would otherwise see its own event n + 1 without n.
 * - G6: recorded_at is the clock at sequencing, raised to the head's when the
 *	 clock went back.  G7: the digest is chained to the head's (chain.c).
 *
 * Everything that can be checked without the log (the arguments) is checked
 * before the sequencer is taken, so that the lock is held as briefly as the
 * guarantees allow: from the first append to the end of the transaction.
 *
 * head.c reads the head, stream versions and idempotency keys under the
 * sequencer; notify.c announces a committed append (NOTIFY, the worker).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/guc.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "storage/lmgr.h"
#include "tcop/utility.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/inval.h"
#include "utils/typcache.h"

#include "evlog.h"
#include "head.h"
#include "notify.h"
#include "locks.h"
#include "chain.h"
#include "commit.h"
#include "contracts.h"
#include "event.h"
#include "follower.h"
#include "projection.h"
#include "restore.h"
#include "seqstate.h"
#include "sequencer.h"
#include "shmem.h"
#include "stats.h"

PG_FUNCTION_INFO_V1(evlog_append);

/*
 * evlog_fill_request
 *		Fill req from the seven writer-supplied fields, in the order of
 *		evlog_append's arguments, and check them and their event type's
 *		contract (EV004).  Does not take the sequencer.
 */
void
evlog_fill_request(EvlogAppendRequest *req, Datum *values, bool *nulls)
{
	memset(req, 0, sizeof(*req));
	if (!nulls[0])
		req->stream = DatumGetTextPP(values[0]);
	if (!nulls[1])
		req->type = DatumGetTextPP(values[1]);
	if (!nulls[2])
		req->payload = DatumGetJsonbP(values[2]);
	if (!nulls[3])
		req->metadata = DatumGetJsonbP(values[3]);
	if (!nulls[4])
		req->idempotency_key = DatumGetTextPP(values[4]);
	req->has_expected_version = !nulls[5];
	if (!nulls[5])
		req->expected_version = DatumGetInt64(values[5]);
	if (!nulls[6])
		req->type_version = DatumGetInt32(values[6]);

	evlog_stats_checking(true);
	evlog_check_request(req, nulls[0], nulls[1], nulls[2], nulls[3], nulls[6]);
	evlog_check_contract(req);
	evlog_stats_checking(false);
}

/*
 * evlog_append_begin
 *		Open the log (RowExclusiveLock) and its indexes for appending, and
 *		take the sequencer.  With for_insert false only the lookups are set
 *		up (the direct-insert check, whose caller inserts).
 *
 * Raises 25006 on a standby or in a read-only transaction, 55000 when the
 * columns of evlog.events are not where evlog.h says (oidcache.c).
 */
void
evlog_append_begin(AppendContext *ac, Relation rel, bool for_insert)
{
	memset(ac, 0, sizeof(*ac));

	PreventCommandIfReadOnly("evlog_append()");
	PreventCommandDuringRecovery("evlog_append()");
	if (evlog_in_handler > 0)
		ereport(ERROR,
				(errcode(ERRCODE_EVLOG_PROJECTION_STATE),
				 errmsg("a projection handler cannot append to the log"),
				 errdetail("Handlers fold events into read models; an event they appended would be folded again."),
				 errhint("Append from the application, or from a trigger on the read model.")));

	if (rel)
		evlog_check_events_columns(RelationGetRelid(rel));
	ac->rel = rel ? rel : table_open(evlog_events_relid(), RowExclusiveLock);
	ac->pkey = index_open(evlog_relid(EVLOG_EVENTS_PKEY), RowExclusiveLock);
	ac->stream_idx = index_open(evlog_relid(EVLOG_EVENTS_STREAM_IDX),
								RowExclusiveLock);
	ac->key_idx = index_open(evlog_relid(EVLOG_EVENTS_KEY_IDX),
							 RowExclusiveLock);
	if (for_insert)
	{
		ac->estate = CreateExecutorState();
		ac->rri = makeNode(ResultRelInfo);
		InitResultRelInfo(ac->rri, ac->rel, 1, NULL, 0);
		ExecOpenIndices(ac->rri, false);
		ac->slot = ExecInitExtraTupleSlot(ac->estate, RelationGetDescr(ac->rel),
										  &TTSOpsHeapTuple);
		ac->actor = cstring_to_text(GetUserNameFromId(GetUserId(), false));
	}

	/* try first: only a real wait reads the clock (evlog.stats) */
	if (!evlog_sequencer_try_lock())
	{
		instr_time	start = evlog_stats_wait_begin();

		evlog_sequencer_lock();
		evlog_stats_wait_end(start);
	}

	/*
	 * The sync projections, as committed: registry changes take the
	 * sequencer too, so none is half-way while this call holds it, and
	 * their invalidation (processed here) says whether there are any.
	 */
	AcceptInvalidationMessages();
	if (for_insert)
		evlog_follower_refuse_append(RelationGetRelid(ac->rel));
	if (for_insert && (evlog_registry_note() < 0 ||
					   (evlog_registry_note() & EVLOG_HAS_SYNC)))
	{
		Snapshot	snap = RegisterSnapshot(GetLatestSnapshot());
		List	   *all = evlog_load_projections(snap);
		ListCell   *lc;
		int			note = 0;

		UnregisterSnapshot(snap);
		foreach(lc, all)
		{
			EvlogProjection *p = lfirst(lc);

			if (p->state != 'a')
				continue;
			note |= p->sync ? EVLOG_HAS_SYNC : EVLOG_HAS_ASYNC;
			if (p->sync)
				ac->sync_projections = lappend(ac->sync_projections, p);
		}
		evlog_set_registry_note(note);
		evlog_sync_prepare(ac->sync_projections);
	}
}

/*
 * evlog_append_end
 *		Close what evlog_append_begin opened.  Locks are kept to the end of the
 *		transaction.
 */
void
evlog_append_end(AppendContext *ac)
{
	if (ac->appended && ac->sync_projections != NIL)
		evlog_sync_checkpoint(ac->sync_projections, ac->head.seq);
	if (ac->estate)
	{
		ExecDropSingleTupleTableSlot(ac->slot);
		ExecCloseIndices(ac->rri);
		FreeExecutorState(ac->estate);
		table_close(ac->rel, NoLock);
	}
	index_close(ac->key_idx, NoLock);
	index_close(ac->stream_idx, NoLock);
	index_close(ac->pkey, NoLock);
}

/*
 * evlog_append_one
 *		Sequence and write one checked request; return its seq (or, for a
 *		retry, the original seq).  The caller holds the sequencer.
 *
 * Raises EV002 (idempotency conflict), EV003 (wrong expected version) and
 * 40001 (see evlog_load_head in head.c); writes nothing when it raises.
 */
int64
evlog_append_one(AppendContext *ac, EvlogAppendRequest *req)
{
	EvlogEvent	ev;
	HeapTuple	tuple;
	int64		current;
	TimestampTz now;

	if (!ac->have_head)
		evlog_load_head(ac, true);

	/* G4: the key is checked before expected_version */
	if (req->idempotency_key && !ac->skip_key_probe)
	{
		HeapTuple	existing = evlog_event_with_key(ac, req->idempotency_key);

		if (existing)
			return evlog_check_retry(ac, existing, req);
	}

	current = evlog_stream_version_of(ac, req->stream);
	if (req->has_expected_version && req->expected_version != current)
	{
		evlog_stats_add(EVLOG_STAT_VERSION_CONFLICTS, 1);
		ereport(ERROR,
				(errcode(ERRCODE_EVLOG_WRONG_EXPECTED_VERSION),
				 errmsg("wrong expected version for stream \"%s\"",
						text_to_cstring(req->stream)),
				 errdetail("Expected version " INT64_FORMAT ", current version is " INT64_FORMAT ".",
						   req->expected_version, current),
				 errhint("Read the stream again and decide on its current state.")));
	}

	now = GetCurrentTimestamp();
	ev.seq = ac->head.seq + 1;
	ev.stream = req->stream;
	ev.stream_version = current + 1;
	ev.type = req->type;
	ev.type_version = req->type_version;
	ev.payload = req->payload;
	ev.metadata = req->metadata;
	ev.idempotency_key = req->idempotency_key;
	ev.actor = ac->actor;
	ev.recorded_at = Max(now, ac->head.recorded_at);
	evlog_chain_digest(ac->head.digest, &ev, ev.digest);

	tuple = evlog_event_form_tuple(&ev, RelationGetDescr(ac->rel));
	evlog_appendcache_inserting(true);
	simple_heap_insert(ac->rel, tuple);
	ExecStoreHeapTuple(tuple, ac->slot, false);
	(void) ExecInsertIndexTuples(ac->rri, ac->slot, ac->estate,
								 false, false, NULL, NIL);
	evlog_appendcache_inserting(false);
	evlog_stats_count_append();
	ExecClearTuple(ac->slot);
	ResetPerTupleExprContext(ac->estate);

	/* P3: sync projections fold the event inside the appending transaction */
	if (ac->sync_projections != NIL)
		evlog_sync_fold(ac->sync_projections, tuple, RelationGetDescr(ac->rel),
						ev.type, ev.seq);
	heap_freetuple(tuple);
	ac->appended = true;

	ac->head.seq = ev.seq;
	ac->head.recorded_at = ev.recorded_at;
	memcpy(ac->head.digest, ev.digest, PG_SHA256_DIGEST_LENGTH);
	ac->head.ours = true;
	evlog_cache_head(RelationGetRelid(ac->rel), &ac->head);
	evlog_cache_stream_version(req->stream, ev.stream_version);
	return ev.seq;
}

/*
 * evlog_append(stream text, type text, payload jsonb, metadata jsonb,
 *				idempotency_key text, expected_version bigint,
 *				type_version integer) RETURNS bigint
 *
 * Append one event and return its seq (README "Appending").  Takes
 * RowExclusiveLock on evlog.events and the sequencer until the end of the
 * transaction.  Raises EV002, EV003, EV004 (a NULL stream, type, payload,
 * metadata or type_version included: evlog_check_request names it), 40001
 * and 25006; XX000 when declared with other than its seven arguments.
 */
Datum
evlog_append(PG_FUNCTION_ARGS)
{
	EvlogAppendRequest req;
	AppendContext ac;
	Datum		values[EVLOG_REQUEST_FIELDS];
	bool		nulls[EVLOG_REQUEST_FIELDS];
	int64		seq;

	/* every argument is read below, NULL or not */
	if (PG_NARGS() != EVLOG_REQUEST_FIELDS)
		elog(ERROR, "evlog_append() called with %d arguments, expected %d",
			 PG_NARGS(), EVLOG_REQUEST_FIELDS);
	for (int i = 0; i < EVLOG_REQUEST_FIELDS; i++)
	{
		nulls[i] = PG_ARGISNULL(i);
		values[i] = nulls[i] ? (Datum) 0 : PG_GETARG_DATUM(i);
	}
	evlog_fill_request(&req, values, nulls);

	evlog_append_begin(&ac, NULL, true);
	seq = evlog_append_one(&ac, &req);
	evlog_append_end(&ac);

	PG_RETURN_INT64(seq);
}

/*
 * evlog_check_direct_insert
 *		Admit rows inserted into evlog.events other than by the sequencer
 *		(COPY in pg_restore, a superuser's INSERT, a subscription): any row
 *		whose seq is above the head, to be proven with the rows around it
 *		when the statement ends (restore.c).
 *
 * Called from the BEFORE INSERT guard trigger with the relation it fired on
 * and the row; and with tuple NULL by restorecopy.c before a COPY into an
 * empty log, whose rows it then proves all together.  At the transaction's
 * first call, takes the sequencer and reads the head; every call makes what
 * the sequencer remembers of the log invalid, and wakes the worker at
 * commit.  Raises EV001 when the row's seq is already in the log; a NULL or
 * non-positive seq is left to the table's constraints.
 */
void
evlog_check_direct_insert(Relation rel, HeapTuple tuple)
{
	Oid			relid = RelationGetRelid(rel);
	EvlogHead	head;
	bool		isnull;
	int64		seq;

	evlog_appendcache_forget();
	if (!evlog_restore_head(relid, &head))
	{
		AppendContext ac;

		evlog_append_begin(&ac, rel, false);
		evlog_load_head(&ac, false);
		evlog_append_end(&ac);
		evlog_restore_begin(relid, &ac.head);
		head = ac.head;
	}
	evlog_follower_check_row(rel, tuple, &head);
	evlog_seqstate_invalidate();
	evlog_wake_worker_at_commit();
	if (tuple == NULL)
	{
		evlog_restore_note_row();
		return;
	}

	seq = DatumGetInt64(heap_getattr(tuple, Anum_events_seq,
									 RelationGetDescr(rel), &isnull));
	if (isnull || seq < 1)
		return;
	if (seq <= head.seq)
		evlog_restore_refuse(psprintf("Its seq is " INT64_FORMAT "; the log already holds seqs 1 to " INT64_FORMAT ".",
									  seq, head.seq));
	evlog_restore_note_row();
}

/*
 * evlog_sequencer_init
 *		Register the transaction callbacks of the append path (appendcache.c,
 *		notify.c, restore.c, in that order) and the OID cache's
 *		invalidation; called once per backend from _PG_init.
 */
void
evlog_sequencer_init(void)
{
	/*
	 * Callbacks run newest first: notify.c's callback must see at commit
	 * what appendcache.c knows of this transaction before it forgets it.
	 */
	evlog_appendcache_init();
	evlog_notify_init();
	evlog_restore_init();
	evlog_oidcache_init();
}

