/*-------------------------------------------------------------------------
 *
 * shmem.h
 *	  evlog's shared memory: one slot per database worker (its latch, so an
 *	  appending commit can wake it) and the launcher's latch.  Present only
 *	  when the library is in shared_preload_libraries.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVLOG_SHMEM_H
#define EVLOG_SHMEM_H

#include "datatype/timestamp.h"
#include "storage/latch.h"
#include "storage/lwlock.h"

typedef struct EvlogWorkerSlot
{
	Oid			dboid;			/* InvalidOid: free */
	pid_t		pid;			/* 0 until the worker has started */
	Latch	   *latch;			/* the worker's MyLatch */
	bool		no_extension;	/* worker found no evlog here and left */
	TimestampTz evicted_until;	/* don't start before: DROP DATABASE etc. */
} EvlogWorkerSlot;

typedef struct EvlogShared
{
	LWLock	   *lock;			/* protects everything below */
	Latch	   *launcher_latch;
	bool		rescan;			/* launcher: look at every database again */
	int			nslots;
	EvlogWorkerSlot slots[FLEXIBLE_ARRAY_MEMBER];
} EvlogShared;

extern EvlogShared *evlog_shared;

extern void evlog_shmem_init(void);
extern EvlogWorkerSlot *evlog_slot_for(Oid dboid, bool create);
extern void evlog_wake_worker(Oid dboid);
extern void evlog_wake_launcher(bool rescan);
extern pid_t evlog_evict_worker(Oid dboid, int seconds);

#endif							/* EVLOG_SHMEM_H */
