/*-------------------------------------------------------------------------
 *
 * loadproof.c
 *	  The proof of the rows a restore's COPY loads into an empty log, made
 *	  as they come, in any order, in memory bounded by work_mem (README
 *	  "Backup and restore").
 *
 * A dump of a busy log is a few runs of consecutive seqs (each appending
 * backend fills heap pages of its own), in any order.  The proof keeps those
 * runs as they load:
 *
 *	- the current run grows by one row at a time: each row's link to the row
 *	  before it (recorded_at not decreasing, the digest chained, chain.c) is
 *	  checked at once;
 *	- a row that does not continue the current run closes it, and either
 *	  continues a run closed before (the one ending at its seq - 1) or starts
 *	  a run of its own, which keeps a copy of its first row until the run
 *	  ending just before it is closed: then the link between the two is
 *	  checked and the runs merge;
 *	- each stream's versions are kept the same way, as runs of consecutive
 *	  versions with the seqs of their ends: a version that extends a run (or
 *	  joins two) has its seq checked against its neighbour's, so that every
 *	  stream's versions rise with seq.
 *
 * At the end, with the unique indexes built over the rows (so seqs and
 * (stream, stream_version) pairs are distinct), the load is whole when one
 * run of seqs remains, from the head's successor to head + rows, and each
 * stream's versions are one run from 1.  Nothing is read back from the
 * table.
 *
 * Memory: the proof's state (the runs, the copies of their first rows, the
 * streams) lives in one memory context kept under work_mem.  A stream first
 * seen when that is reached is not kept: its versions above 1 are checked
 * after the index builds, in seq order, one probe of the (stream,
 * stream_version) index each, and the seqs to check count against the same
 * bound.  When a run or a seq to check would not fit any more, or a check
 * fails, the proof gives up and the rows are proven again in seq order by
 * restore.c (one ordered scan of the primary key), which names the first seq
 * that fails.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "miscadmin.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "evlog.h"
#include "chain.h"
#include "event.h"
#include "loadproof.h"
#include "oidcache.h"
#include "restore.h"

/* Streams kept by name, up to this many bytes (longer ones are not kept) */
#define STREAM_KEY_BYTES	64

/* A run of consecutive seqs loaded */
typedef struct SeqRun
{
	int64		lo;				/* its first seq */
	int64		hi;				/* its last seq */
	EvlogHead	hi_head;		/* the row at hi */
	HeapTuple	lo_tuple;		/* the row at lo, until its link is checked */
} SeqRun;

/* An entry of the runs by first or by last seq */
typedef struct SeqRunEntry
{
	int64		seq;			/* hash key */
	SeqRun	   *run;
} SeqRunEntry;

/* A run of consecutive versions of one stream, and the seqs of its ends */
typedef struct VersionRun
{
	int64		vlo;
	int64		vhi;
	int64		seq_lo;
	int64		seq_hi;
} VersionRun;

/* A stream kept: its runs of versions, sorted by vlo */
typedef struct StreamRuns
{
	char		stream[STREAM_KEY_BYTES + 1];	/* hash key: NUL-terminated */
	int			nruns;
	int			maxruns;		/* allocated */
	VersionRun *runs;
} StreamRuns;

struct EvlogLoadProof
{
	MemoryContext cxt;			/* everything below */
	Size		budget;			/* bytes cxt may hold: work_mem */
	TupleDesc	desc;			/* the log's */
	EvlogChainHasher *hasher;
	EvlogHead	base;			/* the head before the load (seq 0) */
	int64		rows;			/* rows loaded */
	int64		min_seq;
	EvlogHead	last;			/* the row with the highest seq */
	bool		doubt;			/* a check failed or the state overflowed */
	SeqRun	   *cur;			/* the run the last row belongs to */
	HTAB	   *by_lo;			/* runs whose first row's link is open */
	HTAB	   *by_hi;			/* closed runs, by last seq */
	HTAB	   *streams;		/* StreamRuns */
	bool		streams_full;	/* no stream is added any more */
	int64	   *versions;		/* seqs whose stream predecessor is open */
	int			nversions;
	int			maxversions;	/* allocated */
};

/*
 * over_budget
 *		Does the proof's state hold work_mem or more?
 */
static bool
over_budget(EvlogLoadProof *lp)
{
	return MemoryContextMemAllocated(lp->cxt, true) >= lp->budget;
}

/*
 * check_link
 *		Check that ev continues prev (restore.c); doubt the load if not.
 */
static void
check_link(EvlogLoadProof *lp, const EvlogHead *prev, const EvlogEvent *ev)
{
	if (evlog_restore_link_fault(lp->hasher, prev, ev) != NULL)
		lp->doubt = true;
}

/*
 * take_run
 *		Remove the run keyed by seq from runs and return it, or NULL.
 */
static SeqRun *
take_run(HTAB *runs, int64 seq)
{
	SeqRunEntry *e = hash_search(runs, &seq, HASH_REMOVE, NULL);

	return e ? e->run : NULL;
}

/*
 * put_run
 *		Key run by seq in runs; return false when seq is keyed already (a
 *		seq loaded twice, which the primary key's build refuses).
 */
static bool
put_run(HTAB *runs, int64 seq, SeqRun *run)
{
	bool		found;
	SeqRunEntry *e = hash_search(runs, &seq, HASH_ENTER, &found);

	e->run = run;
	return !found;
}

/*
 * close_run
 *		The current run r ends: join it to the closed run that starts right
 *		after it, checking the link between them, or keep it by its last seq.
 */
static void
close_run(EvlogLoadProof *lp, SeqRun *r)
{
	SeqRun	   *s = take_run(lp->by_lo, r->hi + 1);

	if (s != NULL)
	{
		EvlogEvent	first;
		SeqRunEntry *e;

		evlog_event_from_tuple(s->lo_tuple, lp->desc, &first);
		check_link(lp, &r->hi_head, &first);
		r->hi = s->hi;
		r->hi_head = s->hi_head;
		e = hash_search(lp->by_hi, &s->hi, HASH_FIND, NULL);
		if (e != NULL && e->run == s)
			e->run = r;
		else
			lp->doubt = true;
		heap_freetuple(s->lo_tuple);
		pfree(s);
	}
	else if (!put_run(lp->by_hi, r->hi, r))
		lp->doubt = true;
}

/*
 * load_link
 *		Place ev (whose row is tuple) in the runs of seqs, checking its link
 *		to the row before it in seq when that was loaded already.
 */
static void
load_link(EvlogLoadProof *lp, const EvlogEvent *ev, HeapTuple tuple)
{
	SeqRun	   *r = lp->cur;
	MemoryContext oldcxt;

	if (r != NULL && ev->seq == r->hi + 1)
	{
		check_link(lp, &r->hi_head, ev);
		r->hi = ev->seq;
		evlog_restore_head_of(ev, &r->hi_head);
		return;
	}
	if (r != NULL)
		close_run(lp, r);
	lp->cur = NULL;

	r = take_run(lp->by_hi, ev->seq - 1);
	if (r != NULL)
		check_link(lp, &r->hi_head, ev);
	else if (over_budget(lp))
	{
		lp->doubt = true;
		return;
	}
	else
	{
		r = MemoryContextAllocZero(lp->cxt, sizeof(SeqRun));
		r->lo = ev->seq;
		if (ev->seq == lp->base.seq + 1)
			check_link(lp, &lp->base, ev);
		else
		{
			oldcxt = MemoryContextSwitchTo(lp->cxt);
			r->lo_tuple = heap_copytuple(tuple);
			MemoryContextSwitchTo(oldcxt);
			if (!put_run(lp->by_lo, ev->seq, r))
				lp->doubt = true;
		}
	}
	r->hi = ev->seq;
	evlog_restore_head_of(ev, &r->hi_head);
	lp->cur = r;
}

/*
 * defer_version
 *		Leave the stream version of seq to be checked after the index
 *		builds; doubt the load when that would not fit in work_mem.
 */
static void
defer_version(EvlogLoadProof *lp, int64 seq)
{
	if (lp->nversions == lp->maxversions)
	{
		if (over_budget(lp) || lp->maxversions >= (int) (MaxAllocSize / sizeof(int64) / 2))
		{
			lp->doubt = true;
			return;
		}
		lp->maxversions = Max(1024, lp->maxversions * 2);
		lp->versions = lp->versions
			? repalloc(lp->versions, sizeof(int64) * lp->maxversions)
			: MemoryContextAlloc(lp->cxt, sizeof(int64) * lp->maxversions);
	}
	lp->versions[lp->nversions++] = seq;
}

/*
 * add_version
 *		Put version v of sr's stream, at seq, in its runs: extend a run whose
 *		end is v - 1 or whose start is v + 1 (joining two runs when it fills
 *		the hole between them), checking that the seqs rise with the
 *		versions, or start a run of its own.  Doubts the load when a check
 *		fails, v was seen already, or a new run would not fit in work_mem.
 */
static void
add_version(EvlogLoadProof *lp, StreamRuns *sr, int64 v, int64 seq)
{
	VersionRun *runs = sr->runs;
	int			i;

	/* the last run that starts at or below v: mostly the last run */
	for (i = sr->nruns - 1; i >= 0 && runs[i].vlo > v; i--)
		;
	if (i >= 0 && v <= runs[i].vhi)
	{
		lp->doubt = true;
		return;
	}
	if (i >= 0 && runs[i].vhi == v - 1)
	{
		if (runs[i].seq_hi > seq)
			lp->doubt = true;
		runs[i].vhi = v;
		runs[i].seq_hi = seq;
		if (i + 1 < sr->nruns && runs[i + 1].vlo == v + 1)
		{
			if (seq > runs[i + 1].seq_lo)
				lp->doubt = true;
			runs[i].vhi = runs[i + 1].vhi;
			runs[i].seq_hi = runs[i + 1].seq_hi;
			memmove(&runs[i + 1], &runs[i + 2],
					sizeof(VersionRun) * (sr->nruns - i - 2));
			sr->nruns--;
		}
		return;
	}
	if (i + 1 < sr->nruns && runs[i + 1].vlo == v + 1)
	{
		if (seq > runs[i + 1].seq_lo)
			lp->doubt = true;
		runs[i + 1].vlo = v;
		runs[i + 1].seq_lo = seq;
		return;
	}

	/* a run of its own, after run i */
	if (sr->nruns == sr->maxruns)
	{
		if (over_budget(lp))
		{
			lp->doubt = true;
			return;
		}
		sr->maxruns = Max(2, sr->maxruns * 2);
		sr->runs = runs = sr->runs
			? repalloc(sr->runs, sizeof(VersionRun) * sr->maxruns)
			: MemoryContextAlloc(lp->cxt, sizeof(VersionRun) * sr->maxruns);
	}
	memmove(&runs[i + 2], &runs[i + 1], sizeof(VersionRun) * (sr->nruns - i - 1));
	runs[i + 1].vlo = runs[i + 1].vhi = v;
	runs[i + 1].seq_lo = runs[i + 1].seq_hi = seq;
	sr->nruns++;
}

/*
 * load_version
 *		Put ev's stream version in its stream's runs; for a stream not kept
 *		(too long a name, or first seen when work_mem was full), leave a
 *		version above 1 to be checked after the index builds.
 */
static void
load_version(EvlogLoadProof *lp, const EvlogEvent *ev)
{
	char		key[STREAM_KEY_BYTES + 1];
	int			len = VARSIZE_ANY_EXHDR(ev->stream);
	StreamRuns *sr = NULL;

	if (len <= STREAM_KEY_BYTES)
	{
		memset(key, 0, sizeof(key));
		memcpy(key, VARDATA_ANY(ev->stream), len);
		sr = hash_search(lp->streams, key, HASH_FIND, NULL);
		if (sr == NULL && !lp->streams_full)
		{
			if (over_budget(lp))
				lp->streams_full = true;
			else
			{
				sr = hash_search(lp->streams, key, HASH_ENTER, NULL);
				sr->nruns = sr->maxruns = 0;
				sr->runs = NULL;
			}
		}
	}
	if (sr != NULL)
		add_version(lp, sr, ev->stream_version, ev->seq);
	else if (ev->stream_version > 1)
		defer_version(lp, ev->seq);
}

/*
 * evlog_loadproof_begin
 *		Start the proof of the rows a COPY is about to load into rel, the
 *		log, which is empty and into which this transaction inserts directly
 *		(restorecopy.c, after evlog_check_direct_insert).  Its state lives in
 *		a memory context under the current one, kept under work_mem.
 */
EvlogLoadProof *
evlog_loadproof_begin(Relation rel)
{
	EvlogLoadProof *lp = palloc0_object(EvlogLoadProof);
	HASHCTL		ctl;
	bool		active PG_USED_FOR_ASSERTS_ONLY;

	lp->cxt = AllocSetContextCreate(CurrentMemoryContext, "evlog load proof",
									ALLOCSET_DEFAULT_SIZES);
	lp->budget = (Size) work_mem * 1024;
	lp->desc = RelationGetDescr(rel);
	active = evlog_restore_head(RelationGetRelid(rel), &lp->base);
	Assert(active && lp->base.seq == 0);
	lp->last = lp->base;
	lp->hasher = evlog_chain_hasher_create();

	ctl.keysize = sizeof(int64);
	ctl.entrysize = sizeof(SeqRunEntry);
	ctl.hcxt = lp->cxt;
	lp->by_lo = hash_create("evlog load runs by first seq", 256, &ctl,
							HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	lp->by_hi = hash_create("evlog load runs by last seq", 256, &ctl,
							HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	ctl.keysize = STREAM_KEY_BYTES + 1;
	ctl.entrysize = sizeof(StreamRuns);
	lp->streams = hash_create("evlog load streams", 1024, &ctl,
							  HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	return lp;
}

/*
 * evlog_loadproof_row
 *		Prove a row of the log as it is loaded, before it is inserted: its
 *		links and its stream version, as far as the rows loaded so far allow.
 *		Allocates what it keeps in the proof's context, the rest in the
 *		current (the caller's per-row) context.  Raises nothing: a failed
 *		check makes the load doubtful, and evlog_loadproof_end then names it.
 */
void
evlog_loadproof_row(EvlogLoadProof *lp, HeapTuple tuple)
{
	EvlogEvent	ev;

	lp->rows++;
	if (lp->doubt)
		return;
	evlog_event_from_tuple(tuple, lp->desc, &ev);
	if (lp->rows == 1 || ev.seq < lp->min_seq)
		lp->min_seq = ev.seq;
	if (ev.seq > lp->last.seq)
		evlog_restore_head_of(&ev, &lp->last);
	load_link(lp, &ev, tuple);
	load_version(lp, &ev);
}

/*
 * fetch_event
 *		Read the event seq of rel into *ev (allocated in the current memory
 *		context) through the primary key, with SnapshotSelf; return false
 *		when there is none.  The caller holds rel and pkey open.
 */
static bool
fetch_event(Relation rel, Relation pkey, int64 seq, EvlogEvent *ev)
{
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tuple;
	bool		found;

	ScanKeyInit(&key, Anum_events_seq, BTEqualStrategyNumber,
				F_INT8EQ, Int64GetDatum(seq));
	scan = systable_beginscan_ordered(rel, pkey, SnapshotSelf, 1, &key);
	tuple = systable_getnext_ordered(scan, ForwardScanDirection);
	found = (tuple != NULL);
	if (found)
		evlog_event_from_tuple(tuple, RelationGetDescr(rel), ev);
	systable_endscan_ordered(scan);
	return found;
}

/*
 * cmp_seq
 *		qsort comparator of int64 seqs.
 */
static int
cmp_seq(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return (x > y) - (x < y);
}

/*
 * deferred_versions_hold
 *		Does every stream version left open have its predecessor at a lower
 *		seq?  Checked in seq order (the heap is mostly in seq order), two
 *		index probes each, in a per-check memory context.
 */
static bool
deferred_versions_hold(EvlogLoadProof *lp, Relation rel)
{
	Relation	pkey;
	Relation	stream_idx;
	MemoryContext cxt;
	MemoryContext oldcxt;
	bool		hold = true;

	if (lp->nversions == 0)
		return true;
	qsort(lp->versions, lp->nversions, sizeof(int64), cmp_seq);
	pkey = index_open(evlog_relid(EVLOG_EVENTS_PKEY), AccessShareLock);
	stream_idx = index_open(evlog_relid(EVLOG_EVENTS_STREAM_IDX), AccessShareLock);
	cxt = AllocSetContextCreate(CurrentMemoryContext, "evlog restore check",
								ALLOCSET_DEFAULT_SIZES);
	oldcxt = MemoryContextSwitchTo(cxt);
	for (int i = 0; hold && i < lp->nversions; i++)
	{
		EvlogEvent	ev;

		CHECK_FOR_INTERRUPTS();
		hold = fetch_event(rel, pkey, lp->versions[i], &ev) &&
			evlog_restore_earlier_version(rel, stream_idx, &ev);
		MemoryContextReset(cxt);
	}
	MemoryContextSwitchTo(oldcxt);
	MemoryContextDelete(cxt);
	index_close(stream_idx, AccessShareLock);
	index_close(pkey, AccessShareLock);
	return hold;
}

/*
 * load_is_whole
 *		With the log's unique indexes built over the loaded rows: are their
 *		seqs one run from the head's successor to head + rows, every link
 *		checked, every stream kept one run of versions from 1, and every
 *		version left open preceded in its stream?
 */
static bool
load_is_whole(EvlogLoadProof *lp, Relation rel)
{
	HASH_SEQ_STATUS hs;
	StreamRuns *sr;

	if (lp->cur != NULL && !lp->doubt)
		close_run(lp, lp->cur);
	lp->cur = NULL;
	if (lp->doubt || lp->rows == 0 ||
		lp->min_seq != lp->base.seq + 1 ||
		lp->last.seq != lp->base.seq + lp->rows ||
		hash_get_num_entries(lp->by_lo) != 0 ||
		hash_get_num_entries(lp->by_hi) != 1)
		return false;
	hash_seq_init(&hs, lp->streams);
	while ((sr = hash_seq_search(&hs)) != NULL)
	{
		if (sr->nruns != 1 || sr->runs[0].vlo != 1)
		{
			hash_seq_term(&hs);
			return false;
		}
	}
	return deferred_versions_hold(lp, rel);
}

/*
 * evlog_loadproof_end
 *		After the COPY loaded its rows into rel and the log's indexes were
 *		built over them: when the load is whole, the rows are proven (the
 *		highest becomes the last event proven); otherwise prove them again
 *		in seq order with evlog_restore_verify, which raises EV001 naming the
 *		first seq that fails (or proves them, when the proof only ran out of
 *		work_mem).  Frees lp.  Takes AccessShareLock on the log's indexes.
 */
void
evlog_loadproof_end(EvlogLoadProof *lp, Relation rel)
{
	bool		whole = load_is_whole(lp, rel);

	elog(DEBUG1, "evlog restore: " INT64_FORMAT " rows loaded, %ld streams kept, %d stream versions checked after the load, %zu bytes of proof state%s",
		 lp->rows, hash_get_num_entries(lp->streams), lp->nversions,
		 MemoryContextMemAllocated(lp->cxt, true),
		 whole ? "" : ", proven again in seq order");
	if (whole)
		evlog_restore_proven(&lp->last);
	else if (lp->rows > 0)
		evlog_restore_verify();
	evlog_chain_hasher_free(lp->hasher);
	MemoryContextDelete(lp->cxt);
	pfree(lp);
}
