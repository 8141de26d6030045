/*-------------------------------------------------------------------------
 *
 * chain.c
 *	  The SHA-256 hash chain over the log (README, "The hash chain"):
 *	  digest(n) = sha256(digest(n-1) || canonical bytes of event n), with
 *	  digest(0) 32 zero bytes; and evlog_verify_chain(), which recomputes it.
 *
 * The canonical bytes of an event are, in this order, with integers in
 * network byte order and every string preceded by its length as a 4-byte
 * integer:
 *
 *	  "evlog1"  seq(8)  stream  stream_version(8)  type  type_version(4)
 *	  payload  metadata  key-present(1) [key]  actor  recorded_at(8)
 *
 * payload and metadata are the jsonb values' text output (which jsonb makes
 * canonical: keys sorted and unique); recorded_at is microseconds since
 * 2000-01-01 00:00 UTC.  The README gives the same recipe for outside
 * verifiers.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "common/cryptohash.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "evlog.h"
#include "chain.h"
#include "sequencer.h"

PG_FUNCTION_INFO_V1(evlog_verify_chain);

static void append_string(StringInfo buf, const char *data, int len);
static void append_jsonb(StringInfo buf, Jsonb *jb);

/*
 * append_string
 *		Append a length-prefixed string to buf.
 */
static void
append_string(StringInfo buf, const char *data, int len)
{
	pq_sendint32(buf, (uint32) len);
	appendBinaryStringInfo(buf, data, len);
}

/*
 * append_jsonb
 *		Append the canonical text of a jsonb value to buf, length-prefixed:
 *		the text is written in place (JsonbToCString appends to buf) and its
 *		length filled in before it.
 */
static void
append_jsonb(StringInfo buf, Jsonb *jb)
{
	int			at = buf->len;
	uint32		len;

	pq_sendint32(buf, 0);
	(void) JsonbToCString(buf, &jb->root, VARSIZE(jb));
	len = pg_hton32((uint32) (buf->len - at - sizeof(uint32)));
	memcpy(buf->data + at, &len, sizeof(uint32));
}

/*
 * The state one caller keeps to hash many events: a SHA-256 context and the
 * buffer of canonical bytes, both reused from event to event (creating an
 * OpenSSL context per event costs about 5 % of a restore).
 */
struct EvlogChainHasher
{
	pg_cryptohash_ctx *ctx;
	StringInfoData buf;
};

/*
 * evlog_chain_hasher_create
 *		A hasher for evlog_chain_digest_with, in the current memory context;
 *		its SHA-256 context belongs to the current resource owner, which
 *		frees it if the transaction aborts.  Free it with
 *		evlog_chain_hasher_free.
 */
EvlogChainHasher *
evlog_chain_hasher_create(void)
{
	EvlogChainHasher *h = palloc_object(EvlogChainHasher);

	h->ctx = pg_cryptohash_create(PG_SHA256);
	initStringInfo(&h->buf);
	return h;
}

/*
 * evlog_chain_hasher_free
 *		Free h and its SHA-256 context.
 */
void
evlog_chain_hasher_free(EvlogChainHasher *h)
{
	pg_cryptohash_free(h->ctx);
	pfree(h->buf.data);
	pfree(h);
}

/*
 * evlog_chain_digest_with
 *		Compute digest(n) into out (32 bytes) from prev_digest, digest(n-1),
 *		and the fields of event n (its own digest field is not read), with
 *		h's context and buffer.
 *
 * Takes no locks.  Raises an internal error only if the SHA-256
 * implementation fails.
 */
void
evlog_chain_digest_with(EvlogChainHasher *h, const uint8 *prev_digest,
						const EvlogEvent *ev, uint8 *out)
{
	StringInfo	buf = &h->buf;

	resetStringInfo(buf);
	appendBinaryStringInfo(buf, "evlog1", 6);
	pq_sendint64(buf, (uint64) ev->seq);
	append_string(buf, VARDATA_ANY(ev->stream), VARSIZE_ANY_EXHDR(ev->stream));
	pq_sendint64(buf, (uint64) ev->stream_version);
	append_string(buf, VARDATA_ANY(ev->type), VARSIZE_ANY_EXHDR(ev->type));
	pq_sendint32(buf, (uint32) ev->type_version);
	append_jsonb(buf, ev->payload);
	append_jsonb(buf, ev->metadata);
	pq_sendbyte(buf, ev->idempotency_key ? 1 : 0);
	if (ev->idempotency_key)
		append_string(buf, VARDATA_ANY(ev->idempotency_key),
					  VARSIZE_ANY_EXHDR(ev->idempotency_key));
	append_string(buf, VARDATA_ANY(ev->actor), VARSIZE_ANY_EXHDR(ev->actor));
	pq_sendint64(buf, (uint64) ev->recorded_at);

	if (pg_cryptohash_init(h->ctx) < 0 ||
		pg_cryptohash_update(h->ctx, prev_digest, PG_SHA256_DIGEST_LENGTH) < 0 ||
		pg_cryptohash_update(h->ctx, (uint8 *) buf->data, buf->len) < 0 ||
		pg_cryptohash_final(h->ctx, out, PG_SHA256_DIGEST_LENGTH) < 0)
		elog(ERROR, "could not compute SHA-256 digest: %s",
			 pg_cryptohash_error(h->ctx));
}

/*
 * evlog_chain_digest
 *		evlog_chain_digest_with, with a hasher of its own for one event.
 */
void
evlog_chain_digest(const uint8 *prev_digest, const EvlogEvent *ev, uint8 *out)
{
	EvlogChainHasher *h = evlog_chain_hasher_create();

	evlog_chain_digest_with(h, prev_digest, ev, out);
	evlog_chain_hasher_free(h);
}

/*
 * evlog_verify_chain(from_seq bigint DEFAULT 1)
 *		RETURNS TABLE(checked bigint, first_bad_seq bigint)
 *
 * Recompute the hash chain from from_seq to the head visible to the
 * statement's snapshot, trusting the stored digest of from_seq - 1.
 * checked is the number of events whose digest matched; first_bad_seq is
 * the first seq that is missing (a hole) or whose digest does not match,
 * NULL when the chain is intact.  Takes AccessShareLock on evlog.events.
 * Raises 22004 when from_seq is null (the SQL function is STRICT), 22023
 * when from_seq < 1, 42501 without SELECT on evlog.events (checked before
 * the lock is taken).
 */
Datum
evlog_verify_chain(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int64		from_seq;
	Oid			relid;
	Relation	rel;
	Relation	pkey;
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tuple;
	MemoryContext rowcxt;
	MemoryContext oldcxt;
	uint8		prev[PG_SHA256_DIGEST_LENGTH] = {0};
	int64		expected;
	int64		checked = 0;
	int64		first_bad = 0;
	bool		have_prev;
	Datum		values[2];
	bool		nulls[2] = {false, false};
	EvlogChainHasher *hasher;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("argument \"from_seq\" must not be null")));
	from_seq = PG_GETARG_INT64(0);
	if (from_seq < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("from_seq must be 1 or more"),
				 errdetail("from_seq is " INT64_FORMAT ".", from_seq)));

	/* reading the chain is reading the log: SELECT on it, before any lock */
	relid = evlog_events_relid();
	if (pg_class_aclcheck(relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK &&
		pg_attribute_aclcheck_all(relid, GetUserId(), ACL_SELECT, ACLMASK_ALL) != ACLCHECK_OK)
		aclcheck_error(ACLCHECK_NO_PRIV, OBJECT_TABLE, get_rel_name(relid));

	InitMaterializedSRF(fcinfo, 0);

	rel = table_open(relid, AccessShareLock);
	pkey = index_open(evlog_relid(EVLOG_EVENTS_PKEY), AccessShareLock);

	/* Start at from_seq - 1, whose stored digest seeds the check */
	have_prev = (from_seq == 1);
	expected = have_prev ? from_seq : from_seq - 1;
	ScanKeyInit(&key, Anum_events_seq, BTGreaterEqualStrategyNumber,
				F_INT8GE, Int64GetDatum(expected));
	scan = systable_beginscan_ordered(rel, pkey, GetActiveSnapshot(), 1, &key);

	rowcxt = AllocSetContextCreate(CurrentMemoryContext, "evlog verify chain",
								   ALLOCSET_DEFAULT_SIZES);
	hasher = evlog_chain_hasher_create();
	while ((tuple = systable_getnext_ordered(scan, ForwardScanDirection)) != NULL)
	{
		EvlogEvent	ev;
		uint8		digest[PG_SHA256_DIGEST_LENGTH];

		CHECK_FOR_INTERRUPTS();
		oldcxt = MemoryContextSwitchTo(rowcxt);
		evlog_event_from_tuple(tuple, RelationGetDescr(rel), &ev);

		if (ev.seq != expected)
		{
			/* A hole: the expected seq is the first that does not match */
			MemoryContextSwitchTo(oldcxt);
			first_bad = expected;
			break;
		}
		if (have_prev)
		{
			evlog_chain_digest_with(hasher, prev, &ev, digest);
			if (memcmp(digest, ev.digest, PG_SHA256_DIGEST_LENGTH) != 0)
			{
				MemoryContextSwitchTo(oldcxt);
				first_bad = ev.seq;
				break;
			}
			checked++;
		}
		memcpy(prev, ev.digest, PG_SHA256_DIGEST_LENGTH);
		have_prev = true;
		expected++;
		MemoryContextSwitchTo(oldcxt);
		MemoryContextReset(rowcxt);
	}
	systable_endscan_ordered(scan);
	evlog_chain_hasher_free(hasher);
	MemoryContextDelete(rowcxt);
	index_close(pkey, AccessShareLock);
	table_close(rel, AccessShareLock);

	values[0] = Int64GetDatum(checked);
	values[1] = Int64GetDatum(first_bad);
	nulls[1] = (first_bad == 0);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	return (Datum) 0;
}
