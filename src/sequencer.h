/*-------------------------------------------------------------------------
 *
 * sequencer.h
 *	  The sequencer: gapless, commit-ordered seq for every appended event
 *	  (docs/guarantees.md G1-G4, G6, G7): the state of one appending call,
 *	  shared by sequencer.c, head.c (the lookups of the log it needs) and
 *	  bulk.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVLOG_SEQUENCER_H
#define EVLOG_SEQUENCER_H

#include "access/htup.h"
#include "common/sha2.h"
#include "nodes/execnodes.h"
#include "utils/relcache.h"

#include "appendcache.h"
#include "event.h"
#include "notify.h"
#include "oidcache.h"

/* The number of writer-supplied fields of an event, in argument order */
#define EVLOG_REQUEST_FIELDS 7

/*
 * The state of one call that appends: the open log, its indexes, and the
 * head as this call last saw or wrote it.
 */
typedef struct AppendContext
{
	Relation	rel;
	Relation	stream_idx;
	Relation	key_idx;
	Relation	pkey;
	EState	   *estate;
	ResultRelInfo *rri;
	TupleTableSlot *slot;
	text	   *actor;
	List	   *sync_projections;	/* active sync projections to fold */
	bool		appended;		/* did this call write an event? */
	bool		have_head;
	EvlogHead	head;			/* the last event of the log */
	bool		skip_key_probe; /* leave duplicate keys to the unique index */
} AppendContext;

extern void evlog_check_direct_insert(Relation rel, HeapTuple tuple);
extern void evlog_sequencer_init(void);
extern void evlog_fill_request(EvlogAppendRequest *req, Datum *values,
							   bool *nulls);
extern void evlog_append_begin(AppendContext *ac, Relation rel, bool for_insert);
extern int64 evlog_append_one(AppendContext *ac, EvlogAppendRequest *req);
extern void evlog_append_end(AppendContext *ac);

/* bulk.c */
extern void evlog_append_many(AppendContext *ac, EvlogAppendRequest *reqs,
							  int n, Datum *seqs, MemoryContext eventcxt,
							  int *current);

#endif							/* EVLOG_SEQUENCER_H */
