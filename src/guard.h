/*-------------------------------------------------------------------------
 *
 * guard.h
 *	  The append-only guard (README, "The guard"): the trigger function evlog.guard()
 *	  and, with the library preloaded, a utility hook that refuses DDL which
 *	  would switch the guard off.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVLOG_GUARD_H
#define EVLOG_GUARD_H

extern void evlog_guard_init(void);

#endif							/* EVLOG_GUARD_H */
