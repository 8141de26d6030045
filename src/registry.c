/*-------------------------------------------------------------------------
 *
 * registry.c
 *	  The projection registry evlog.projections and the SQL functions that
 *	  change it: evlog_register_projection, evlog_alter_projection,
 *	  evlog_unregister_projection, evlog_pause, evlog_resume.
 *
 * The caller's rights are checked as the caller (EXECUTE on the handler,
 * ownership of the tables, ownership of the projection); the registry row is
 * then written as the owner of evlog.projections, which no ordinary role
 * may write directly.  Every change takes the sequencer first, so that no
 * appending transaction is half-way through a sync fold while a projection
 * changes mode or state.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "evlog.h"
#include "locks.h"
#include "event.h"
#include "follower.h"
#include "handler.h"
#include "projection.h"
#include "sequencer.h"
#include "shmem.h"
#include "versions.h"

PG_FUNCTION_INFO_V1(evlog_register_projection);
PG_FUNCTION_INFO_V1(evlog_alter_projection);
PG_FUNCTION_INFO_V1(evlog_unregister_projection);
PG_FUNCTION_INFO_V1(evlog_pause);
PG_FUNCTION_INFO_V1(evlog_resume);

/* Set by version.c (versions.h) */
evlog_register_hook_type evlog_register_hook = NULL;
evlog_alter_hook_type evlog_alter_hook = NULL;
evlog_unregister_hook_type evlog_unregister_hook = NULL;

/*
 * check_timeout
 *		Raise 22023 unless a handler timeout is positive and at most
 *		INT_MAX milliseconds (about 24 days).
 */
static void
check_timeout(Interval *iv)
{
	double		ms = evlog_interval_ms(iv);

	if (!(ms >= 1 && ms <= INT_MAX))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid timeout %s",
						DatumGetCString(DirectFunctionCall1(interval_out, IntervalPGetDatum(iv)))),
				 errdetail("A handler timeout is at least 1 millisecond and at most 24 days.")));
}

/*
 * evlog_check_table_kind
 *		Raise 42809 unless relid is an ordinary (or partitioned) table:
 *		a view, foreign table or materialized view would run or reach code
 *		and data the projection does not own.  name is the projection's.
 */
void
evlog_check_table_kind(Oid relid, const char *name)
{
	char		kind = get_rel_relkind(relid);

	if (kind != RELKIND_RELATION && kind != RELKIND_PARTITIONED_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a table", get_rel_name(relid)),
				 errdetail("The read model of projection \"%s\" must consist of ordinary tables.", name),
				 errhint("Views, materialized views and foreign tables cannot be part of a projection.")));
}

/*
 * lock_for_change
 *		Check that the current user owns projection name (before any lock:
 *		a refused call holds nothing), then lock it for a change: its
 *		rebuild lock; for an async projection (appenders never touch its
 *		row), its registry row and then the sequencer, so that waiting for a
 *		worker's batch (up to its handler's timeout) never holds appends
 *		off; for a sync projection, the sequencer and then the row, in the
 *		appenders' order.  Returns the row; leaves the caller SPI-connected.
 *		Errors: EV005, 42501.
 */
static EvlogProjection *
lock_for_change(const char *name)
{
	bool		sync = evlog_check_projection_owner(name);
	EvlogProjection *p;

	evlog_rebuild_lock_exclusive(name);
	if (sync)
		evlog_sequencer_lock();
	SPI_connect();
	p = evlog_lock_projection(name, true, false);
	if (!sync)
		evlog_sequencer_lock();
	return p;
}

/*
 * check_choice
 *		Raise 22023 unless value is one of a or b.
 */
static void
check_choice(const char *arg, const char *value, const char *a, const char *b)
{
	if (strcmp(value, a) != 0 && strcmp(value, b) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid %s \"%s\"", arg, value),
				 errdetail("The %s must be '%s' or '%s'.", arg, a, b)));
}

/*
 * warn_if_no_worker
 *		An async projection in a database without a worker folds only on
 *		evlog_catch_up: say so.
 */
static void
warn_if_no_worker(const char *name)
{
	if (evlog_shared == NULL)
		ereport(WARNING,
				(errmsg("projection \"%s\" is async but no evlog worker runs in this database", name),
				 errhint("Add evlog to shared_preload_libraries, or fold it with evlog_catch_up('%s').", name)));
}

/*
 * evlog_register_projection(name text, handler regprocedure, tables regclass[],
 *		event_types text[], mode text, on_error text, reset regprocedure,
 *		upcast boolean) RETURNS void
 *
 * Register a projection owned by the current user.  A sync projection folds
 * the whole log at once (errors fail the call).  Takes the sequencer and a
 * row lock on the new registry row.  Errors: 22023, 42710, EV004, EV005,
 * 42501 (see the COMMENT in the install script).
 */
Datum
evlog_register_projection(PG_FUNCTION_ARGS)
{
	char	   *name;
	Oid			handler;
	char	   *mode;
	char	   *on_error;
	Oid			events_type;
	Oid			argtypes[10] = {TEXTOID, REGPROCEDUREOID, REGCLASSARRAYOID, TEXTARRAYOID,
	TEXTOID, TEXTOID, REGPROCEDUREOID, BOOLOID, REGROLEOID, INTERVALOID};
	Datum		args[10];
	char		nulls[10] = "          ";
	bool		found;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) ||
		PG_ARGISNULL(4) || PG_ARGISNULL(5) || PG_ARGISNULL(7) ||
		(PG_NARGS() > 8 && PG_ARGISNULL(8)))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("name, handler, tables, mode, on_error, upcast and timeout must not be null")));
	if (PG_NARGS() > 8)
		check_timeout(PG_GETARG_INTERVAL_P(8));
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	handler = PG_GETARG_OID(1);
	mode = text_to_cstring(PG_GETARG_TEXT_PP(4));
	on_error = text_to_cstring(PG_GETARG_TEXT_PP(5));

	/* The caller's rights and the arguments, checked as the caller */
	if (strlen(name) < 1 || strlen(name) >= EVLOG_NAMEDATALEN ||
		strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(name) ||
		!(name[0] >= 'a' && name[0] <= 'z'))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid projection name \"%s\"", name),
				 errdetail("A projection name is 1 to 63 bytes of lower-case letters, digits and underscores, starting with a letter.")));
	check_choice("mode", mode, "async", "sync");
	check_choice("on_error", on_error, "stop", "skip");
	if (pg_class_aclcheck(evlog_events_relid(), GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to project the log"),
				 errdetail("A projection's handler receives the events of evlog.events."),
				 errhint("GRANT SELECT ON evlog.events TO %s.",
						 GetUserNameFromId(GetUserId(), false))));
	events_type = get_rel_type_id(evlog_events_relid());
	{
		EvlogFunctionShape handler_shape = {
			"handler", events_type, "e evlog.events", "evlog.events", VOIDOID, "void"
		};
		EvlogFunctionShape reset_shape = {
			"reset function", InvalidOid, NULL, NULL, VOIDOID, "void"
		};

		evlog_check_user_function(handler, &handler_shape);
		if (!PG_ARGISNULL(6))
			evlog_check_user_function(PG_GETARG_OID(6), &reset_shape);
	}
	{
		ArrayType  *tables = PG_GETARG_ARRAYTYPE_P(2);
		Datum	   *elems;
		bool	   *elemnulls;
		int			n;

		deconstruct_array(tables, REGCLASSOID, sizeof(Oid), true, TYPALIGN_INT,
						  &elems, &elemnulls, &n);
		for (int i = 0; i < n; i++)
		{
			Oid			relid = DatumGetObjectId(elems[i]);

			if (elemnulls[i])
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("tables must not contain null")));
			if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)))
				ereport(ERROR,
						(errcode(ERRCODE_UNDEFINED_TABLE),
						 errmsg("relation with OID %u does not exist", relid)));
			if (!evlog_rel_ownercheck(relid, GetUserId()))
				ereport(ERROR,
						(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
						 errmsg("must be owner of table %s to make it part of projection \"%s\"",
								get_rel_name(relid), name),
						 errhint("A projection owns its read-model tables: register it as their owner.")));
			evlog_check_table_kind(relid, name);
		}
	}
	if (!PG_ARGISNULL(3))
	{
		Datum	   *elems;
		bool	   *elemnulls;
		int			n;

		deconstruct_array(PG_GETARG_ARRAYTYPE_P(3), TEXTOID, -1, false, TYPALIGN_INT,
						  &elems, &elemnulls, &n);
		for (int i = 0; i < n; i++)
		{
			text	   *t;

			if (elemnulls[i])
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("event_types must not contain null")));
			t = DatumGetTextPP(elems[i]);
			evlog_check_type_name(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
		}
	}

	if (evlog_register_hook)
		evlog_register_hook(fcinfo, name, false);
	evlog_sequencer_lock();
	SPI_connect();
	{
		Oid			t[1] = {TEXTOID};
		Datum		a[1] = {CStringGetTextDatum(name)};

		evlog_registry_exec("SELECT FROM " EVLOG_QUALIFIED(EVLOG_PROJECTIONS_TABLE) " WHERE name = $1", 1, t, a, NULL, 1);
		found = SPI_processed > 0;
	}
	if (found)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("projection \"%s\" already exists", name),
				 errhint("Unregister it first, or choose another name.")));

	for (int i = 0; i < 8; i++)
	{
		nulls[i] = PG_ARGISNULL(i) ? 'n' : ' ';
		args[i] = PG_ARGISNULL(i) ? (Datum) 0 : PG_GETARG_DATUM(i);
	}
	args[8] = ObjectIdGetDatum(GetUserId());
	if (PG_NARGS() > 8)
		args[9] = PG_GETARG_DATUM(8);
	/* a registry not yet updated from 0.1.0 has no timeout column */
	evlog_registry_exec(psprintf("INSERT INTO " EVLOG_QUALIFIED(EVLOG_PROJECTIONS_TABLE) " (name, handler, tables, event_types, mode, on_error, reset, upcast, owner%s) "
								 "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9%s)",
								 PG_NARGS() > 8 ? ", timeout" : "",
								 PG_NARGS() > 8 ? ", $10" : ""),
						PG_NARGS() > 8 ? 10 : 9, argtypes, args, nulls, 0);
	if (evlog_register_hook)
		evlog_register_hook(fcinfo, name, true);
	SPI_finish();

	if (strcmp(mode, "sync") == 0)
		(void) evlog_fold(name, EVLOG_FOLD_STRICT, NULL);
	else
		warn_if_no_worker(name);
	evlog_registry_changed();
	PG_RETURN_VOID();
}

/*
 * evlog_alter_projection(name text, mode text, on_error text) RETURNS void
 *
 * Change mode and/or on_error; switching an active projection to sync first
 * folds it up to the head (errors fail the call).  Takes the sequencer and
 * the registry row.  Errors: EV005, 22023, 42501.
 */
Datum
evlog_alter_projection(PG_FUNCTION_ARGS)
{
	char	   *name;
	char	   *mode = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	char	   *on_error = PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2));
	bool		has_timeout = PG_NARGS() > 3 && !PG_ARGISNULL(3);
	EvlogProjection *p;
	bool		was_sync;
	bool		active;
	Oid			argtypes[4] = {TEXTOID, TEXTOID, TEXTOID, INTERVALOID};
	Datum		args[4];
	char		nulls[4] = "    ";

	evlog_arg_not_null(fcinfo, 0, "name");
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	if (mode)
		check_choice("mode", mode, "async", "sync");
	if (on_error)
		check_choice("on_error", on_error, "stop", "skip");
	if (has_timeout)
		check_timeout(PG_GETARG_INTERVAL_P(3));

	p = lock_for_change(name);
	if (evlog_alter_hook)
		evlog_alter_hook(p, mode);
	was_sync = p->sync;
	active = p->state == 'a';
	SPI_finish();

	/* to sync: fold to the head first, while the sequencer holds appends */
	if (mode && strcmp(mode, "sync") == 0 && !was_sync && active)
		(void) evlog_fold(name, EVLOG_FOLD_STRICT, NULL);

	SPI_connect();
	args[0] = CStringGetTextDatum(name);
	args[1] = mode ? CStringGetTextDatum(mode) : (Datum) 0;
	args[2] = on_error ? CStringGetTextDatum(on_error) : (Datum) 0;
	nulls[1] = mode ? ' ' : 'n';
	nulls[2] = on_error ? ' ' : 'n';
	if (has_timeout)
		args[3] = PG_GETARG_DATUM(3);
	/* a registry not yet updated from 0.1.0 has no timeout column */
	evlog_registry_exec(psprintf("UPDATE " EVLOG_QUALIFIED(EVLOG_PROJECTIONS_TABLE) " SET mode = coalesce($2, mode), "
								 "on_error = coalesce($3, on_error)%s, updated_at = now() WHERE name = $1",
								 has_timeout ? ", timeout = $4" : ""),
						has_timeout ? 4 : 3, argtypes, args, nulls, 0);
	SPI_finish();
	if (mode && strcmp(mode, "async") == 0)
		warn_if_no_worker(name);
	evlog_registry_changed();
	PG_RETURN_VOID();
}

/*
 * evlog_unregister_projection(name text) RETURNS void
 *
 * Forget a projection and its dead letters; its tables stay.  Takes the
 * sequencer and the registry row.  Errors: EV005, 42501.
 */
Datum
evlog_unregister_projection(PG_FUNCTION_ARGS)
{
	char	   *name;
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1];

	evlog_arg_not_null(fcinfo, 0, "name");
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	(void) lock_for_change(name);
	evlog_forget_dead_letters(name, -1);
	args[0] = CStringGetTextDatum(name);
	evlog_registry_exec("DELETE FROM " EVLOG_QUALIFIED(EVLOG_PROJECTIONS_TABLE) " WHERE name = $1",
						1, argtypes, args, NULL, 0);
	if (evlog_unregister_hook)
		evlog_unregister_hook(name);
	SPI_finish();
	evlog_registry_changed();
	PG_RETURN_VOID();
}

/*
 * evlog_pause(name text) RETURNS void
 *
 * Stop folding a projection until evlog_resume.  Takes the sequencer and the
 * registry row.  Errors: EV005 (unknown, paused or failed), 42501.
 */
Datum
evlog_pause(PG_FUNCTION_ARGS)
{
	char	   *name;
	EvlogProjection *p;

	evlog_arg_not_null(fcinfo, 0, "name");
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	p = lock_for_change(name);
	if (p->state != 'a')
		ereport(ERROR,
				(errcode(ERRCODE_EVLOG_PROJECTION_STATE),
				 errmsg("projection \"%s\" is %s, not active", name,
						p->state == 'p' ? "paused" : "failed"),
				 errhint("evlog_resume('%s') makes it active again.", name)));
	evlog_set_projection_state(name, "paused");
	SPI_finish();
	evlog_registry_changed();
	PG_RETURN_VOID();
}

/*
 * evlog_resume(name text) RETURNS void
 *
 * Make a paused or failed projection active again (a failed one retries its
 * failing event).  A sync projection first folds up to the head.  Takes the
 * sequencer and the registry row.  Errors: EV005 (unknown or active), 42501.
 */
Datum
evlog_resume(PG_FUNCTION_ARGS)
{
	char	   *name;
	EvlogProjection *p;
	bool		sync;

	evlog_arg_not_null(fcinfo, 0, "name");
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	p = lock_for_change(name);
	if (p->state == 'a')
		ereport(ERROR,
				(errcode(ERRCODE_EVLOG_PROJECTION_STATE),
				 errmsg("projection \"%s\" is already active", name)));
	sync = p->sync;
	evlog_set_projection_state(name, "active");
	SPI_finish();
	if (sync)
		(void) evlog_fold(name, EVLOG_FOLD_STRICT, NULL);
	evlog_registry_changed();
	PG_RETURN_VOID();
}
