/*-------------------------------------------------------------------------
 *
 * consumer.h
 *	  Consumer groups: durable readers of the log for processes outside
 *	  the database (README "Consumer groups").  consumer.c gives and
 *	  acknowledges events; consumer_group.c keeps groups and offsets.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVLOG_CONSUMER_H
#define EVLOG_CONSUMER_H

#include "executor/spi.h"
#include "fmgr.h"
#include "lease.h"

/* A group, as its registry row says */
typedef struct ConsumerGroup
{
	LeaseGroupKey key;
	Oid			owner;
	int			ntypes;			/* 0: every type */
	text	  **types;
	text	   *prefix;			/* NULL: every stream */
} ConsumerGroup;

/* What an ack, a seek or a drop changes in shared memory at commit */
typedef enum PendingKind
{
	PENDING_ACK,
	PENDING_SEEK,
	PENDING_DROP
} PendingKind;

extern void evlog_consumer_init(void);

/* consumer_group.c */
extern void evlog_consumer_group_init(void);
extern char *evlog_consumer_check_name(FunctionCallInfo fcinfo, int argno, const char *what);
extern int	evlog_consumer_sql(const char *sql, int nargs, Oid *argtypes, Datum *values);
extern int	evlog_consumer_plan(SPIPlanPtr *plan, const char *sql, int nargs,
								Oid *argtypes, Datum *values);
extern ConsumerGroup *evlog_consumer_group(const char *name, bool check_owner);
extern int64 evlog_visible_head(void);
extern uint32 evlog_stream_hash(text *stream);
extern void evlog_consumer_remember(PendingKind kind, int64 group_id,
									const char *member, int64 seq);

#endif							/* EVLOG_CONSUMER_H */
