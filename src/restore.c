/*-------------------------------------------------------------------------
 *
 * restore.c
 *	  Rows that enter evlog.events other than through the sequencer: a
 *	  pg_restore's COPY, a superuser's INSERT or COPY, a subscription's
 *	  initial copy and its apply worker (README "Backup and restore").
 *
 * pg_dump copies the log in physical order, which is not seq order once
 * several sessions have appended (each fills its own heap pages).  So a row
 * that comes in directly is admitted in any order, and the rows are proven
 * whole later, by one ordered scan of the primary key over the seqs above
 * the last event proven: each seq is the one before plus one, recorded_at
 * does not decrease, the digest chains to the one before (chain.c), and a
 * stream_version above 1 has its predecessor in the same stream at a lower
 * seq (with the unique (stream, stream_version) index, that makes every
 * stream's versions 1..M, in seq order).  The proof runs when the statement
 * ends (an AFTER INSERT ... FOR EACH STATEMENT trigger on the log, which
 * COPY fires too), and at commit or PREPARE for what no statement trigger
 * covered: the logical replication apply worker fires only row triggers,
 * and a database not yet updated to 0.2.0 has no statement trigger.  A
 * refusal raises an error, so the statement (or transaction) and every row
 * it admitted roll back.
 *
 * Memory is bounded whatever the number of rows: the rows are read back
 * one at a time in a per-row memory context; what is kept per transaction
 * is the head before the first direct row and the last event proven, and
 * per proof the last version of at most STREAMS_KEPT streams (about 6 MB),
 * which spares the index probe when a stream's previous version was seen.
 *
 * The transaction holds the sequencer from its first direct row (taken by
 * sequencer.c, which also makes the sequencer's cached and shared state
 * invalid), so no other transaction writes to the log meanwhile, and the
 * scan (with SnapshotSelf) sees exactly the committed log and this
 * transaction's own rows.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_collation.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "evlog.h"
#include "chain.h"
#include "event.h"
#include "oidcache.h"
#include "restore.h"

/*
 * The proof remembers the last version it saw of up to STREAMS_KEPT streams
 * of at most STREAM_KEY_BYTES bytes, so that a stream_version above 1 whose
 * predecessor it just saw needs no index probe.
 */
#define STREAMS_KEPT		65536
#define STREAM_KEY_BYTES	64

typedef struct SeenStream
{
	char		stream[STREAM_KEY_BYTES + 1];	/* hash key: NUL-terminated */
	int64		version;
	int64		seq;			/* the seq of that version */
} SeenStream;

/*
 * What this transaction knows of the rows it inserted directly.  verified
 * moves forward as rows are proven; a subtransaction that rolls back after
 * moving it sends it back to base, so that the next proof starts from what
 * certainly survived.
 */
typedef struct RestoreState
{
	bool		active;			/* a direct row came in this transaction */
	Oid			relid;			/* evlog.events it came into */
	SubTransactionId begin_subid;	/* the subtransaction of the first row */
	EvlogHead	base;			/* the head before the first row */
	EvlogHead	verified;		/* the last event proven to continue it */
	SubTransactionId verified_subid;	/* where verified last moved */
	bool		pending;		/* rows came in since verified moved */
} RestoreState;

static RestoreState state;

static void restore_xact_callback(XactEvent event, void *arg);
static void restore_subxact_callback(SubXactEvent event,
									 SubTransactionId mySubid,
									 SubTransactionId parentSubid,
									 void *arg);

/*
 * evlog_restore_refuse
 *		Raise EV001 for rows inserted directly that are not a faithful copy
 *		of the log; detail is a sentence that names the seqs.
 */
void
evlog_restore_refuse(const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_EVLOG_APPEND_ONLY_VIOLATION),
			 errmsg("row inserted into evlog.events does not continue the log"),
			 errdetail_internal("%s", detail),
			 errhint("Append events with evlog_append(); a direct INSERT or COPY must be a faithful copy of a log (a restore), in any order.")));
}

/*
 * evlog_restore_head
 *		When this transaction has inserted a row into relid directly, set
 *		*head to the last event proven to continue the log (or the head
 *		before the first such row) and return true; else return false.
 *		Takes no locks.
 */
bool
evlog_restore_head(Oid relid, EvlogHead *head)
{
	if (!state.active)
		return false;
	if (state.relid != relid)
	{
		/* the extension was dropped and created again in the transaction */
		memset(&state, 0, sizeof(state));
		return false;
	}
	*head = state.verified;
	return true;
}

/*
 * evlog_restore_begin
 *		Remember head, read with the sequencer held, as the head of relid
 *		before this transaction's first direct row.  Takes no locks.
 */
void
evlog_restore_begin(Oid relid, const EvlogHead *head)
{
	state.active = true;
	state.relid = relid;
	state.base = *head;
	state.verified = *head;
	state.begin_subid = GetCurrentSubTransactionId();
	state.verified_subid = state.begin_subid;
	state.pending = false;
}

/*
 * evlog_restore_note_row
 *		Say that a direct row with a seq above the verified head came in;
 *		it is proven by the next evlog_restore_verify.  Takes no locks.
 */
void
evlog_restore_note_row(void)
{
	Assert(state.active);
	state.pending = true;
}

/*
 * evlog_restore_earlier_version
 *		Does ev's stream hold version ev->stream_version - 1 at a seq below
 *		ev->seq?  One probe of the (stream, stream_version) index with
 *		SnapshotSelf.  The caller holds the log and the index open.
 */
bool
evlog_restore_earlier_version(Relation rel, Relation stream_idx,
							  const EvlogEvent *ev)
{
	SysScanDesc scan;
	ScanKeyData keys[2];
	HeapTuple	tuple;
	bool		found = false;

	ScanKeyEntryInitialize(&keys[0], 0, Anum_events_stream,
						   BTEqualStrategyNumber, InvalidOid, C_COLLATION_OID,
						   F_TEXTEQ, PointerGetDatum(ev->stream));
	ScanKeyInit(&keys[1], Anum_events_stream_version, BTEqualStrategyNumber,
				F_INT8EQ, Int64GetDatum(ev->stream_version - 1));
	scan = systable_beginscan_ordered(rel, stream_idx, SnapshotSelf, 2, keys);
	tuple = systable_getnext_ordered(scan, ForwardScanDirection);
	if (tuple)
	{
		bool		isnull;
		int64		seq = DatumGetInt64(heap_getattr(tuple, Anum_events_seq,
													 RelationGetDescr(rel),
													 &isnull));

		found = seq < ev->seq;
	}
	systable_endscan_ordered(scan);
	return found;
}

/*
 * stream_key
 *		Copy stream into key (STREAM_KEY_BYTES + 1 bytes) as a C string and
 *		return true, or return false when it is too long to be kept.
 */
static bool
stream_key(text *stream, char *key)
{
	int			len = VARSIZE_ANY_EXHDR(stream);

	if (len > STREAM_KEY_BYTES)
		return false;
	memset(key, 0, STREAM_KEY_BYTES + 1);
	memcpy(key, VARDATA_ANY(stream), len);
	return true;
}

/*
 * seen_version
 *		Set *version and *seq to the last version of stream this proof saw
 *		and its seq, and return true; or return false.
 */
static bool
seen_version(HTAB *seen, text *stream, int64 *version, int64 *seq)
{
	char		key[STREAM_KEY_BYTES + 1];
	SeenStream *entry;

	if (!stream_key(stream, key))
		return false;
	entry = hash_search(seen, key, HASH_FIND, NULL);
	if (entry == NULL)
		return false;
	*version = entry->version;
	*seq = entry->seq;
	return true;
}

/*
 * remember_version
 *		Remember that this proof saw version of stream at seq, unless the
 *		stream is too long or STREAMS_KEPT others are kept.  Raises
 *		out-of-memory only.
 */
static void
remember_version(HTAB *seen, text *stream, int64 version, int64 seq)
{
	char		key[STREAM_KEY_BYTES + 1];
	SeenStream *entry;

	if (!stream_key(stream, key))
		return;
	entry = hash_search(seen, key, HASH_FIND, NULL);
	if (entry == NULL)
	{
		if (hash_get_num_entries(seen) >= STREAMS_KEPT)
			return;
		entry = hash_search(seen, key, HASH_ENTER, NULL);
	}
	entry->version = version;
	entry->seq = seq;
}

/*
 * follows_seen
 *		Is ev's stream_version 1, or the one after the version of its stream
 *		this proof last saw, at a lower seq?  (With the unique (stream,
 *		stream_version) index that version is the only one.)
 */
static bool
follows_seen(HTAB *seen, const EvlogEvent *ev)
{
	int64		version;
	int64		seq;

	return ev->stream_version == 1 ||
		(seen_version(seen, ev->stream, &version, &seq) &&
		 version == ev->stream_version - 1 && seq < ev->seq);
}

/*
 * create_seen
 *		A hash table for seen_version and remember_version, in the current
 *		memory context.
 */
static HTAB *
create_seen(void)
{
	HASHCTL		ctl;

	ctl.keysize = STREAM_KEY_BYTES + 1;
	ctl.entrysize = sizeof(SeenStream);
	ctl.hcxt = CurrentMemoryContext;
	return hash_create("evlog restore streams", 1024, &ctl,
					   HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
}

/*
 * evlog_restore_link_fault
 *		Does ev continue prev, its predecessor in seq: recorded_at not
 *		before prev's, and ev's digest chained to prev's (computed with
 *		hasher)?  Returns NULL, or a sentence naming the seqs for
 *		evlog_restore_refuse.
 */
char *
evlog_restore_link_fault(EvlogChainHasher *hasher, const EvlogHead *prev,
						 const EvlogEvent *ev)
{
	uint8		digest[PG_SHA256_DIGEST_LENGTH];

	if (ev->recorded_at < prev->recorded_at)
		return psprintf("The recorded_at of seq " INT64_FORMAT " (%s) is before that of seq " INT64_FORMAT " (%s).",
						ev->seq, pstrdup(timestamptz_to_str(ev->recorded_at)),
						prev->seq, pstrdup(timestamptz_to_str(prev->recorded_at)));
	evlog_chain_digest_with(hasher, prev->digest, ev, digest);
	if (memcmp(digest, ev->digest, PG_SHA256_DIGEST_LENGTH) != 0)
		return psprintf("The digest of seq " INT64_FORMAT " does not continue the hash chain from seq " INT64_FORMAT ".",
						ev->seq, prev->seq);
	return NULL;
}

/*
 * evlog_restore_head_of
 *		Set *head to ev's seq, recorded_at and digest.
 */
void
evlog_restore_head_of(const EvlogEvent *ev, EvlogHead *head)
{
	head->seq = ev->seq;
	head->recorded_at = ev->recorded_at;
	memcpy(head->digest, ev->digest, PG_SHA256_DIGEST_LENGTH);
}

/*
 * evlog_restore_verify
 *		Prove that the events above the last one proven continue the log:
 *		gapless seqs, recorded_at not decreasing, a chained digest, and
 *		each stream's versions in seq order without a hole.  Then they are
 *		proven.  Does nothing when no direct row is pending.
 *
 * Reads the log through an ordered scan of its primary key, one row at a
 * time (bounded memory), with AccessShareLock on the log and its indexes;
 * pushes an active snapshot when none is (at commit), for detoasting.
 * Raises EV001 (evlog_restore_refuse) naming the first seq that fails.
 */
void
evlog_restore_verify(void)
{
	Relation	rel;
	Relation	pkey;
	Relation	stream_idx;
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tuple;
	MemoryContext rowcxt;
	MemoryContext oldcxt;
	EvlogHead	prev;
	bool		pushed = false;
	HTAB	   *seen;
	EvlogChainHasher *hasher;

	if (!state.active || !state.pending)
		return;
	if (evlog_relid_if_exists(EVLOG_EVENTS_TABLE) != state.relid)
	{
		/* the extension was dropped since: the rows went with the log */
		memset(&state, 0, sizeof(state));
		return;
	}

	if (!ActiveSnapshotSet())
	{
		PushActiveSnapshot(GetTransactionSnapshot());
		pushed = true;
	}
	rel = table_open(state.relid, AccessShareLock);
	pkey = index_open(evlog_relid(EVLOG_EVENTS_PKEY), AccessShareLock);
	stream_idx = index_open(evlog_relid(EVLOG_EVENTS_STREAM_IDX), AccessShareLock);

	prev = state.verified;
	ScanKeyInit(&key, Anum_events_seq, BTGreaterStrategyNumber,
				F_INT8GT, Int64GetDatum(prev.seq));
	scan = systable_beginscan_ordered(rel, pkey, SnapshotSelf, 1, &key);
	rowcxt = AllocSetContextCreate(CurrentMemoryContext, "evlog restore check",
								   ALLOCSET_DEFAULT_SIZES);
	seen = create_seen();
	hasher = evlog_chain_hasher_create();
	while ((tuple = systable_getnext_ordered(scan, ForwardScanDirection)) != NULL)
	{
		EvlogEvent	ev;
		char	   *fault;

		CHECK_FOR_INTERRUPTS();
		oldcxt = MemoryContextSwitchTo(rowcxt);
		evlog_event_from_tuple(tuple, RelationGetDescr(rel), &ev);

		if (ev.seq != prev.seq + 1)
			evlog_restore_refuse(psprintf("Seq " INT64_FORMAT " is missing: the next seq the log holds is " INT64_FORMAT ".",
										  prev.seq + 1, ev.seq));
		if ((fault = evlog_restore_link_fault(hasher, &prev, &ev)) != NULL)
			evlog_restore_refuse(fault);
		if (!follows_seen(seen, &ev) && !evlog_restore_earlier_version(rel, stream_idx, &ev))
			evlog_restore_refuse(psprintf("Seq " INT64_FORMAT " has stream_version " INT64_FORMAT " of stream \"%s\", whose version " INT64_FORMAT " is not at an earlier seq.",
										  ev.seq, ev.stream_version,
										  text_to_cstring(ev.stream),
										  ev.stream_version - 1));

		remember_version(seen, ev.stream, ev.stream_version, ev.seq);
		evlog_restore_head_of(&ev, &prev);
		MemoryContextSwitchTo(oldcxt);
		MemoryContextReset(rowcxt);
	}
	systable_endscan_ordered(scan);
	evlog_chain_hasher_free(hasher);
	hash_destroy(seen);
	MemoryContextDelete(rowcxt);
	index_close(stream_idx, AccessShareLock);
	index_close(pkey, AccessShareLock);
	table_close(rel, AccessShareLock);
	if (pushed)
		PopActiveSnapshot();

	state.verified = prev;
	state.verified_subid = GetCurrentSubTransactionId();
	state.pending = false;
}

/*
 * evlog_restore_proven
 *		Say that the rows up to last, loaded into the empty log by this
 *		(sub)transaction, are proven (loadproof.c): last becomes the last
 *		event proven.  Takes no locks.
 */
void
evlog_restore_proven(const EvlogHead *last)
{
	Assert(state.active);
	state.verified.seq = last->seq;
	state.verified.recorded_at = last->recorded_at;
	memcpy(state.verified.digest, last->digest, PG_SHA256_DIGEST_LENGTH);
	state.verified_subid = GetCurrentSubTransactionId();
	state.pending = false;
}

/*
 * restore_xact_callback
 *		Before commit or PREPARE, prove what no statement trigger proved;
 *		forget everything when the transaction ends.  Raises EV001 through
 *		evlog_restore_verify, which aborts the transaction.
 */
static void
restore_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_PRE_COMMIT || event == XACT_EVENT_PRE_PREPARE)
		evlog_restore_verify();
	else if (evlog_xact_ended(event))
		memset(&state, 0, sizeof(state));
}

/*
 * restore_subxact_callback
 *		A subtransaction that commits hands what it began or proved to its
 *		parent.  One that rolls back takes with it the rows it inserted and
 *		the sequencer when it took it: forget everything when it saw the
 *		first direct row, else start the next proof from the head before
 *		the first direct row when it had moved the verified head.
 */
static void
restore_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						 SubTransactionId parentSubid, void *arg)
{
	if (!state.active)
		return;
	if (event == SUBXACT_EVENT_COMMIT_SUB)
	{
		if (state.begin_subid == mySubid)
			state.begin_subid = parentSubid;
		if (state.verified_subid == mySubid)
			state.verified_subid = parentSubid;
	}
	else if (event == SUBXACT_EVENT_ABORT_SUB)
	{
		if (state.begin_subid == mySubid)
			memset(&state, 0, sizeof(state));
		else if (state.verified_subid == mySubid)
		{
			state.verified = state.base;
			state.verified_subid = state.begin_subid;
			state.pending = true;
		}
	}
}

/*
 * evlog_restore_init
 *		Register the callbacks; called once per backend from _PG_init,
 *		after the sequencer's, so that the proof runs before its pre-commit
 *		work (callbacks run newest first).
 */
void
evlog_restore_init(void)
{
	RegisterXactCallback(restore_xact_callback, NULL);
	RegisterSubXactCallback(restore_subxact_callback, NULL);
}
