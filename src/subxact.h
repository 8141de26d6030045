/*-------------------------------------------------------------------------
 *
 * subxact.h
 *	  Running a piece of work in an internal subtransaction that is rolled
 *	  back, with its error kept, when the work fails.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVLOG_SUBXACT_H
#define EVLOG_SUBXACT_H

typedef void (*EvlogSubxactWork) (void *arg);

extern ErrorData *evlog_try_in_subxact(EvlogSubxactWork work, void *arg,
									   bool keep);

#endif							/* EVLOG_SUBXACT_H */
