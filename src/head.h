/*-------------------------------------------------------------------------
 *
 * head.h
 *	  The head, stream versions and idempotency keys as an append reads them
 *	  under the sequencer (head.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVLOG_HEAD_H
#define EVLOG_HEAD_H

#include "access/htup.h"

#include "sequencer.h"

extern void evlog_load_head(AppendContext *ac, bool check_snapshot);
extern HeapTuple evlog_event_with_key(AppendContext *ac, text *key);
extern int64 evlog_stream_version_of(AppendContext *ac, text *stream);
extern int64 evlog_check_retry(AppendContext *ac, HeapTuple existing,
							   EvlogAppendRequest *req);

#endif							/* EVLOG_HEAD_H */
