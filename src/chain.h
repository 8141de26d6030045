/*-------------------------------------------------------------------------
 *
 * chain.h
 *	  The SHA-256 hash chain over the log (G7; README, "How it works").
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVLOG_CHAIN_H
#define EVLOG_CHAIN_H

#include "event.h"

extern void evlog_chain_digest(const uint8 *prev_digest, const EvlogEvent *ev,
							   uint8 *out);

#endif							/* EVLOG_CHAIN_H */
