/*-------------------------------------------------------------------------
 *
 * locks.h
 *	  evlog's heavyweight lock classes: the sequencer, the rebuild locks.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVLOG_LOCKS_H
#define EVLOG_LOCKS_H

#include "storage/lock.h"

extern void evlog_sequencer_lock(void);
extern bool evlog_sequencer_try_lock(void);
extern bool evlog_sequencer_held(void);
extern void evlog_rebuild_locktag(LOCKTAG *tag, const char *name);
extern bool evlog_rebuild_lock_shared(const char *name);
extern void evlog_rebuild_lock_shared_wait(const char *name);
extern void evlog_rebuild_lock_exclusive(const char *name);

#endif							/* EVLOG_LOCKS_H */
