/*-------------------------------------------------------------------------
 *
 * oidcache.h
 *	  Per-backend caches that keep catalog lookups off the append path: the
 *	  OIDs of evlog's relations, and whether there are sync projections or
 *	  event type definitions at all.  Relcache invalidations reset them.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVLOG_OIDCACHE_H
#define EVLOG_OIDCACHE_H

extern Oid	evlog_relid_if_exists(const char *name);
extern Oid	evlog_relid(const char *name);
extern Oid	evlog_events_relid(void);
extern void evlog_check_events_columns(Oid relid);
/* What the registry holds among active projections, or -1 when unknown */
#define EVLOG_HAS_SYNC	1
#define EVLOG_HAS_ASYNC 2
extern int	evlog_registry_note(void);
extern void evlog_set_registry_note(int note);
extern bool evlog_may_have_contracts(void);
extern void evlog_note_contracts(bool any);
extern void evlog_oidcache_init(void);

#endif							/* EVLOG_OIDCACHE_H */
