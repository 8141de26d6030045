/*-------------------------------------------------------------------------
 *
 * projection.h
 *	  Projections (README "Projections", P1-P6): the registry evlog.projections,
 *	  its rows, and folding events into a projection's read model.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVLOG_PROJECTION_H
#define EVLOG_PROJECTION_H

#include "executor/spi.h"
#include "fmgr.h"
#include "nodes/pg_list.h"
#include "utils/snapshot.h"
#include "utils/timestamp.h"

#include "handler.h"

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
	int			timeout_ms;		/* a handler call is cancelled after this */
	char		replaces[EVLOG_NAMEDATALEN];	/* a version of that one; "": none */
	char		what[EVLOG_NAMEDATALEN + 32];	/* handler of projection "x" */
	FmgrInfo	flinfo;			/* the handler, once evlog_prepare_handler ran */
} EvlogProjection;

/* How evlog_fold runs */
typedef enum EvlogFoldMode
{
	EVLOG_FOLD_WORKER,			/* one batch; skip a projection locked by another */
	EVLOG_FOLD_CATCH_UP,		/* to the head; wait for the lock */
	EVLOG_FOLD_STRICT			/* to the head, a handler error fails the call */
} EvlogFoldMode;

/* projection_rows.c */
extern double evlog_interval_ms(const Interval *iv);
extern List *evlog_load_projections(Snapshot snapshot);
extern EvlogProjection *evlog_read_projection(const char *name);
extern bool evlog_check_projection_owner(const char *name);
extern EvlogProjection *evlog_lock_projection(const char *name, bool check_owner,
											  bool skip_locked);
extern void evlog_set_projection_state(const char *name, const char *state);
extern void evlog_set_checkpoint(const char *name, int64 checkpoint,
								 bool rebuilt);
extern void evlog_sync_checkpoint(List *projections, int64 seq);
extern void evlog_forget_dead_letters(const char *name, int64 after);
extern char *evlog_version_of(const char *name);
extern void evlog_set_replaces(const char *name, const char *replaces);
extern void evlog_forget_replaces(const char *name);
extern void evlog_take_over(const char *name, const char *old, bool sync);
extern void evlog_record_dead_letter(const char *name, int64 seq, const char *message);
extern void evlog_mark_failed(const char *name, int64 seq, const char *message);

/* registry.c */
extern void evlog_check_table_kind(Oid relid, const char *name);

/* logscan.c */
extern bool evlog_projection_wants(EvlogProjection *p, text *type);

/* fold.c */
extern void evlog_prepare_handler(EvlogProjection *p);
extern void evlog_user_code_of(EvlogProjection *p, EvlogUserCode *code);
extern bool evlog_fold_range(EvlogProjection *p, int64 after, int64 upto,
							 bool strict, int64 limit, bool progress,
							 int64 *handed, int64 *last);
extern int64 evlog_head_spi(void);
extern int64 evlog_fold(const char *name, EvlogFoldMode mode, bool *more);
extern void evlog_sync_prepare(List *projections);
extern void evlog_sync_fold(List *projections, HeapTuple tuple, TupleDesc desc,
							text *type, int64 seq);

/* rebuild.c */
extern void evlog_rebuild_init(void);
extern void evlog_fold_init(void);
extern int	evlog_fold_batch_size(void);

#endif							/* EVLOG_PROJECTION_H */
