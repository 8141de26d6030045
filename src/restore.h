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
#include "chain.h"
#include "event.h"

extern void evlog_restore_refuse(const char *detail) pg_attribute_noreturn();
extern bool evlog_restore_head(Oid relid, EvlogHead *head);
extern void evlog_restore_begin(Oid relid, const EvlogHead *head);
extern void evlog_restore_note_row(void);
extern void evlog_restore_verify(void);
extern void evlog_restore_proven(const EvlogHead *last);
extern bool evlog_restore_earlier_version(Relation rel, Relation stream_idx,
										  const EvlogEvent *ev);
extern char *evlog_restore_link_fault(EvlogChainHasher *hasher,
									  const EvlogHead *prev,
									  const EvlogEvent *ev);
extern void evlog_restore_head_of(const EvlogEvent *ev, EvlogHead *head);
extern void evlog_restore_init(void);

#endif							/* EVLOG_RESTORE_H */
