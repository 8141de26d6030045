/*-------------------------------------------------------------------------
 *
 * head.c
 *	  What an append reads of the log while it holds the sequencer: the head
 *	  (G2: under REPEATABLE READ an append whose snapshot does not see the
 *	  head fails), a stream's current version (G3), and the event holding an
 *	  idempotency key, with the check that a retry resends the same event
 *	  (G4).  docs/guarantees.md states the guarantees.
 *
 * Everything here is read with SnapshotSelf, which sees every committed
 * event and this transaction's own whatever the statement's snapshot, or
 * taken from what this transaction (appendcache.c) or the last appender
 * (seqstate.c) already knows.  Callers hold the sequencer (locks.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/xact.h"
#include "catalog/pg_collation.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/jsonb.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "evlog.h"
#include "appendcache.h"
#include "event.h"
#include "head.h"
#include "seqstate.h"
#include "sequencer.h"
#include "stats.h"

/*
 * evlog_load_head
 *		Read the last event of the log (seq, recorded_at, digest) into ac.
 *		An empty log has head 0, digest 32 zero bytes.
 *
 * The caller holds the sequencer.  With check_snapshot (an append), the
 * head this transaction already knows is taken from appendcache.c, else,
 * under READ COMMITTED, the head the last appender published (seqstate.c);
 * a head read from the log is checked and then remembered in appendcache.c:
 * under REPEATABLE READ or SERIALIZABLE, raises 40001 serialization_failure
 * when the head was committed after the transaction's snapshot (G2).
 */
void
evlog_load_head(AppendContext *ac, bool check_snapshot)
{
	SysScanDesc scan;
	HeapTuple	tuple;

	ac->have_head = true;
	if (check_snapshot &&
		evlog_cached_head(RelationGetRelid(ac->rel), &ac->head))
		return;
	/* READ COMMITTED needs no snapshot check: the head seqstate.c published */
	if (check_snapshot && !IsolationUsesXactSnapshot() &&
		evlog_appendcache_trusts_shared() &&
		evlog_shared_head(RelationGetRelid(ac->rel), &ac->head))
	{
		evlog_cache_head(RelationGetRelid(ac->rel), &ac->head);
		return;
	}
	ac->head.seq = 0;
	ac->head.recorded_at = DT_NOBEGIN;
	memset(ac->head.digest, 0, sizeof(ac->head.digest));
	ac->head.ours = false;

	scan = systable_beginscan_ordered(ac->rel, ac->pkey, SnapshotSelf, 0, NULL);
	tuple = systable_getnext_ordered(scan, BackwardScanDirection);
	if (tuple)
	{
		EvlogEvent	ev;
		TransactionId xmin = HeapTupleHeaderGetXmin(tuple->t_data);

		evlog_event_from_tuple(tuple, RelationGetDescr(ac->rel), &ev);
		ac->head.seq = ev.seq;
		ac->head.recorded_at = ev.recorded_at;
		memcpy(ac->head.digest, ev.digest, PG_SHA256_DIGEST_LENGTH);
		ac->head.ours = TransactionIdIsCurrentTransactionId(xmin);

		if (check_snapshot && IsolationUsesXactSnapshot() && !ac->head.ours &&
			XidInMVCCSnapshot(xmin, GetTransactionSnapshot()))
			ereport(ERROR,
					(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
					 errmsg("could not serialize access due to concurrent append"),
					 errdetail("Event " INT64_FORMAT " was committed after this transaction's snapshot was taken.",
							   ev.seq),
					 errhint("The transaction might succeed if retried.")));
	}
	systable_endscan_ordered(scan);
	if (check_snapshot)
		evlog_cache_head(RelationGetRelid(ac->rel), &ac->head);
}

/*
 * probe_text
 *		The first (dir forward) or last (backward) event that index, whose
 *		first column is the text attribute attno, holds for value, or NULL;
 *		read with SnapshotSelf.  The caller holds the sequencer.  The tuple
 *		is a copy in the current memory context.
 */
static HeapTuple
probe_text(AppendContext *ac, Relation index, AttrNumber attno, text *value,
		   ScanDirection dir)
{
	SysScanDesc scan;
	ScanKeyData skey;
	HeapTuple	tuple;

	ScanKeyEntryInitialize(&skey, 0, attno, BTEqualStrategyNumber, InvalidOid,
						   C_COLLATION_OID, F_TEXTEQ, PointerGetDatum(value));
	scan = systable_beginscan_ordered(ac->rel, index, SnapshotSelf, 1, &skey);
	tuple = systable_getnext_ordered(scan, dir);
	if (tuple)
		tuple = heap_copytuple(tuple);
	systable_endscan_ordered(scan);
	return tuple;
}

/*
 * evlog_event_with_key
 *		The event that holds idempotency key, or NULL.  The caller holds the
 *		sequencer.  The tuple is a copy in the current memory context.
 */
HeapTuple
evlog_event_with_key(AppendContext *ac, text *key)
{
	return probe_text(ac, ac->key_idx, Anum_events_idempotency_key, key,
					  ForwardScanDirection);
}

/*
 * evlog_stream_version_of
 *		The current version of stream (0 when it has no event), from
 *		appendcache.c when this transaction appended to the stream already,
 *		from seqstate.c when a recent appender published it, else from the
 *		log.  The caller holds the sequencer.
 */
int64
evlog_stream_version_of(AppendContext *ac, text *stream)
{
	HeapTuple	tuple;
	int64		version = 0;

	if (evlog_cached_stream_version(stream, &version) ||
		(evlog_appendcache_trusts_shared() &&
		 evlog_shared_stream_version(RelationGetRelid(ac->rel), stream, &version)))
		return version;
	tuple = probe_text(ac, ac->stream_idx, Anum_events_stream, stream,
					   BackwardScanDirection);
	if (tuple)
	{
		bool		isnull;

		version = DatumGetInt64(heap_getattr(tuple, Anum_events_stream_version,
											 RelationGetDescr(ac->rel), &isnull));
		heap_freetuple(tuple);
	}
	return version;
}

/*
 * evlog_check_retry
 *		An append whose idempotency key exists: return the existing seq if
 *		stream, type, type_version and payload are equal (G4), else raise
 *		EV002 naming the existing event and the first field that differs.
 */
int64
evlog_check_retry(AppendContext *ac, HeapTuple existing, EvlogAppendRequest *req)
{
	EvlogEvent	ev;
	const char *differs = NULL;

	evlog_event_from_tuple(existing, RelationGetDescr(ac->rel), &ev);
	if (!evlog_text_equal(ev.stream, req->stream))
		differs = "stream";
	else if (!evlog_text_equal(ev.type, req->type))
		differs = "type";
	else if (ev.type_version != req->type_version)
		differs = "type_version";
	else if (!DatumGetBool(DirectFunctionCall2(jsonb_eq,
											   JsonbPGetDatum(ev.payload),
											   JsonbPGetDatum(req->payload))))
		differs = "payload";

	evlog_stats_add(differs ? EVLOG_STAT_CONFLICTS : EVLOG_STAT_RETRIES, 1);
	if (differs)
		ereport(ERROR,
				(errcode(ERRCODE_EVLOG_IDEMPOTENCY_CONFLICT),
				 errmsg("idempotency key \"%s\" is already used by an event with a different %s",
						text_to_cstring(req->idempotency_key), differs),
				 errdetail("Event " INT64_FORMAT " holds this key (stream \"%s\", type \"%s\", type_version %d).",
						   ev.seq, text_to_cstring(ev.stream),
						   text_to_cstring(ev.type), ev.type_version),
				 errhint("A retry must resend the same event; a new fact needs a new key.")));
	return ev.seq;
}
