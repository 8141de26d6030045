/*-------------------------------------------------------------------------
 *
 * contracts.h
 *	  Event contracts (README, "Event contracts"): definitions checked at
 *	  append, evlog.strict_types, and upcasters for projections.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVLOG_CONTRACTS_H
#define EVLOG_CONTRACTS_H

#include "event.h"

extern void evlog_contracts_init(void);

extern void evlog_check_contract(EvlogAppendRequest *req);
extern Datum evlog_upcast_row(Datum row, int timeout_ms);

#endif							/* EVLOG_CONTRACTS_H */
