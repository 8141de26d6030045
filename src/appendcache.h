/*-------------------------------------------------------------------------
 *
 * appendcache.h
 *	  What an appending transaction knows of the log while it holds the
 *	  sequencer: the head, and the versions of the streams it touched.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVLOG_APPENDCACHE_H
#define EVLOG_APPENDCACHE_H

#include "common/sha2.h"
#include "datatype/timestamp.h"

/* The last event of the log */
typedef struct EvlogHead
{
	int64		seq;
	TimestampTz recorded_at;
	uint8		digest[PG_SHA256_DIGEST_LENGTH];
	bool		ours;			/* written by this transaction */
} EvlogHead;

extern void evlog_appendcache_init(void);
extern bool evlog_cached_head(Oid relid, EvlogHead *head);
extern void evlog_cache_head(Oid relid, const EvlogHead *head);
extern bool evlog_cached_stream_version(text *stream, int64 *version);
extern void evlog_cache_stream_version(text *stream, int64 version);
extern void evlog_appendcache_forget(void);
extern void evlog_appendcache_inserting(bool inserting);
extern bool evlog_appendcache_trusts_shared(void);
extern bool evlog_xact_appended(void);

#endif							/* EVLOG_APPENDCACHE_H */
