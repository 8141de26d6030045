/*-------------------------------------------------------------------------
 *
 * restorecopy.h
 *	  A COPY that restores a dump into an empty log: rows in batches, the
 *	  indexes built once at the end, then the proof.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVLOG_RESTORECOPY_H
#define EVLOG_RESTORECOPY_H

#include "nodes/parsenodes.h"
#include "tcop/cmdtag.h"
#include "utils/queryenvironment.h"

extern bool evlog_restore_copy(CopyStmt *stmt, const char *queryString,
							   QueryEnvironment *queryEnv, QueryCompletion *qc);

#endif							/* EVLOG_RESTORECOPY_H */
