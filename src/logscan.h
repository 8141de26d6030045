/*-------------------------------------------------------------------------
 *
 * logscan.h
 *	  Reading a range of the log in seq order, for folds.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVLOG_LOGSCAN_H
#define EVLOG_LOGSCAN_H

#include "projection.h"

/* A batch of events read for one projection */
typedef struct EvlogBatch
{
	int			n;				/* events read */
	Datum	   *rows;			/* each an evlog.events composite */
	int64	   *seqs;			/* and its seq */
	int64		scanned_to;		/* seq up to which the range was looked at */
} EvlogBatch;

extern void evlog_read_batch(EvlogProjection *p, int64 after, int64 upto,
							 int max, EvlogBatch *batch);

#endif							/* EVLOG_LOGSCAN_H */
