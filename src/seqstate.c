/*-------------------------------------------------------------------------
 *
 * seqstate.c
 *	  The sequencer's shared state: the head and recent stream versions of
 *	  each database, published by appending transactions as they commit.
 *
 * Every append reads the head and its stream's version under the sequencer
 * (sequencer.c).  Read from the log, that is two index probes and two heap
 * fetches per append.  With the library preloaded, the transaction that
 * holds the sequencer of a database publishes here, as it commits and while
 * it still holds the sequencer, the head it wrote and the versions of the
 * streams it appended to (appendcache.c knows them).  The next holder of
 * the sequencer reads them here instead of from the log.
 *
 * Everything below a database's entry is read and written only by the
 * holder of that database's sequencer, which orders all access (lock
 * acquisition and release are memory barriers); evlog_shared->lock only
 * guards the assignment of entries to databases.
 *
 * The state is only ever a copy of what is committed, so it is made invalid
 * whenever that may not hold: when the committing transaction does not know
 * all it appended (a subtransaction rolled back, a row was restored directly,
 * too many streams), when a transaction is prepared (COMMIT PREPARED runs
 * none of evlog's code), when an insert into the log failed in a transaction
 * that read the state (a stale state shows as a unique violation), and at
 * every server start.  Invalidating bumps a generation number, so that no
 * stream entry of the old one is believed.
 *
 * Stream versions are kept direct-mapped, evlog.shared_streams entries per
 * database, for streams of at most EVLOG_SEQSTATE_STREAM_BYTES bytes; an
 * entry records the whole stream name, so a collision only costs a probe.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/guc.h"

#include "common/hashfn.h"
#include "miscadmin.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"

#include "evlog.h"
#include "seqstate.h"

/* evlog.shared_streams: stream versions kept per database */
static int	evlog_shared_streams = 4096;

typedef struct SharedStream
{
	uint32		generation;		/* valid when it is the database's */
	uint16		len;
	int64		version;
	char		stream[EVLOG_SEQSTATE_STREAM_BYTES];
} SharedStream;

typedef struct SeqState
{
	Oid			dboid;			/* InvalidOid: unassigned */
	Oid			relid;			/* evlog.events the state describes */
	uint32		generation;
	bool		head_valid;
	EvlogHead	head;
	SharedStream streams[FLEXIBLE_ARRAY_MEMBER];
} SeqState;

/* The first entry; entries are state_size() bytes apart */
static char *states = NULL;

/* This backend's database's entry, once found or assigned */
static SeqState *my_state = NULL;

/* The lock that guards the assignment of entries to databases (shmem.c) */
static LWLock *assign_lock = NULL;

/*
 * state_size
 *		Bytes of one database's entry.
 */
static Size
state_size(void)
{
	return MAXALIGN(add_size(offsetof(SeqState, streams),
							 mul_size(evlog_shared_streams, sizeof(SharedStream))));
}

/*
 * evlog_seqstate_size
 *		Shared memory this module needs; called from shmem_request_hook.
 */
Size
evlog_seqstate_size(void)
{
	return mul_size(EVLOG_SEQSTATE_DATABASES, state_size());
}

/*
 * evlog_seqstate_attach
 *		Attach to the state (zeroing it the first time), from
 *		shmem_startup_hook, which holds AddinShmemInitLock.  lock is the
 *		LWLock that guards the assignment of entries to databases (shmem.c
 *		owns it).
 */
void
evlog_seqstate_attach(LWLock *lock)
{
	bool		found;

	assign_lock = lock;

	states = ShmemInitStruct("evlog sequencer state", evlog_seqstate_size(),
							 &found);
	if (!found)
		memset(states, 0, evlog_seqstate_size());
}

/*
 * state_for_my_database
 *		This database's entry, assigned on first use; NULL without the
 *		preloaded library, or when every entry belongs to another database
 *		(entries are not given back before the server restarts).  Takes
 *		the assignment lock (evlog_shared->lock) the first time.
 */
static SeqState *
state_for_my_database(void)
{
	if (my_state != NULL)
		return my_state;
	if (states == NULL || assign_lock == NULL)
		return NULL;
	LWLockAcquire(assign_lock, LW_EXCLUSIVE);
	for (int i = 0; i < EVLOG_SEQSTATE_DATABASES && my_state == NULL; i++)
	{
		SeqState   *s = (SeqState *) (states + i * state_size());

		if (s->dboid == MyDatabaseId)
			my_state = s;
		else if (s->dboid == InvalidOid)
		{
			s->dboid = MyDatabaseId;
			s->head_valid = false;
			s->generation++;
			my_state = s;
		}
	}
	LWLockRelease(assign_lock);
	return my_state;
}

/*
 * stream_entry
 *		The entry stream maps to, or NULL when streams are not kept
 *		(evlog.shared_streams = 0: only the head is) or the stream is too
 *		long.
 */
static SharedStream *
stream_entry(SeqState *s, text *stream)
{
	Size		len = VARSIZE_ANY_EXHDR(stream);

	if (evlog_shared_streams == 0 || len > EVLOG_SEQSTATE_STREAM_BYTES)
		return NULL;
	return &s->streams[hash_bytes((const unsigned char *) VARDATA_ANY(stream), len) %
					   evlog_shared_streams];
}

/*
 * evlog_shared_head
 *		Copy the published head of relid into *head and return true, or
 *		return false.  The caller holds the sequencer.
 */
bool
evlog_shared_head(Oid relid, EvlogHead *head)
{
	SeqState   *s = state_for_my_database();

	if (s == NULL || !s->head_valid || s->relid != relid)
		return false;
	*head = s->head;
	head->ours = false;
	return true;
}

/*
 * evlog_shared_stream_version
 *		Set *version to the published version of stream and return true, or
 *		return false.  The caller holds the sequencer.
 */
bool
evlog_shared_stream_version(Oid relid, text *stream, int64 *version)
{
	SeqState   *s = state_for_my_database();
	SharedStream *e;

	if (s == NULL || !s->head_valid || s->relid != relid ||
		(e = stream_entry(s, stream)) == NULL)
		return false;
	if (e->generation != s->generation ||
		e->len != VARSIZE_ANY_EXHDR(stream) ||
		memcmp(e->stream, VARDATA_ANY(stream), e->len) != 0)
		return false;
	*version = e->version;
	return true;
}

/*
 * evlog_publish_head
 *		Publish head as the head of relid, as the transaction that wrote it
 *		commits.  Returns false when there is no state to publish to.  The
 *		caller holds the sequencer and publishes the versions of every
 *		stream it appended to next.
 */
bool
evlog_publish_head(Oid relid, const EvlogHead *head)
{
	SeqState   *s = state_for_my_database();

	if (s == NULL)
		return false;
	if (s->relid != relid)
	{
		s->generation++;
		s->relid = relid;
	}
	s->head = *head;
	s->head_valid = true;
	return true;
}

/*
 * evlog_publish_stream_version
 *		Publish that stream is at version.  The caller holds the sequencer
 *		and has published the head.
 */
void
evlog_publish_stream_version(text *stream, int64 version)
{
	SeqState   *s = my_state;
	SharedStream *e;

	if (s == NULL || (e = stream_entry(s, stream)) == NULL)
		return;
	e->generation = s->generation;
	e->len = VARSIZE_ANY_EXHDR(stream);
	memcpy(e->stream, VARDATA_ANY(stream), e->len);
	e->version = version;
}

/*
 * evlog_seqstate_invalidate
 *		Forget this database's published head and stream versions.  The
 *		caller holds the sequencer.
 */
void
evlog_seqstate_invalidate(void)
{
	SeqState   *s = state_for_my_database();

	if (s == NULL)
		return;
	s->head_valid = false;
	s->generation++;
}

/*
 * evlog_seqstate_init
 *		Define the GUCs of this module (evlog.shared_streams, which sizes
 *		shared memory: only while preloading); called from _PG_init before
 *		the "evlog" prefix is reserved.  Takes no locks.
 */
void
evlog_seqstate_init(void)
{
	if (process_shared_preload_libraries_in_progress)
		DefineCustomIntVariable("evlog.shared_streams",
								"Stream versions per database the sequencer keeps in shared memory.",
								"Appends to a stream whose version is kept skip an index probe; 0 keeps only the head.",
								&evlog_shared_streams,
								4096, 0, 1024 * 1024,
								PGC_POSTMASTER, 0,
								NULL, NULL, NULL);
}
