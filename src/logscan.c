/*-------------------------------------------------------------------------
 *
 * logscan.c
 *	  Reading a range of the log in seq order, for folds.
 *
 * The worker, evlog_catch_up, evlog_rebuild and evlog_verify read the events
 * after a checkpoint batch by batch.  They do it here with a scan of the
 * primary key, bounded by seq on both sides, rather than through a query:
 * the planner, without fresh statistics on a log that just grew, may pick a
 * sequential scan and a sort for every batch.  The snapshot is the one a
 * query would get (a new one under READ COMMITTED, after a command counter
 * increment so that this transaction's own appends are seen).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/relscan.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/fmgroids.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "evlog.h"
#include "logscan.h"
#include "oidcache.h"

/*
 * evlog_read_batch
 *		Read the events of p's types with after < seq <= upto, in seq order,
 *		at most max of them, into batch (allocated in the current memory
 *		context): each as a whole evlog.events row, flattened, as a handler
 *		takes it.  batch->scanned_to is upto when the range holds no more
 *		events for p, else the seq of the last event read.
 *
 * Takes AccessShareLock on evlog.events and its primary key.  Raises 42501
 * when the current user may not SELECT from evlog.events, as the query it
 * replaces would.
 */
void
evlog_read_batch(EvlogProjection *p, int64 after, int64 upto, int max,
				 EvlogBatch *batch)
{
	Relation	rel;
	Relation	pkey;
	Snapshot	snapshot;
	IndexScanDesc scan;
	TupleTableSlot *slot;
	ScanKeyData keys[2];

	batch->n = 0;
	batch->rows = palloc_array(Datum, Max(max, 1));
	batch->seqs = palloc_array(int64, Max(max, 1));
	batch->scanned_to = upto;

	rel = table_open(evlog_events_relid(), AccessShareLock);
	if (pg_class_aclcheck(RelationGetRelid(rel), GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		aclcheck_error(ACLCHECK_NO_PRIV, OBJECT_TABLE, RelationGetRelationName(rel));
	pkey = index_open(evlog_relid(EVLOG_EVENTS_PKEY), AccessShareLock);
	CommandCounterIncrement();
	snapshot = RegisterSnapshot(GetTransactionSnapshot());

	ScanKeyInit(&keys[0], 1, BTGreaterStrategyNumber, F_INT8GT,
				Int64GetDatum(after));
	ScanKeyInit(&keys[1], 1, BTLessEqualStrategyNumber, F_INT8LE,
				Int64GetDatum(upto));
	slot = table_slot_create(rel, NULL);
	scan = index_beginscan(rel, pkey, snapshot, 2, 0);
	index_rescan(scan, keys, 2, NULL, 0);
	while (batch->n < max && index_getnext_slot(scan, ForwardScanDirection, slot))
	{
		bool		isnull;
		int64		seq = DatumGetInt64(slot_getattr(slot, Anum_events_seq, &isnull));
		text	   *type = DatumGetTextPP(slot_getattr(slot, Anum_events_type, &isnull));

		if (!evlog_projection_wants(p, type))
			continue;
		batch->rows[batch->n] = ExecFetchSlotHeapTupleDatum(slot);
		batch->seqs[batch->n] = seq;
		batch->n++;
		if (batch->n == max)
			batch->scanned_to = seq;
	}
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	UnregisterSnapshot(snapshot);
	index_close(pkey, NoLock);
	table_close(rel, NoLock);
}

/*
 * evlog_projection_wants
 *		Does p fold events of this type?
 */
bool
evlog_projection_wants(EvlogProjection *p, text *type)
{
	ListCell   *lc;
	int			len = VARSIZE_ANY_EXHDR(type);

	if (p->event_types == NIL)
		return true;
	foreach(lc, p->event_types)
	{
		const char *t = lfirst(lc);

		if ((int) strlen(t) == len && memcmp(t, VARDATA_ANY(type), len) == 0)
			return true;
	}
	return false;
}
