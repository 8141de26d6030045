/*-------------------------------------------------------------------------
 *
 * chain.h
 *	  The SHA-256 hash chain over the log (docs/guarantees.md, G7).
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVLOG_CHAIN_H
#define EVLOG_CHAIN_H

#include "event.h"

/* What one caller reuses to hash many events (chain.c) */
typedef struct EvlogChainHasher EvlogChainHasher;

extern EvlogChainHasher *evlog_chain_hasher_create(void);
extern void evlog_chain_hasher_free(EvlogChainHasher *h);
extern void evlog_chain_digest_with(EvlogChainHasher *h,
									const uint8 *prev_digest,
									const EvlogEvent *ev, uint8 *out);
extern void evlog_chain_digest(const uint8 *prev_digest, const EvlogEvent *ev,
							   uint8 *out);

#endif							/* EVLOG_CHAIN_H */
