/*-------------------------------------------------------------------------
 *
 * rebuild.c
 *	  evlog_rebuild (P7): replace a projection's read model with the fold of
 *	  the whole log; and evlog_verify (P8): compare the read model with a
 *	  fresh fold up to the checkpoint, changing nothing.
 *
 * A rebuild empties the projection's tables with DELETE and folds the log
 * into them in one transaction: readers keep seeing the old read model
 * (MVCC) until it commits, and see the new one at once after, never a
 * half-built one; nothing blocks them, because DELETE and INSERT take only
 * RowExclusiveLock.  The rebuild holds the projection's registry row FOR
 * UPDATE, so the worker passes the projection over and evlog_catch_up waits;
 * both go on from the new checkpoint afterwards.  A sync projection is also
 * held by its rebuild lock: appends that start during the rebuild pass it
 * over (they neither fold nor move its checkpoint), and the rebuild, once it
 * has folded what it saw, takes the sequencer and folds the tail, so the
 * projection is at the head when it commits.  If a rebuild rolls back, the
 * next append folds what the passed-over appends missed (fold.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "evlog.h"
#include "projection.h"
#include "subxact.h"
#include "sequencer.h"

PG_FUNCTION_INFO_V1(evlog_rebuild);
PG_FUNCTION_INFO_V1(evlog_verify);

/* Lock tag field 4 of the rebuild locks (the sequencer's is 0x6576) */
#define EVLOG_REBUILD_LOCK_CLASS 0x6577

/* The rebuild lock this backend holds at session level, if any */
static bool rebuild_lock_held = false;
static LOCKTAG rebuild_lock_tag;

/*
 * rebuild_locktag
 *		The lock tag of projection name's rebuild lock: an advisory tag with
 *		a 64-bit hash of the name, which the pg_advisory_* functions cannot
 *		name.
 */
static void
rebuild_locktag(LOCKTAG *tag, const char *name)
{
	uint64		h = hash_bytes_extended((const unsigned char *) name, strlen(name), 0);

	SET_LOCKTAG_ADVISORY(*tag, MyDatabaseId, (uint32) (h >> 32), (uint32) h,
						 EVLOG_REBUILD_LOCK_CLASS);
}

/*
 * evlog_rebuild_lock_shared
 *		Try to take projection name's rebuild lock in share mode until the
 *		end of the transaction, without waiting.  False when a rebuild holds
 *		or awaits it.  Called by appenders, which hold the sequencer.
 */
bool
evlog_rebuild_lock_shared(const char *name)
{
	LOCKTAG		tag;

	rebuild_locktag(&tag, name);
	return LockAcquire(&tag, ShareLock, false, true) != LOCKACQUIRE_NOT_AVAIL;
}

/*
 * evlog_rebuild_lock_exclusive
 *		Take projection name's rebuild lock exclusively until the end of the
 *		transaction, waiting for a rebuild in progress and for appenders
 *		folding it.  Registry changes take it before the sequencer, which
 *		keeps them out of a lock cycle with a rebuild.
 */
void
evlog_rebuild_lock_exclusive(const char *name)
{
	LOCKTAG		tag;

	rebuild_locktag(&tag, name);
	(void) LockAcquire(&tag, ExclusiveLock, false, false);
}

/*
 * rebuild_xact_callback
 *		Release the session-level rebuild lock when the rebuilding
 *		transaction ends: at commit before the transaction's own locks (the
 *		sequencer among them), so the next appender finds it free.
 */
static void
rebuild_xact_callback(XactEvent event, void *arg)
{
	if (rebuild_lock_held && evlog_xact_ended(event))
	{
		LockRelease(&rebuild_lock_tag, ExclusiveLock, true);
		rebuild_lock_held = false;
	}
}

/*
 * evlog_rebuild_init
 *		Register the transaction callback; called once from _PG_init.
 */
void
evlog_rebuild_init(void)
{
	RegisterXactCallback(rebuild_xact_callback, NULL);
}

/*
 * run_as
 *		Run sql through SPI as role, in a security-restricted context unless
 *		restricted is false (temporary tables need that).  SPI-connected
 *		caller; errors propagate.
 */
static void
run_as(Oid role, bool restricted, const char *sql)
{
	Oid			save_userid;
	int			save_sec;

	GetUserIdAndSecContext(&save_userid, &save_sec);
	SetUserIdAndSecContext(role, save_sec | SECURITY_LOCAL_USERID_CHANGE |
						   (restricted ? SECURITY_RESTRICTED_OPERATION : 0));
	PG_TRY();
	{
		if (SPI_execute(sql, false, 0) < 0)
			elog(ERROR, "SPI_execute failed: %s", sql);
	}
	PG_FINALLY();
	{
		SetUserIdAndSecContext(save_userid, save_sec);
	}
	PG_END_TRY();
}

/*
 * table_name
 *		The schema-qualified, quoted name of relid.  42P01 when it was
 *		dropped after registration.
 */
static char *
table_name(EvlogProjection *p, Oid relid)
{
	char	   *rel = get_rel_name(relid);

	if (rel == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("a table of projection \"%s\" no longer exists", p->name),
				 errhint("Register the projection again with its current tables.")));
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)), rel);
}

/*
 * empty_read_model
 *		DELETE every row of p's tables (in reverse order of registration, so
 *		that tables referencing earlier ones go first), then run its reset
 *		function, all as p's owner (the reset function with the handlers'
 *		search_path).  SPI-connected caller.
 */
static void
empty_read_model(EvlogProjection *p)
{
	for (int i = list_length(p->tables) - 1; i >= 0; i--)
		run_as(p->owner, true,
			   psprintf("DELETE FROM %s", table_name(p, list_nth_oid(p->tables, i))));
	if (OidIsValid(p->reset))
	{
		int			nestlevel = evlog_handler_guc_push();

		run_as(p->owner, true,
			   psprintf("SELECT %s()",
					quote_qualified_identifier(get_namespace_name(get_func_namespace(p->reset)),
											   get_func_name(p->reset))));
		evlog_handler_guc_pop(nestlevel);
	}
}

/*
 * evlog_rebuild(name text) RETURNS bigint
 *
 * Replace projection name's read model with the fold of the whole log (of
 * its event types) and set its checkpoint to the head, in this transaction;
 * return the number of events replayed.  Clears its dead letters first; a
 * failed projection that rebuilds cleanly becomes active.  NOTICE every
 * evlog.progress_events.  Locks, in this order: the projection's rebuild
 * lock for the whole transaction, the registry row FOR UPDATE,
 * RowExclusiveLock on the read model's tables, and for a sync projection
 * the sequencer from the last step to the end of the transaction.  Errors: EV005, 42501, a handler's error under
 * on_error = 'stop' (nothing changes), 0A000 for a sync projection under
 * REPEATABLE READ.
 */
Datum
evlog_rebuild(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	EvlogProjection *p;
	int64		handed = 0;
	int64		last;
	Oid			argtypes[2] = {TEXTOID, INT8OID};
	Datum		args[2];

	PreventCommandIfReadOnly("evlog_rebuild()");

	/*
	 * The rebuild lock before the registry row: appenders folding a sync
	 * projection hold the first and then update the second.
	 */
	if (!rebuild_lock_held)
	{
		rebuild_locktag(&rebuild_lock_tag, name);
		(void) LockAcquire(&rebuild_lock_tag, ExclusiveLock, true, false);
		rebuild_lock_held = true;
	}
	SPI_connect();
	p = evlog_lock_projection(name, true, false);
	if (p->sync && IsolationUsesXactSnapshot())
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("evlog_rebuild of sync projection \"%s\" needs READ COMMITTED", name),
				 errdetail("The rebuild folds the events appended while it runs, which a REPEATABLE READ snapshot cannot see.")));
	evlog_prepare_handler(p);

	empty_read_model(p);
	args[0] = CStringGetTextDatum(name);
	evlog_registry_exec("DELETE FROM evlog.dead_letters WHERE projection = $1",
						1, argtypes, args, NULL, 0);

	(void) evlog_fold_range(p, 0, evlog_head_spi(), !p->skip_on_error, 0, true,
							&handed, &last);
	if (p->sync)
	{
		/* the tail appended meanwhile, with appends held off */
		evlog_sequencer_lock();
		(void) evlog_fold_range(p, last, evlog_head_spi(), !p->skip_on_error, 0,
								true, &handed, &last);
	}

	args[1] = Int64GetDatum(last);
	evlog_registry_exec("UPDATE evlog.projections SET checkpoint = $2, updated_at = now(), "
						"state = CASE state WHEN 'failed' THEN 'active' ELSE state END, "
						"last_error = NULL, last_error_seq = NULL WHERE name = $1",
						2, argtypes, args, NULL, 0);
	SPI_finish();
	evlog_registry_changed();
	PG_RETURN_INT64(handed);
}

/*
 * is_sync
 *		Is projection name sync, as a new snapshot sees it (no lock taken)?
 *		False when there is no such projection.  SPI-connected caller.
 */
static bool
is_sync(const char *name)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1];

	args[0] = CStringGetTextDatum(name);
	evlog_registry_exec("SELECT FROM evlog.projections WHERE name = $1 AND mode = 'sync'",
						1, argtypes, args, NULL, 1);
	return SPI_processed > 0;
}

/* What verify_refold compares, and where it puts the counts */
typedef struct VerifyWork
{
	EvlogProjection *p;
	Oid		   *relids;			/* of the read-model tables, set here */
	int64	   *missing;
	int64	   *unexpected;
} VerifyWork;

/*
 * verify_refold
 *		Copy the read model's rows as text, empty it, fold the log into it
 *		again up to the checkpoint, and count per table the rows missing
 *		from the fresh fold and the rows it has that the copy had not.  The
 *		caller rolls all of it back.
 */
static void
verify_refold(void *arg)
{
	VerifyWork *w = (VerifyWork *) arg;
	EvlogProjection *p = w->p;
	int			ntables = list_length(p->tables);
	int64		handed = 0;
	int64		last;

	for (int i = 0; i < ntables; i++)
	{
		w->relids[i] = list_nth_oid(p->tables, i);
		run_as(p->owner, false,
			   psprintf("CREATE TEMP TABLE evlog_verify_%d ON COMMIT DROP AS SELECT t::text AS r FROM %s t",
						i, table_name(p, w->relids[i])));
	}
	empty_read_model(p);
	(void) evlog_fold_range(p, 0, p->checkpoint, !p->skip_on_error, 0, false,
							&handed, &last);
	for (int i = 0; i < ntables; i++)
	{
		char	   *tbl = table_name(p, w->relids[i]);

		w->missing[i] = evlog_spi_bigint(psprintf("SELECT count(*) FROM (SELECT t::text FROM %s t "
												  "EXCEPT ALL SELECT r FROM evlog_verify_%d) d", tbl, i));
		w->unexpected[i] = evlog_spi_bigint(psprintf("SELECT count(*) FROM (SELECT r FROM evlog_verify_%d "
													 "EXCEPT ALL SELECT t::text FROM %s t) d", i, tbl));
	}
}

/*
 * evlog_verify(name text)
 *		RETURNS TABLE(table_name regclass, missing bigint, unexpected bigint)
 *
 * Compare each table of projection name with a fresh fold of events
 * 1..checkpoint: missing counts the rows of the fresh fold that the table
 * lacks, unexpected the rows the table has that the fresh fold does not (as
 * multisets of whole rows, compared as text).  Returns a row per table that
 * differs; none means no drift.  The fresh fold is made in the live tables
 * inside a subtransaction that is rolled back, so nothing a reader can see
 * changes.  Locks: the registry row FOR UPDATE (the worker passes the
 * projection over meanwhile), row locks on the read model until the
 * subtransaction ends, and for a sync projection the sequencer until the
 * end of the transaction.  Errors: EV005, 42501, a handler's error under
 * on_error = 'stop'.
 */
Datum
evlog_verify(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext cxt = CurrentMemoryContext;
	EvlogProjection *p;
	int			ntables;
	Oid		   *relids;
	int64	   *missing;
	int64	   *unexpected;
	VerifyWork	w;
	ErrorData  *edata;

	InitMaterializedSRF(fcinfo, 0);
	SPI_connect();

	/*
	 * A sync projection's checkpoint moves with every append: hold appends
	 * off, taking the sequencer before the registry row as appenders do.
	 */
	if (is_sync(name))
		evlog_sequencer_lock();
	p = evlog_lock_projection(name, true, false);
	evlog_prepare_handler(p);
	ntables = list_length(p->tables);
	relids = MemoryContextAlloc(cxt, sizeof(Oid) * Max(ntables, 1));
	missing = MemoryContextAllocZero(cxt, sizeof(int64) * Max(ntables, 1));
	unexpected = MemoryContextAllocZero(cxt, sizeof(int64) * Max(ntables, 1));

	w.p = p;
	w.relids = relids;
	w.missing = missing;
	w.unexpected = unexpected;
	edata = evlog_try_in_subxact(verify_refold, &w, false);
	if (edata)
		ReThrowError(edata);
	SPI_finish();

	for (int i = 0; i < ntables; i++)
	{
		Datum		values[3];
		bool		nulls[3] = {false, false, false};

		if (missing[i] == 0 && unexpected[i] == 0)
			continue;
		values[0] = ObjectIdGetDatum(relids[i]);
		values[1] = Int64GetDatum(missing[i]);
		values[2] = Int64GetDatum(unexpected[i]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	PG_RETURN_VOID();
}
