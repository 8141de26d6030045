/*-------------------------------------------------------------------------
 *
 * loadproof.h
 *	  The proof of the rows a restore's COPY loads into an empty log, made
 *	  as they come, in any order, in memory bounded by work_mem.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVLOG_LOADPROOF_H
#define EVLOG_LOADPROOF_H

#include "access/htup.h"
#include "utils/relcache.h"

typedef struct EvlogLoadProof EvlogLoadProof;

extern EvlogLoadProof *evlog_loadproof_begin(Relation rel);
extern void evlog_loadproof_row(EvlogLoadProof *lp, HeapTuple tuple);
extern void evlog_loadproof_end(EvlogLoadProof *lp, Relation rel);

#endif							/* EVLOG_LOADPROOF_H */
