/*-------------------------------------------------------------------------
 *
 * projection_rows.c
 *	  The rows of the projection registry evlog.projections (and of
 *	  evlog.dead_letters) as evlog reads and writes them: loading the
 *	  registered projections, checking ownership, locking a projection's
 *	  row, recording its checkpoint (P1), its state, and a fold's failures
 *	  (P5: a dead letter, or the projection marked failed).
 *
 * This is the registry's row access only; the SQL functions that change the
 * registry live in registry.c, folding in fold.c.  Both, the sequencer, the
 * worker and rebuild.c call down to here.  Every statement runs as evlog's
 * own SQL through evlog_registry_exec (handler.c); a row is read into an
 * EvlogProjection by column name, so that a column added by an update
 * shifts nothing.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/snapmgr.h"

#include "evlog.h"
#include "follower.h"
#include "handler.h"
#include "oidcache.h"
#include "projection.h"

/* The default handler timeout: one minute, in milliseconds */
#define EVLOG_DEFAULT_TIMEOUT_MS (60 * 1000)

/* The columns of evlog.projections that EvlogProjection holds, by name */
static const char *const projection_columns[] = {
	"name", "handler", "tables", "event_types", "mode", "on_error", "reset",
	"owner", "state", "checkpoint", "upcast", "timeout", "replaces"
};
enum
{
	COL_NAME, COL_HANDLER, COL_TABLES, COL_EVENT_TYPES, COL_MODE, COL_ON_ERROR,
	COL_RESET, COL_OWNER, COL_STATE, COL_CHECKPOINT, COL_UPCAST, COL_TIMEOUT,
	COL_REPLACES, NUM_COLS
};

/*
 * evlog_interval_ms
 *		An interval in milliseconds (months count 30 days, as PostgreSQL's
 *		interval comparisons do).
 */
double
evlog_interval_ms(const Interval *iv)
{
	return (double) iv->time / 1000.0 +
		((double) iv->month * DAYS_PER_MONTH + iv->day) * (double) (USECS_PER_DAY / 1000);
}

/*
 * clamp_timeout_ms
 *		A handler timeout as whole milliseconds, clamped to 1..INT_MAX.
 */
static int
clamp_timeout_ms(const Interval *iv)
{
	double		ms = evlog_interval_ms(iv);

	if (ms < 1)
		return 1;
	if (ms > INT_MAX)
		return INT_MAX;
	return (int) ms;
}

/*
 * evlog_projection_from_tuple
 *		Fill p from a row of evlog.projections (any column order: columns
 *		are found by name, so that a column added by an update shifts
 *		nothing).  A registry not yet updated from 0.1.0 has no timeout
 *		column: the default applies.
 */
static void
evlog_projection_from_tuple(EvlogProjection *p, HeapTuple tuple, TupleDesc desc)
{
	Datum		v[NUM_COLS];
	bool		n[NUM_COLS];

	for (int c = 0; c < NUM_COLS; c++)
	{
		int			attno = 0;

		for (int i = 0; i < desc->natts && attno == 0; i++)
			if (!TupleDescAttr(desc, i)->attisdropped &&
				strcmp(NameStr(TupleDescAttr(desc, i)->attname), projection_columns[c]) == 0)
				attno = i + 1;
		if (attno == 0 && c != COL_TIMEOUT && c != COL_REPLACES)
			elog(ERROR, "evlog.projections has no column \"%s\"", projection_columns[c]);
		n[c] = attno == 0;
		v[c] = attno == 0 ? (Datum) 0 : heap_getattr(tuple, attno, desc, &n[c]);
	}

	memset(p, 0, sizeof(*p));
	strlcpy(p->name, TextDatumGetCString(v[COL_NAME]), EVLOG_NAMEDATALEN);
	p->handler = DatumGetObjectId(v[COL_HANDLER]);
	p->reset = n[COL_RESET] ? InvalidOid : DatumGetObjectId(v[COL_RESET]);
	p->owner = DatumGetObjectId(v[COL_OWNER]);
	p->sync = strcmp(TextDatumGetCString(v[COL_MODE]), "sync") == 0 && !evlog_follower_folds_sync();
	p->skip_on_error = strcmp(TextDatumGetCString(v[COL_ON_ERROR]), "skip") == 0;
	p->state = TextDatumGetCString(v[COL_STATE])[0];
	p->checkpoint = DatumGetInt64(v[COL_CHECKPOINT]);
	p->upcast = DatumGetBool(v[COL_UPCAST]);
	if (!n[COL_REPLACES])
		strlcpy(p->replaces, TextDatumGetCString(v[COL_REPLACES]), EVLOG_NAMEDATALEN);
	p->timeout_ms = n[COL_TIMEOUT] ? EVLOG_DEFAULT_TIMEOUT_MS :
		clamp_timeout_ms(DatumGetIntervalP(v[COL_TIMEOUT]));
	p->tables = NIL;
	{
		Datum	   *elems;
		bool	   *elemnulls;
		int			count;

		deconstruct_array(DatumGetArrayTypeP(v[COL_TABLES]),
						  REGCLASSOID, sizeof(Oid), true, TYPALIGN_INT,
						  &elems, &elemnulls, &count);
		for (int i = 0; i < count; i++)
			if (!elemnulls[i])
				p->tables = lappend_oid(p->tables, DatumGetObjectId(elems[i]));
	}
	p->event_types = NIL;
	if (!n[COL_EVENT_TYPES])
	{
		Datum	   *elems;
		bool	   *elemnulls;
		int			count;

		deconstruct_array(DatumGetArrayTypeP(v[COL_EVENT_TYPES]),
						  TEXTOID, -1, false, TYPALIGN_INT,
						  &elems, &elemnulls, &count);
		for (int i = 0; i < count; i++)
			if (!elemnulls[i])
				p->event_types = lappend(p->event_types, TextDatumGetCString(elems[i]));
	}
	snprintf(p->what, sizeof(p->what), "handler of projection \"%s\"", p->name);
}

/*
 * evlog_load_projections
 *		The registered projections as snapshot sees them, in the current
 *		memory context.  NIL when the registry does not exist.  Takes
 *		AccessShareLock on the registry.
 */
List *
evlog_load_projections(Snapshot snapshot)
{
	Oid			relid = evlog_relid_if_exists(EVLOG_PROJECTIONS_TABLE);
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tuple;
	List	   *result = NIL;

	if (!OidIsValid(relid))
		return NIL;
	rel = table_open(relid, AccessShareLock);
	scan = table_beginscan(rel, snapshot, 0, NULL);
	while ((tuple = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		EvlogProjection *p = palloc(sizeof(EvlogProjection));

		evlog_projection_from_tuple(p, tuple, RelationGetDescr(rel));
		result = lappend(result, p);
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	return result;
}

/*
 * require_owner
 *		Raise 42501 unless the current user has the privileges of p's owner.
 */
static void
require_owner(EvlogProjection *p)
{
	if (!has_privs_of_role(GetUserId(), p->owner))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("must be owner of projection \"%s\"", p->name),
				 errhint("Projection \"%s\" belongs to role \"%s\".", p->name,
						 GetUserNameFromId(p->owner, false))));
}

/*
 * evlog_read_projection
 *		The registry row of projection name as a new snapshot sees it, or
 *		NULL when there is none; takes no lock on it.  Connects to SPI
 *		itself (the caller may be SPI-connected or not); the result is
 *		allocated in the caller's memory context.
 */
EvlogProjection *
evlog_read_projection(const char *name)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1];
	EvlogProjection *p = palloc(sizeof(EvlogProjection));
	MemoryContext caller = CurrentMemoryContext;
	bool		found;

	SPI_connect();
	args[0] = CStringGetTextDatum(name);
	evlog_registry_exec("SELECT * FROM " EVLOG_QUALIFIED(EVLOG_PROJECTIONS_TABLE) " WHERE name = $1",
						1, argtypes, args, NULL, 1);
	found = SPI_processed > 0;
	if (found)
	{
		/* the row's lists and strings go into the caller's context */
		MemoryContext spi = MemoryContextSwitchTo(caller);

		evlog_projection_from_tuple(p, SPI_tuptable->vals[0], SPI_tuptable->tupdesc);
		MemoryContextSwitchTo(spi);
	}
	SPI_finish();
	return found ? p : NULL;
}

/*
 * evlog_check_projection_owner
 *		Raise EV005 unless projection name exists, and 42501 unless the
 *		current user has the privileges of its owner, reading the registry
 *		with a new snapshot and taking no lock on the projection: callers
 *		check this before they take any lock, so that a refused call holds
 *		nothing.  Returns whether the projection is sync.
 */
bool
evlog_check_projection_owner(const char *name)
{
	EvlogProjection *p = evlog_read_projection(name);

	if (p == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_EVLOG_PROJECTION_STATE),
				 errmsg("projection \"%s\" does not exist", name),
				 errhint("See evlog.projections for the registered projections.")));
	require_owner(p);
	return p->sync;
}

/*
 * evlog_lock_projection
 *		Lock and read the registry row of name (SELECT ... FOR UPDATE, with
 *		skip_locked SKIP LOCKED); with check_owner, raise 42501 unless the
 *		current user has the privileges of the projection's owner.  The
 *		caller is SPI-connected.  Raises EV005 when there is no such
 *		projection, except with skip_locked, where NULL means "none or
 *		locked".
 */
EvlogProjection *
evlog_lock_projection(const char *name, bool check_owner, bool skip_locked)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1];
	EvlogProjection *p = palloc(sizeof(EvlogProjection));

	args[0] = CStringGetTextDatum(name);
	evlog_registry_exec(skip_locked ?
						"SELECT * FROM " EVLOG_QUALIFIED(EVLOG_PROJECTIONS_TABLE) " WHERE name = $1 FOR UPDATE SKIP LOCKED" :
						"SELECT * FROM " EVLOG_QUALIFIED(EVLOG_PROJECTIONS_TABLE) " WHERE name = $1 FOR UPDATE",
						1, argtypes, args, NULL, 1);
	if (SPI_processed == 0)
	{
		if (skip_locked)
			return NULL;
		ereport(ERROR,
				(errcode(ERRCODE_EVLOG_PROJECTION_STATE),
				 errmsg("projection \"%s\" does not exist", name),
				 errhint("See evlog.projections for the registered projections.")));
	}
	evlog_projection_from_tuple(p, SPI_tuptable->vals[0], SPI_tuptable->tupdesc);
	if (check_owner)
		require_owner(p);
	return p;
}

/*
 * evlog_set_projection_state
 *		Write state (and clear the error when state is 'active') of the
 *		projection name.  The caller is SPI-connected.
 */
void
evlog_set_projection_state(const char *name, const char *state)
{
	Oid			argtypes[2] = {TEXTOID, TEXTOID};
	Datum		args[2];

	args[0] = CStringGetTextDatum(name);
	args[1] = CStringGetTextDatum(state);
	evlog_registry_exec("UPDATE " EVLOG_QUALIFIED(EVLOG_PROJECTIONS_TABLE) " SET state = $2, updated_at = now(), "
						"last_error = CASE WHEN $2 = 'active' THEN NULL ELSE last_error END, "
						"last_error_seq = CASE WHEN $2 = 'active' THEN NULL ELSE last_error_seq END "
						"WHERE name = $1", 2, argtypes, args, NULL, 0);
}

/*
 * evlog_set_checkpoint
 *		Write the checkpoint of projection name (a seq).  With rebuilt (a
 *		rebuild folded every event up to it), a failed projection becomes
 *		active again and its error is cleared.  SPI-connected caller; runs
 *		in its transaction, so that the checkpoint commits with what the
 *		fold wrote.
 */
void
evlog_set_checkpoint(const char *name, int64 checkpoint, bool rebuilt)
{
	Oid			argtypes[2] = {TEXTOID, INT8OID};
	Datum		args[2];

	args[0] = CStringGetTextDatum(name);
	args[1] = Int64GetDatum(checkpoint);
	evlog_registry_exec(rebuilt ?
						"UPDATE " EVLOG_QUALIFIED(EVLOG_PROJECTIONS_TABLE) " SET checkpoint = $2, updated_at = now(), "
						"state = CASE state WHEN 'failed' THEN 'active' ELSE state END, "
						"last_error = NULL, last_error_seq = NULL WHERE name = $1" :
						"UPDATE " EVLOG_QUALIFIED(EVLOG_PROJECTIONS_TABLE) " SET checkpoint = $2, updated_at = now() WHERE name = $1",
						2, argtypes, args, NULL, 0);
}

/*
 * evlog_sync_checkpoint
 *		Set to seq the checkpoint of every sync projection this call folded
 *		(those not being rebuilt), in the appending transaction.
 */
void
evlog_sync_checkpoint(List *projections, int64 seq)
{
	Oid			argtypes[2] = {INT8OID, TEXTARRAYOID};
	Datum		args[2];
	Datum	   *names = palloc_array(Datum, list_length(projections));
	int			n = 0;
	ListCell   *lc;

	foreach(lc, projections)
	{
		EvlogProjection *p = lfirst(lc);

		if (!p->skip)
			names[n++] = CStringGetTextDatum(p->name);
	}
	if (n == 0)
		return;
	args[0] = Int64GetDatum(seq);
	args[1] = PointerGetDatum(construct_array(names, n, TEXTOID, -1, false, TYPALIGN_INT));
	SPI_connect();
	evlog_registry_exec("UPDATE " EVLOG_QUALIFIED(EVLOG_PROJECTIONS_TABLE) " SET checkpoint = $1, updated_at = now() "
						"WHERE name = ANY ($2)",
						2, argtypes, args, NULL, 0);
	SPI_finish();
}

/*
 * evlog_forget_dead_letters
 *		Delete the dead letters of projection name for events after seq
 *		after (after < 0: all of them): a rebuild from a snapshot at seq
 *		after keeps those the snapshot's read model stands on, a full
 *		rebuild or an unregistration forgets them all.  SPI-connected
 *		caller; runs in its transaction.
 */
void
evlog_forget_dead_letters(const char *name, int64 after)
{
	Oid			argtypes[2] = {TEXTOID, INT8OID};
	Datum		args[2];

	args[0] = CStringGetTextDatum(name);
	args[1] = Int64GetDatum(after);
	evlog_registry_exec("DELETE FROM " EVLOG_QUALIFIED(EVLOG_DEAD_LETTERS_TABLE) " WHERE projection = $1 AND seq > $2",
						2, argtypes, args, NULL, 0);
}

/*
 * evlog_version_of
 *		The name of the projection registered as the next version of
 *		projection name (its replaces column names it), or NULL, as a new
 *		snapshot sees the registry.  Connects to SPI itself; the result is
 *		in the caller's memory context.
 */
char *
evlog_version_of(const char *name)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1];
	char	   *result = NULL;

	SPI_connect();
	args[0] = CStringGetTextDatum(name);
	evlog_registry_exec("SELECT name FROM " EVLOG_QUALIFIED(EVLOG_PROJECTIONS_TABLE) " WHERE replaces = $1",
						1, argtypes, args, NULL, 1);
	if (SPI_processed > 0)
	{
		char	   *value = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

		result = SPI_palloc(strlen(value) + 1);
		strcpy(result, value);
	}
	SPI_finish();
	return result;
}

/*
 * evlog_set_replaces
 *		Note in the registry row of projection name that it is the next
 *		version of projection replaces (NULL: of none).  SPI-connected
 *		caller; runs in its transaction.
 */
void
evlog_set_replaces(const char *name, const char *replaces)
{
	Oid			argtypes[2] = {TEXTOID, TEXTOID};
	Datum		args[2];
	char		nulls[2] = "  ";

	args[0] = CStringGetTextDatum(name);
	args[1] = replaces ? CStringGetTextDatum(replaces) : (Datum) 0;
	nulls[1] = replaces ? ' ' : 'n';
	evlog_registry_exec("UPDATE " EVLOG_QUALIFIED(EVLOG_PROJECTIONS_TABLE) " SET replaces = $2 WHERE name = $1",
						2, argtypes, args, nulls, 0);
}

/*
 * evlog_forget_replaces
 *		The projection that was the next version of projection name (now
 *		unregistered) replaces nothing any more.  The caller has checked
 *		that the registry has the column (evlog updated from 0.1.0), and
 *		is SPI-connected; runs in its transaction.
 */
void
evlog_forget_replaces(const char *name)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1];

	args[0] = CStringGetTextDatum(name);
	evlog_registry_exec("UPDATE " EVLOG_QUALIFIED(EVLOG_PROJECTIONS_TABLE) " SET replaces = NULL WHERE replaces = $1",
						1, argtypes, args, NULL, 0);
}

/*
 * evlog_take_over
 *		The registry's part of evlog_promote: projection old's row and dead
 *		letters go; projection name takes old's name and mode (sync or
 *		not), replaces nothing, and keeps its checkpoint, state and dead
 *		letters under the new name.  The caller holds both rows FOR UPDATE
 *		and the sequencer, and is SPI-connected; runs in its transaction.
 */
void
evlog_take_over(const char *name, const char *old, bool sync)
{
	Oid			argtypes[3] = {TEXTOID, TEXTOID, TEXTOID};
	Datum		args[3];

	args[0] = CStringGetTextDatum(name);
	args[1] = CStringGetTextDatum(old);
	args[2] = CStringGetTextDatum(sync ? "sync" : "async");
	evlog_forget_dead_letters(old, -1);
	evlog_registry_exec("DELETE FROM " EVLOG_QUALIFIED(EVLOG_PROJECTIONS_TABLE) " WHERE name = $2",
						2, argtypes, args, NULL, 0);
	evlog_registry_exec("UPDATE " EVLOG_QUALIFIED(EVLOG_DEAD_LETTERS_TABLE) " SET projection = $2 WHERE projection = $1",
						2, argtypes, args, NULL, 0);
	evlog_registry_exec("UPDATE " EVLOG_QUALIFIED(EVLOG_PROJECTIONS_TABLE) " SET name = $2, mode = $3, replaces = NULL, "
						"updated_at = now() WHERE name = $1",
						3, argtypes, args, NULL, 0);
}

/*
 * evlog_record_dead_letter
 *		Write (or overwrite) the dead letter of projection name for the
 *		event at seq, with the handler's error message.  SPI-connected
 *		caller; runs in its transaction.
 */
void
evlog_record_dead_letter(const char *name, int64 seq, const char *message)
{
	Oid			argtypes[3] = {TEXTOID, INT8OID, TEXTOID};
	Datum		args[3];

	args[0] = CStringGetTextDatum(name);
	args[1] = Int64GetDatum(seq);
	args[2] = CStringGetTextDatum(message);
	evlog_registry_exec("INSERT INTO " EVLOG_QUALIFIED(EVLOG_DEAD_LETTERS_TABLE) " (projection, seq, error) VALUES ($1, $2, $3) "
						"ON CONFLICT (projection, seq) DO UPDATE SET error = excluded.error, failed_at = now()",
						3, argtypes, args, NULL, 0);
}

/*
 * evlog_mark_failed
 *		Mark projection name failed at seq with message (on_error = 'stop').
 *		seq < 0 stands for the event after its checkpoint: the worker's case
 *		when folding raised an error no subtransaction caught (a dropped
 *		handler, say).  Runs in the caller's transaction.
 */
void
evlog_mark_failed(const char *name, int64 seq, const char *message)
{
	Oid			argtypes[3] = {TEXTOID, INT8OID, TEXTOID};
	Datum		args[3];
	char		nulls[3] = "   ";

	args[0] = CStringGetTextDatum(name);
	args[1] = Int64GetDatum(seq);
	args[2] = CStringGetTextDatum(message);
	if (seq < 0)
		nulls[1] = 'n';
	SPI_connect();
	evlog_registry_exec("UPDATE " EVLOG_QUALIFIED(EVLOG_PROJECTIONS_TABLE) " SET state = 'failed', last_error = $3, "
						"last_error_seq = coalesce($2, checkpoint + 1), updated_at = now() WHERE name = $1",
						3, argtypes, args, nulls, 0);
	SPI_finish();
}
