/*-------------------------------------------------------------------------
 *
 * compat.h
 *		The one place for what evlog takes from PostgreSQL 15's internals:
 *		the server versions it builds against, the permission checks that
 *		PostgreSQL 16 renamed (pg_class_ownercheck, pg_proc_aclcheck become
 *		object_ownercheck, object_aclcheck), and copy.c's use of COPY FROM's
 *		internal state (commands/copyfrom_internal.h) and of the range
 *		table's permission fields (RTEPermissionInfo in 16).  A port to
 *		another major version changes this file (docs/layers.md).
 *
 *		copy.c and restorecopy.c define EVLOG_COMPAT_COPYFROM before
 *		including this file to get the COPY FROM pieces; nobody else needs
 *		them.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVLOG_COMPAT_H
#define EVLOG_COMPAT_H

#if PG_VERSION_NUM < 150000 || PG_VERSION_NUM >= 160000
#error "evlog builds against PostgreSQL 15 only: see src/compat.h for what a port changes"
#endif

#include "utils/acl.h"

/* does roleid own relation relid (or have its owner's privileges)? */
#define evlog_rel_ownercheck(relid, roleid) pg_class_ownercheck((relid), (roleid))

/* may roleid use function fn with mode (ACL_EXECUTE)? */
#define evlog_proc_aclcheck(fn, roleid, mode) pg_proc_aclcheck((fn), (roleid), (mode))

#endif							/* EVLOG_COMPAT_H */

#if defined(EVLOG_COMPAT_COPYFROM) && !defined(EVLOG_COMPAT_COPYFROM_H)
#define EVLOG_COMPAT_COPYFROM_H
#include "commands/copyfrom_internal.h"
#include "executor/executor.h"
#include "parser/parse_relation.h"

/* the input line number COPY FROM has reached (1-based) */
static inline uint64
evlog_copy_lineno(CopyFromState cstate)
{
	return cstate->cur_lineno;
}

/* a copy of the current input line, or NULL in binary format */
static inline char *
evlog_copy_line(CopyFromState cstate)
{
	return cstate->opts.binary ? NULL : pstrdup(cstate->line_buf.data);
}

/*
 * evlog_copy_pstate
 *		The parse state of a COPY FROM into rel (open, RowExclusiveLock held)
 *		of queryString, with rel as its one range table entry, after the
 *		privileges COPY FROM checks: INSERT on rel or on each column of
 *		attlist (all columns when NIL).  Raises 42501.  For the COPY paths
 *		that run BeginCopyFrom themselves (copy.c, restorecopy.c).
 */
static inline ParseState *
evlog_copy_pstate(Relation rel, const char *queryString,
				  QueryEnvironment *queryEnv, List *attlist)
{
	ParseState *pstate = make_parsestate(NULL);
	ParseNamespaceItem *nsitem;
	ListCell   *lc;

	pstate->p_sourcetext = queryString;
	pstate->p_queryEnv = queryEnv;
	nsitem = addRangeTableEntryForRelation(pstate, rel, RowExclusiveLock,
										   NULL, false, false);
	nsitem->p_rte->requiredPerms = ACL_INSERT;
	foreach(lc, CopyGetAttnums(RelationGetDescr(rel), rel, attlist))
		nsitem->p_rte->insertedCols =
			bms_add_member(nsitem->p_rte->insertedCols,
						   lfirst_int(lc) - FirstLowInvalidHeapAttributeNumber);
	ExecCheckRTPerms(pstate->p_rtable, true);
	return pstate;
}
#endif							/* EVLOG_COMPAT_COPYFROM */
