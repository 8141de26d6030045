/*-------------------------------------------------------------------------
 *
 * event.h
 *	  The in-memory form of one event of evlog.events, what a writer asks
 *	  to append, and the checks of README, "The log", on both.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVLOG_EVENT_H
#define EVLOG_EVENT_H

#include "access/htup.h"
#include "access/tupdesc.h"
#include "common/sha2.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

/* One row of evlog.events; pointers stay owned by the caller's context */
typedef struct EvlogEvent
{
	int64		seq;
	text	   *stream;
	int64		stream_version;
	text	   *type;
	int32		type_version;
	Jsonb	   *payload;
	Jsonb	   *metadata;
	text	   *idempotency_key;	/* NULL when the writer gave none */
	text	   *actor;
	TimestampTz recorded_at;
	uint8		digest[PG_SHA256_DIGEST_LENGTH];
} EvlogEvent;

/* The arguments of one evlog_append call, before sequencing */
typedef struct EvlogAppendRequest
{
	text	   *stream;
	text	   *type;
	Jsonb	   *payload;
	Jsonb	   *metadata;
	text	   *idempotency_key;	/* NULL: none */
	bool		has_expected_version;
	int64		expected_version;
	int32		type_version;
} EvlogAppendRequest;

/* evlog.max_metadata_bytes: the largest metadata an append accepts */

extern void evlog_event_init(void);
extern void evlog_check_request(EvlogAppendRequest *req, bool stream_null,
								bool type_null, bool payload_null,
								bool metadata_null, bool type_version_null);
extern void evlog_check_type_name(const char *type, int len);
extern void evlog_event_from_tuple(HeapTuple tuple, TupleDesc desc,
								   EvlogEvent *ev);
extern HeapTuple evlog_event_form_tuple(const EvlogEvent *ev, TupleDesc desc);

#endif							/* EVLOG_EVENT_H */
