/*-------------------------------------------------------------------------
 *
 * handler.c
 *	  Running code evlog does not own, and evlog's own SQL (README
 *	  "Security model").
 *
 * User code (a projection's handler and reset function, an event type's
 * validator, an upcaster, and SQL that reads or empties an owner's tables)
 * runs here and nowhere else:
 *
 *	- as its owner, never as the caller or the worker's role;
 *	- in a security-restricted operation, as PostgreSQL runs REFRESH
 *	  MATERIALIZED VIEW and ANALYZE: SET ROLE, SET SESSION AUTHORIZATION,
 *	  temporary tables, LISTEN and PREPARE are refused;
 *	- inside a GUC nest level of its own, closed with AtEOXact_GUC(false),
 *	  so that whatever it SETs or set_config()s (search_path included) is
 *	  undone when it returns, and evlog's own work after it, and the
 *	  caller's session, run with the settings they had before;
 *	- with search_path "$user", public, pg_temp: its owner's schema, then
 *	  public, temporary objects last, whatever the session had;
 *	- under its timeout, if it has one: a call that runs longer is
 *	  cancelled, and the cancel becomes an error of the call (57014), which
 *	  folds treat as a handler error.
 *
 * On an error the user and security context are restored here; the GUC
 * nest level is closed by the (sub)transaction abort that follows, as for
 * PostgreSQL's own SECURITY DEFINER calls.
 *
 * evlog's own SQL runs with search_path pg_catalog, pg_temp (its names are
 * schema-qualified besides), so no function or operator of a schema a
 * user could write to is ever resolved by it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_proc.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "storage/latch.h"
#include "utils/acl.h"
#include "utils/syscache.h"
#include "utils/guc.h"
#include "utils/regproc.h"
#include "utils/timeout.h"

#include "evlog.h"
#include "handler.h"
#include "oidcache.h"
#include "subxact.h"

/* Set while user code runs: it may not append */
int			evlog_in_handler = 0;

/* The timeout that cancels user code, registered at its first use */
static TimeoutId user_timeout_id;
static bool user_timeout_registered = false;
static bool user_timeout_armed = false;
static volatile sig_atomic_t user_timeout_fired = false;

/* What enter_user saved, for leave_user */
typedef struct UserState
{
	Oid			save_userid;
	int			save_sec;
	int			nestlevel;
	bool		armed_here;
} UserState;

/*
 * user_timeout_handler
 *		Timeout handler (signal context): cancel the running user code the
 *		way a statement_timeout cancels a statement.
 */
static void
user_timeout_handler(void)
{
	user_timeout_fired = true;
	QueryCancelPending = true;
	InterruptPending = true;
	SetLatch(MyLatch);
}

/*
 * search_path_is
 *		Is search_path set to path (as text) already?
 */
static bool
search_path_is(const char *path)
{
	return namespace_search_path != NULL && strcmp(namespace_search_path, path) == 0;
}

/*
 * pin_search_path
 *		Set search_path to path in the current GUC nest level, unless it is
 *		that already.  Raises nothing for these constant paths.
 */
static void
pin_search_path(const char *path)
{
	if (!search_path_is(path))
		(void) set_config_option("search_path", path, PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
}

/*
 * evlog_user_scope_begin
 *		Open a GUC nest level with the search_path of user code, so that
 *		the user calls made inside it (a fold batch) need not set it each
 *		time.  Returns the nest level for evlog_scope_end.
 */
int
evlog_user_scope_begin(void)
{
	int			nestlevel = NewGUCNestLevel();

	pin_search_path(EVLOG_USER_SEARCH_PATH);
	return nestlevel;
}

/*
 * evlog_scope_end
 *		Close a nest level opened by evlog_user_scope_begin, undoing every
 *		setting made inside it.
 */
void
evlog_scope_end(int nestlevel)
{
	AtEOXact_GUC(false, nestlevel);
}

/*
 * enter_user
 *		Become code->owner in a security-restricted operation, in a new GUC
 *		nest level with the user search_path, counted as user code, with
 *		code->timeout_ms armed (unless an enclosing call armed it: the
 *		outer deadline holds).
 */
static void
enter_user(const EvlogUserCode *code, UserState *st)
{
	GetUserIdAndSecContext(&st->save_userid, &st->save_sec);
	SetUserIdAndSecContext(code->owner, st->save_sec | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	st->nestlevel = NewGUCNestLevel();
	pin_search_path(EVLOG_USER_SEARCH_PATH);
	evlog_in_handler++;
	st->armed_here = false;
	if (code->timeout_ms > 0 && !user_timeout_armed)
	{
		if (!user_timeout_registered)
		{
			user_timeout_id = RegisterTimeout(USER_TIMEOUT, user_timeout_handler);
			user_timeout_registered = true;
		}
		user_timeout_fired = false;
		evlog_timeout_is_work_error = false;
		enable_timeout_after(user_timeout_id, code->timeout_ms);
		user_timeout_armed = st->armed_here = true;
	}
}

/*
 * disarm_handler_timeout
 *		Disarm the timeout this call armed.  Returns whether it fired.
 */
static bool
disarm_handler_timeout(UserState *st)
{
	bool		fired;

	if (!st->armed_here)
		return false;
	disable_timeout(user_timeout_id, false);
	user_timeout_armed = false;
	fired = user_timeout_fired;
	user_timeout_fired = false;
	return fired;
}

/*
 * leave_user
 *		Undo enter_user after the user code returned: its settings, its
 *		user.  A timeout that fired just as the code returned is forgotten
 *		with the cancel it asked for.
 */
static void
leave_user(UserState *st)
{
	if (disarm_handler_timeout(st))
		QueryCancelPending = false;
	evlog_in_handler--;
	AtEOXact_GUC(false, st->nestlevel);
	SetUserIdAndSecContext(st->save_userid, st->save_sec);
}

/*
 * leave_user_on_error
 *		Undo enter_user when the user code raised an error (called in
 *		PG_CATCH, cxt being the memory context to raise in).  A cancel that
 *		its timeout caused becomes an error of the call: 57014, "... timed
 *		out", marked for evlog_try_in_subxact as the work's own error.
 *		Other errors are for the caller to re-throw.
 */
static void
leave_user_on_error(const EvlogUserCode *code, UserState *st, MemoryContext cxt)
{
	bool		fired = disarm_handler_timeout(st);

	evlog_in_handler--;
	SetUserIdAndSecContext(st->save_userid, st->save_sec);
	if (fired && geterrcode() == ERRCODE_QUERY_CANCELED)
	{
		MemoryContextSwitchTo(cxt);
		FlushErrorState();
		evlog_timeout_is_work_error = true;
		ereport(ERROR,
				(errcode(ERRCODE_QUERY_CANCELED),
				 errmsg("%s timed out", code->what),
				 errdetail("It ran longer than its timeout of %d ms and was cancelled.",
						   code->timeout_ms),
				 errhint("Raise the projection's timeout with evlog_alter_projection(name, timeout => ...), or make the handler faster.")));
	}
}

/*
 * evlog_check_user_function
 *		Check, when a role names fn as a handler, reset function, validator
 *		or upcaster, that fn has the shape its role needs (shape) and that
 *		the role may execute it, as it will run as that role.
 *
 * Raises 42883 when there is no function fn (a regprocedure given as a
 * number), EV005 when its arguments, result, set-returning or kind do not
 * match shape, and 42501 without EXECUTE on it.  Reads pg_proc through the
 * syscache; takes no locks.
 */
void
evlog_check_user_function(Oid fn, const EvlogFunctionShape *shape)
{
	HeapTuple	proctup = SearchSysCache1(PROCOID, ObjectIdGetDatum(fn));
	Form_pg_proc proc;
	int			nargs = OidIsValid(shape->argtype) ? 1 : 0;
	const char *article = strchr("aeiou", shape->what[0]) ? "An" : "A";
	bool		ok;

	if (!HeapTupleIsValid(proctup))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("%s function with OID %u does not exist", shape->what, fn)));
	proc = (Form_pg_proc) GETSTRUCT(proctup);
	ok = proc->pronargs == nargs && proc->prorettype == shape->rettype &&
		!proc->proretset && proc->prokind == PROKIND_FUNCTION &&
		(nargs == 0 || proc->proargtypes.values[0] == shape->argtype);
	ReleaseSysCache(proctup);
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_EVLOG_PROJECTION_STATE),
				 errmsg("%s %s has the wrong signature", shape->what, format_procedure(fn)),
				 nargs == 1 ?
				 errdetail("%s %s takes one argument of type %s and returns %s.",
						   article, shape->what, shape->argtype_name, shape->rettype_name) :
				 errdetail("%s %s takes no argument and returns %s.",
						   article, shape->what, shape->rettype_name),
				 errhint("Declare it as CREATE FUNCTION f(%s) RETURNS %s.",
						 nargs == 1 ? shape->arg : "", shape->rettype_name)));
	if (evlog_proc_aclcheck(fn, GetUserId(), ACL_EXECUTE) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to use %s as a %s", format_procedure(fn), shape->what),
				 errhint("The registering role needs EXECUTE on it: the %s runs as that role.",
						 shape->what)));
}

/*
 * evlog_prepare_user_function
 *		Look user function fn up for calling as owner into *flinfo.  what
 *		names it in errors ("handler of projection \"x\"").  Raises EV005
 *		when it was dropped, 42501 when owner may no longer execute it.
 */
void
evlog_prepare_user_function(Oid fn, Oid owner, const char *what, FmgrInfo *flinfo)
{
	if (!SearchSysCacheExists1(PROCOID, ObjectIdGetDatum(fn)))
		ereport(ERROR,
				(errcode(ERRCODE_EVLOG_PROJECTION_STATE),
				 errmsg("%s no longer exists", what),
				 errhint("Unregister the projection, or register it again with a new handler.")));
	if (evlog_proc_aclcheck(fn, owner, ACL_EXECUTE) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("the owner of the %s may no longer execute it", what)));
	fmgr_info(fn, flinfo);
}

/*
 * evlog_call_user
 *		Call the user function of flinfo with nargs (0 or 1) arguments, arg
 *		being the first, as code says (owner, security-restricted, own GUC
 *		nest level, timeout).  Returns its result; *isnull says whether it
 *		was NULL.  Errors propagate (a timeout as 57014 "... timed out").
 */
Datum
evlog_call_user(const EvlogUserCode *code, FmgrInfo *flinfo, int nargs,
				Datum arg, bool *isnull)
{
	LOCAL_FCINFO(fcinfo, 1);
	MemoryContext cxt = CurrentMemoryContext;
	UserState	st;
	Datum		result;

	Assert(nargs == 0 || nargs == 1);
	InitFunctionCallInfoData(*fcinfo, flinfo, nargs, InvalidOid, NULL, NULL);
	fcinfo->args[0].value = arg;
	fcinfo->args[0].isnull = false;

	enter_user(code, &st);
	PG_TRY();
	{
		result = FunctionCallInvoke(fcinfo);
	}
	PG_CATCH();
	{
		leave_user_on_error(code, &st, cxt);
		PG_RE_THROW();
	}
	PG_END_TRY();
	leave_user(&st);
	*isnull = fcinfo->isnull;
	return result;
}

/*
 * evlog_exec_user_sql
 *		Run sql (evlog's text, schema-qualified, over an owner's tables:
 *		views, triggers, policies and defaults there are the owner's code)
 *		through SPI as code says; with dest, the rows go there (a tuplestore,
 *		so that memory stays bounded) instead of SPI_tuptable.  The caller
 *		is SPI-connected.  Errors propagate.
 */
void
evlog_exec_user_sql(const EvlogUserCode *code, const char *sql, DestReceiver *dest)
{
	MemoryContext cxt = CurrentMemoryContext;
	UserState	st;
	int			rc;

	enter_user(code, &st);
	PG_TRY();
	{
		SPIExecuteOptions options;

		memset(&options, 0, sizeof(options));
		options.dest = dest;
		rc = SPI_execute_extended(sql, &options);
	}
	PG_CATCH();
	{
		leave_user_on_error(code, &st, cxt);
		PG_RE_THROW();
	}
	PG_END_TRY();
	leave_user(&st);
	if (rc < 0)
		elog(ERROR, "SPI_execute_extended failed: %s", SPI_result_code_string(rc));
}

/*
 * exec_own
 *		Run evlog's own sql with parameters through SPI (read-write, at most
 *		count rows; 0: all), as as_role (InvalidOid: the current user), with
 *		search_path pg_catalog, pg_temp; with plan, from the plan kept in
 *		*plan, prepared and kept (SPI_keepplan) the first time.  The caller
 *		is SPI-connected and has checked the current user's rights.
 *		Returns SPI's result code; errors propagate.
 */
static int
exec_own(const char *sql, SPIPlanPtr *plan, int nargs, Oid *argtypes,
		 Datum *values, const char *nulls, long count, Oid as_role)
{
	Oid			save_userid;
	int			save_sec;
	int			nestlevel = -1;
	int			rc;

	GetUserIdAndSecContext(&save_userid, &save_sec);
	if (OidIsValid(as_role))
		SetUserIdAndSecContext(as_role, save_sec | SECURITY_LOCAL_USERID_CHANGE);
	if (!search_path_is(EVLOG_OWN_SEARCH_PATH))
	{
		nestlevel = NewGUCNestLevel();
		pin_search_path(EVLOG_OWN_SEARCH_PATH);
	}
	PG_TRY();
	{
		if (plan == NULL)
			rc = SPI_execute_with_args(sql, nargs, argtypes, values, nulls, false, count);
		else
		{
			if (*plan == NULL)
			{
				SPIPlanPtr	p = SPI_prepare(sql, nargs, argtypes);

				if (p == NULL)
					elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
				if (SPI_keepplan(p) != 0)
					elog(ERROR, "SPI_keepplan failed");
				*plan = p;
			}
			rc = SPI_execute_plan(*plan, values, nulls, false, count);
		}
	}
	PG_CATCH();
	{
		SetUserIdAndSecContext(save_userid, save_sec);
		PG_RE_THROW();
	}
	PG_END_TRY();
	if (nestlevel >= 0)
		AtEOXact_GUC(false, nestlevel);
	SetUserIdAndSecContext(save_userid, save_sec);
	if (rc < 0)
		elog(ERROR, "SPI failed on evlog's own SQL: %s", SPI_result_code_string(rc));
	return rc;
}

/*
 * evlog_exec_own_sql
 *		Run evlog's own sql with parameters, as exec_own says, parsed and
 *		planned at each call.
 */
int
evlog_exec_own_sql(const char *sql, int nargs, Oid *argtypes, Datum *values,
				   const char *nulls, long count, Oid as_role)
{
	return exec_own(sql, NULL, nargs, argtypes, values, nulls, count, as_role);
}

/*
 * evlog_exec_own_plan
 *		Run evlog's own sql with parameters, as exec_own says, from the plan
 *		kept in *plan (NULL the first time: it is prepared and kept for the
 *		backend's life), for statements a hot path runs at every call; the
 *		plan cache plans again when a table it reads changes.  All rows.
 */
int
evlog_exec_own_plan(SPIPlanPtr *plan, const char *sql, int nargs, Oid *argtypes,
					Datum *values, const char *nulls, Oid as_role)
{
	return exec_own(sql, plan, nargs, argtypes, values, nulls, 0, as_role);
}

/*
 * evlog_registry_exec
 *		Run evlog's own sql through SPI as the owner of evlog.projections,
 *		with evlog's search_path (evlog_exec_own_sql).  The caller is
 *		SPI-connected and has checked the current user's rights.  Returns
 *		SPI's result code; errors propagate.
 */
int
evlog_registry_exec(const char *sql, int nargs, Oid *argtypes, Datum *values,
					const char *nulls, long count)
{
	Oid			relid = evlog_relid(EVLOG_PROJECTIONS_TABLE);
	HeapTuple	classtup;
	Oid			owner;

	classtup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(classtup))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	owner = ((Form_pg_class) GETSTRUCT(classtup))->relowner;
	ReleaseSysCache(classtup);
	return evlog_exec_own_sql(sql, nargs, argtypes, values, nulls, count, owner);
}
