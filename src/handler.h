/*-------------------------------------------------------------------------
 *
 * handler.h
 *	  The one place where evlog runs code it does not own: user functions
 *	  (handlers, validators, upcasters, reset functions) and SQL over an
 *	  owner's tables, each as its owner, in a security-restricted operation,
 *	  inside a GUC nest level of its own; and evlog's own SQL, with a
 *	  search_path nobody else chose.  README "Security model".
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVLOG_HANDLER_H
#define EVLOG_HANDLER_H

#include "executor/spi.h"
#include "fmgr.h"
#include "tcop/dest.h"

/* The search_path user code runs with ("$user" being its owner) */
#define EVLOG_USER_SEARCH_PATH	"\"$user\", public, pg_temp"
/* The search_path of evlog's own SQL */
#define EVLOG_OWN_SEARCH_PATH	"pg_catalog, pg_temp"

/* How one piece of user code is to be run */
typedef struct EvlogUserCode
{
	Oid			owner;			/* the role it runs as */
	int			timeout_ms;		/* cancelled after this long; 0: never */
	const char *what;			/* names it in errors: handler of projection "x" */
} EvlogUserCode;

/* The shape a user function must have for its role */
typedef struct EvlogFunctionShape
{
	const char *what;			/* its role: "handler", "validator", ... */
	Oid			argtype;		/* its one argument's type; InvalidOid: none */
	const char *arg;			/* that argument, declared: "e evlog.events" */
	const char *argtype_name;	/* that type, for errors: "evlog.events" */
	Oid			rettype;		/* what it returns */
	const char *rettype_name;	/* that type, for errors: "void" */
} EvlogFunctionShape;

/* Set while user code runs: it may not append */
extern int	evlog_in_handler;

extern int	evlog_user_scope_begin(void);
extern void evlog_scope_end(int nestlevel);
extern void evlog_check_user_function(Oid fn, const EvlogFunctionShape *shape);
extern void evlog_prepare_user_function(Oid fn, Oid owner, const char *what,
										FmgrInfo *flinfo);
extern Datum evlog_call_user(const EvlogUserCode *code, FmgrInfo *flinfo,
							 int nargs, Datum arg, bool *isnull);
extern void evlog_exec_user_sql(const EvlogUserCode *code, const char *sql,
								DestReceiver *dest);
extern int	evlog_exec_own_sql(const char *sql, int nargs, Oid *argtypes,
							   Datum *values, const char *nulls, long count,
							   Oid as_role);
extern int	evlog_exec_own_plan(SPIPlanPtr *plan, const char *sql, int nargs,
								Oid *argtypes, Datum *values, const char *nulls,
								Oid as_role);

extern int	evlog_registry_exec(const char *sql, int nargs, Oid *argtypes,
								Datum *values, const char *nulls, long count);

#endif							/* EVLOG_HANDLER_H */
