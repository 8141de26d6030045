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

/*
 * Set by whoever raises a query cancel that belongs to the work (a user
 * call's timeout, handler.c) rather than to the session.
 */
extern bool evlog_timeout_is_work_error;

extern ErrorData *evlog_try_in_subxact(EvlogSubxactWork work, void *arg,
									   bool keep);

#endif							/* EVLOG_SUBXACT_H */
