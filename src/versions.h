/*-------------------------------------------------------------------------
 *
 * versions.h
 *	  Projection versions, snapshots and progress (README "Projection
 *	  versions and snapshots"): the next version of a projection built by
 *	  the worker while the old one serves, evlog_promote, evlog_snapshot and
 *	  rebuilds from a snapshot, and evlog.progress.
 *
 * registry.c and rebuild.c call into version.c and snapshot.c only through
 * the hooks below, which those files set when the library loads, so that
 * the registry's layer never calls up into the layers built on it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVLOG_VERSIONS_H
#define EVLOG_VERSIONS_H

#include "fmgr.h"

#include "projection.h"

/*
 * evlog_register_projection calls this twice: with locked false after its
 * own checks and before it takes any lock, and with locked true once it has
 * inserted the registry row of name, holding the sequencer, SPI-connected.
 */
typedef void (*evlog_register_hook_type) (FunctionCallInfo fcinfo,
										  const char *name, bool locked);
extern PGDLLIMPORT evlog_register_hook_type evlog_register_hook;

/*
 * evlog_alter_projection calls this with the registry row of the projection
 * it changes held FOR UPDATE, SPI-connected, before it changes anything;
 * mode is the new mode, NULL when unchanged.
 */
typedef void (*evlog_alter_hook_type) (EvlogProjection *p, const char *mode);
extern PGDLLIMPORT evlog_alter_hook_type evlog_alter_hook;

/*
 * evlog_unregister_projection calls this once it has deleted the registry
 * row of name, holding the sequencer, SPI-connected.
 */
typedef void (*evlog_unregister_hook_type) (const char *name);
extern PGDLLIMPORT evlog_unregister_hook_type evlog_unregister_hook;

/*
 * evlog_rebuild calls this with the projection locked, its handler
 * prepared, SPI-connected, instead of emptying the read model: it returns
 * the seq the read model now stands at (a snapshot restored), or -1 when
 * the rebuild must empty it and replay the whole log.
 */
typedef int64 (*evlog_restore_hook_type) (EvlogProjection *p,
										  FunctionCallInfo fcinfo);
extern PGDLLIMPORT evlog_restore_hook_type evlog_restore_hook;

/* version.c */
extern void evlog_version_init(void);

/* snapshot.c */
extern void evlog_snapshot_init(void);
extern void evlog_snapshot_forget(const char *name);
extern void evlog_snapshot_rename(const char *from, const char *to);

/* progress.c */
extern void evlog_progress_init(void);
extern void evlog_progress_report(EvlogProjection *p, int64 from, int64 pos,
								  int64 upto, bool rebuild);
extern bool evlog_progress_notice_due(bool first);
extern void evlog_progress_restored(const char *name);

#endif							/* EVLOG_VERSIONS_H */
