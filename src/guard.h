/*-------------------------------------------------------------------------
 *
 * guard.h
 *	  The append-only guard (README, "The guard"): the trigger function
 *	  evlog.guard(), evlog_protect(), and which tables carry the guard.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVLOG_GUARD_H
#define EVLOG_GUARD_H

extern bool evlog_is_events_table(Oid relid);
extern Oid	evlog_guard_func_oid(void);
extern bool evlog_has_guard(Oid relid, const char *tgname);

#endif							/* EVLOG_GUARD_H */
