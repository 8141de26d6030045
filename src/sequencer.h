/*-------------------------------------------------------------------------
 *
 * sequencer.h
 *	  The sequencer: gapless, commit-ordered seq for every appended event
 *	  (SPEC.md G1-G4, G6, G7) and the lookups of the log it needs.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVLOG_SEQUENCER_H
#define EVLOG_SEQUENCER_H

#include "access/htup.h"
#include "utils/relcache.h"

extern Oid	evlog_events_relid(void);
extern Oid	evlog_relid(const char *name);
extern void evlog_sequencer_lock(void);
extern void evlog_check_direct_insert(Relation rel, HeapTuple tuple);
extern void evlog_sequencer_init(void);

#endif							/* EVLOG_SEQUENCER_H */
