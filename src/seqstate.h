/*-------------------------------------------------------------------------
 *
 * seqstate.h
 *	  The sequencer's shared state: the head and recent stream versions of
 *	  each database, published by appending transactions as they commit.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVLOG_SEQSTATE_H
#define EVLOG_SEQSTATE_H

#include "storage/lwlock.h"

#include "appendcache.h"

/* Databases whose state is kept; others look everything up in the log */
#define EVLOG_SEQSTATE_DATABASES 8

/* Longest stream, in bytes, whose version is kept */
#define EVLOG_SEQSTATE_STREAM_BYTES 64

extern void evlog_seqstate_init(void);

extern Size evlog_seqstate_size(void);
extern void evlog_seqstate_attach(LWLock *lock);
extern bool evlog_shared_head(Oid relid, EvlogHead *head);
extern bool evlog_shared_stream_version(Oid relid, text *stream, int64 *version);
extern bool evlog_publish_head(Oid relid, const EvlogHead *head);
extern void evlog_publish_stream_version(text *stream, int64 version);
extern void evlog_seqstate_invalidate(void);

#endif							/* EVLOG_SEQSTATE_H */
