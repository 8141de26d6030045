/*-------------------------------------------------------------------------
 *
 * copy.h
 *	  COPY ... FROM STDIN into evlog.append_queue without a trigger call
 *	  per row.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVLOG_COPY_H
#define EVLOG_COPY_H

#include "nodes/parsenodes.h"
#include "tcop/cmdtag.h"
#include "utils/queryenvironment.h"

extern bool evlog_copy_append_queue(CopyStmt *stmt, const char *queryString,
									QueryEnvironment *queryEnv,
									QueryCompletion *qc);

#endif							/* EVLOG_COPY_H */
