/*-------------------------------------------------------------------------
 *
 * restore.h
 *	  Rows that enter evlog.events other than through the sequencer (a
 *	  restore, a subscription): admitted in any order, proven whole later.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVLOG_RESTORE_H
#define EVLOG_RESTORE_H

#include "access/htup.h"
#include "access/tupdesc.h"
#include "utils/relcache.h"

#include "appendcache.h"

/* The proof of the rows a COPY loads into an empty log (restore.c) */
typedef struct EvlogLoadProof EvlogLoadProof;

extern void evlog_restore_refuse(const char *detail) pg_attribute_noreturn();
extern bool evlog_restore_head(Oid relid, EvlogHead *head);
extern void evlog_restore_begin(Oid relid, const EvlogHead *head);
extern void evlog_restore_note_row(void);
extern void evlog_restore_verify(void);
extern EvlogLoadProof *evlog_restore_load_begin(void);
extern void evlog_restore_load_row(EvlogLoadProof *lp, HeapTuple tuple,
								   TupleDesc desc);
extern void evlog_restore_load_end(EvlogLoadProof *lp, Relation rel);
extern void evlog_restore_init(void);

#endif							/* EVLOG_RESTORE_H */
