/*-------------------------------------------------------------------------
 *
 * projection.h
 *	  Projections (SPEC.md section 3.2, P1-P6): the registry evlog.projections,
 *	  and folding events into a projection's read model.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVLOG_PROJECTION_H
#define EVLOG_PROJECTION_H

#include "executor/spi.h"
#include "fmgr.h"
#include "nodes/pg_list.h"
#include "utils/snapshot.h"

/* Column numbers of evlog.projections */
#define Anum_projections_name			1
#define Anum_projections_handler		2
#define Anum_projections_tables			3
#define Anum_projections_event_types	4
#define Anum_projections_mode			5
#define Anum_projections_on_error		6
#define Anum_projections_reset			7
#define Anum_projections_owner			8
#define Anum_projections_state			9
#define Anum_projections_checkpoint		10
#define Anum_projections_upcast			11
#define Natts_projections_read			11

#define EVLOG_NAMEDATALEN 64

/* One row of evlog.projections, as folding needs it */
typedef struct EvlogProjection
{
	char		name[EVLOG_NAMEDATALEN];
	Oid			handler;
	Oid			reset;			/* InvalidOid: none */
	Oid			owner;
	List	   *event_types;	/* of char *; NIL: every type */
	List	   *tables;			/* OIDs of the read-model tables */
	bool		skip;			/* sync fold: being rebuilt, pass it over */
	bool		sync;
	bool		skip_on_error;
	char		state;			/* 'a'ctive, 'p'aused, 'f'ailed */
	int64		checkpoint;
	bool		upcast;			/* hand events over at their latest version */
	FmgrInfo	flinfo;			/* the handler, once evlog_prepare_handler ran */
} EvlogProjection;

/* How evlog_fold runs */
typedef enum EvlogFoldMode
{
	EVLOG_FOLD_WORKER,			/* one batch; skip a projection locked by another */
	EVLOG_FOLD_CATCH_UP,		/* to the head; wait for the lock */
	EVLOG_FOLD_STRICT			/* to the head, a handler error fails the call */
} EvlogFoldMode;

/* registry.c */
extern void evlog_projection_from_values(EvlogProjection *p, Datum *values,
										 bool *nulls);
extern void evlog_mark_failed(const char *name, int64 seq, const char *message);
extern EvlogProjection *evlog_lock_projection(const char *name, bool check_owner,
											  bool skip_locked);
extern List *evlog_load_projections(Snapshot snapshot);
extern int	evlog_registry_exec(const char *sql, int nargs, Oid *argtypes,
								Datum *values, const char *nulls, long count);
extern int	evlog_in_handler;

/* fold.c */
extern int	evlog_handler_guc_push(void);
extern void evlog_handler_guc_pop(int nestlevel);
extern void evlog_prepare_handler(EvlogProjection *p);
extern bool evlog_projection_wants(EvlogProjection *p, text *type);
extern Datum evlog_call_as(FmgrInfo *flinfo, Oid role, Datum arg, bool *isnull);
extern void evlog_call_handler(EvlogProjection *p, Datum row);
extern bool evlog_fold_range(EvlogProjection *p, int64 after, int64 upto,
							 bool strict, int64 limit, bool progress,
							 int64 *handed, int64 *last);
extern int64 evlog_spi_bigint(const char *sql);
extern int64 evlog_head_spi(void);
extern void evlog_set_checkpoint(const char *name, int64 checkpoint);
extern int64 evlog_fold(const char *name, EvlogFoldMode mode, bool *more);
extern void evlog_sync_prepare(List *projections);
extern void evlog_sync_fold(List *projections, HeapTuple tuple, TupleDesc desc,
							text *type, int64 seq);
extern void evlog_sync_checkpoint(List *projections, int64 seq);

/* rebuild.c */
extern bool evlog_rebuild_lock_shared(const char *name);
extern void evlog_rebuild_lock_exclusive(const char *name);
extern void evlog_rebuild_init(void);

#endif							/* EVLOG_PROJECTION_H */
