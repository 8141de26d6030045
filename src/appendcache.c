/*-------------------------------------------------------------------------
 *
 * appendcache.c
 *	  What an appending transaction knows of the log while it holds the
 *	  sequencer: the head, and the versions of the streams it touched.
 *
 * While a transaction holds the sequencer nobody else appends, so after its
 * first look at the head (under the lock, checked against its snapshot) the
 * head and the versions of the streams it appends to change only by its own
 * appends, which update this cache.  That saves an index probe of the head
 * per append call (each row of a COPY into evlog.append_queue is one), and a
 * stream-version probe per event of a stream already appended to in the
 * transaction (evlog_append_batch).
 *
 * The cache is forgotten whenever that reasoning may not hold: at the end of
 * the transaction, when any subtransaction rolls back (it may have undone
 * appends, or released a sequencer it had taken), when a row enters the log
 * other than through the sequencer (pg_restore), and when evlog.events is
 * not the relation it was filled from (the extension was dropped and
 * created again).  At most EVLOG_STREAM_CACHE_MAX streams are kept; the
 * others are looked up in the index each time.
 *
 * As an appending transaction commits, still holding the sequencer, it
 * publishes what it knows for the next holder (seqstate.c): the head and
 * every stream version, when it knows all it appended; otherwise it makes
 * the shared state invalid.  It does the same when it prepares, and when
 * an insert into the log failed (a unique violation says the state it read
 * was stale, which must never be, but is then not believed again).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "common/hashfn.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"

#include "evlog.h"
#include "locks.h"
#include "appendcache.h"
#include "seqstate.h"
#include "sequencer.h"

/* The most streams whose version one transaction keeps */
#define EVLOG_STREAM_CACHE_MAX 100000

typedef struct StreamVersionEntry
{
	text	   *stream;			/* hash key: a copy in stream_cxt */
	int64		version;
} StreamVersionEntry;

static Oid	cache_relid = InvalidOid;	/* evlog.events it describes */
static bool head_valid = false;
static EvlogHead cached;
static MemoryContext stream_cxt = NULL;
static HTAB *stream_versions = NULL;

/* This transaction appended; it forgot or could not keep something since */
static bool xact_appended = false;
static bool xact_incomplete = false;

/* An insert into the log is under way (set around heap and index inserts) */
static bool inserting = false;

static void appendcache_xact_callback(XactEvent event, void *arg);
static void appendcache_subxact_callback(SubXactEvent event,
										 SubTransactionId mySubid,
										 SubTransactionId parentSubid,
										 void *arg);

/*
 * stream_hash, stream_match
 *		dynahash support for keys that are text pointers: hash and compare
 *		the bytes they point to.
 */
static uint32
stream_hash(const void *key, Size keysize)
{
	text	   *t = *(text *const *) key;

	return DatumGetUInt32(hash_any((const unsigned char *) VARDATA_ANY(t),
								   VARSIZE_ANY_EXHDR(t)));
}

static int
stream_match(const void *key1, const void *key2, Size keysize)
{
	text	   *a = *(text *const *) key1;
	text	   *b = *(text *const *) key2;
	Size		len = VARSIZE_ANY_EXHDR(a);

	if (len != VARSIZE_ANY_EXHDR(b))
		return 1;
	return memcmp(VARDATA_ANY(a), VARDATA_ANY(b), len);
}

/*
 * evlog_cached_head
 *		Copy the head this transaction knows into *head and return true, or
 *		return false when it knows none for relid.  Takes no locks.
 */
bool
evlog_cached_head(Oid relid, EvlogHead *head)
{
	if (!head_valid || relid != cache_relid)
		return false;
	*head = cached;
	return true;
}

/*
 * evlog_cache_head
 *		Remember *head as the head of relid, the evlog.events of this
 *		database.  The caller holds the sequencer and has checked the head
 *		against its snapshot, or wrote it.  Switching relid forgets the
 *		streams.  Takes no locks; raises nothing.
 */
void
evlog_cache_head(Oid relid, const EvlogHead *head)
{
	if (relid != cache_relid)
		evlog_appendcache_forget();
	cache_relid = relid;
	cached = *head;
	head_valid = true;
	if (head->ours)
		xact_appended = true;
}

/*
 * evlog_cached_stream_version
 *		Set *version to the version of stream this transaction knows and
 *		return true, or return false.  Only answers while the head is known.
 *		Takes no locks.
 */
bool
evlog_cached_stream_version(text *stream, int64 *version)
{
	StreamVersionEntry *entry;

	if (!head_valid || stream_versions == NULL)
		return false;
	entry = hash_search(stream_versions, &stream, HASH_FIND, NULL);
	if (entry == NULL)
		return false;
	*version = entry->version;
	return true;
}

/*
 * evlog_cache_stream_version
 *		Remember that stream is at version, right after this transaction
 *		appended its event of that version.  Does nothing while the head is
 *		not known, or when EVLOG_STREAM_CACHE_MAX other streams are kept.
 *		Raises out-of-memory only.
 */
void
evlog_cache_stream_version(text *stream, int64 version)
{
	StreamVersionEntry *entry;
	bool		found;

	if (!head_valid)
		return;
	if (stream_versions == NULL)
	{
		HASHCTL		ctl;

		stream_cxt = AllocSetContextCreate(TopTransactionContext,
										   "evlog stream versions",
										   ALLOCSET_DEFAULT_SIZES);
		ctl.keysize = sizeof(text *);
		ctl.entrysize = sizeof(StreamVersionEntry);
		ctl.hash = stream_hash;
		ctl.match = stream_match;
		ctl.hcxt = stream_cxt;
		stream_versions = hash_create("evlog stream versions", 16, &ctl,
									  HASH_ELEM | HASH_FUNCTION |
									  HASH_COMPARE | HASH_CONTEXT);
	}
	entry = hash_search(stream_versions, &stream, HASH_FIND, NULL);
	if (entry == NULL)
	{
		text	   *copy;

		if (hash_get_num_entries(stream_versions) >= EVLOG_STREAM_CACHE_MAX)
		{
			xact_incomplete = true;
			return;
		}
		copy = (text *) MemoryContextAlloc(stream_cxt, VARSIZE_ANY(stream));
		memcpy(copy, stream, VARSIZE_ANY(stream));
		entry = hash_search(stream_versions, &copy, HASH_ENTER, &found);
	}
	entry->version = version;
}

/*
 * evlog_appendcache_forget
 *		Forget the head and every stream version.  Takes no locks; raises
 *		nothing.
 */
void
evlog_appendcache_forget(void)
{
	if (head_valid || xact_appended)
		xact_incomplete = true;
	head_valid = false;
	cache_relid = InvalidOid;
	if (stream_cxt != NULL)
		MemoryContextDelete(stream_cxt);
	stream_cxt = NULL;
	stream_versions = NULL;
}

/*
 * evlog_xact_appended
 *		Has this transaction appended (an event, perhaps since rolled back
 *		with a subtransaction)?  Known until the end of the transaction.
 */
bool
evlog_xact_appended(void)
{
	return xact_appended;
}

/*
 * evlog_appendcache_trusts_shared
 *		May this transaction take the head and stream versions that the last
 *		appender published (seqstate.c)?  Not once it has forgotten
 *		something since it appended: its own surviving events are then
 *		known only to the log.
 */
bool
evlog_appendcache_trusts_shared(void)
{
	return !xact_incomplete;
}

/*
 * evlog_appendcache_inserting
 *		Say that an insert into the log starts (true) or has ended (false):
 *		a transaction that aborts in between makes the shared state invalid.
 */
void
evlog_appendcache_inserting(bool now_inserting)
{
	inserting = now_inserting;
}

/*
 * publish_head_at_commit
 *		At commit of a transaction that appended: publish the head and the
 *		stream versions, or, when this transaction does not know them all,
 *		make the shared state invalid.  Only while holding the sequencer:
 *		without it, none of this transaction's events survived.
 */
static void
publish_head_at_commit(void)
{
	HASH_SEQ_STATUS status;
	StreamVersionEntry *entry;

	if (!xact_appended || !evlog_sequencer_held())
		return;
	if (xact_incomplete || !head_valid || !cached.ours ||
		!evlog_publish_head(cache_relid, &cached))
	{
		evlog_seqstate_invalidate();
		return;
	}
	if (stream_versions == NULL)
		return;
	hash_seq_init(&status, stream_versions);
	while ((entry = hash_seq_search(&status)) != NULL)
		evlog_publish_stream_version(entry->stream, entry->version);
}

/*
 * appendcache_xact_callback, appendcache_subxact_callback
 *		At commit, publish the head (see publish_head_at_commit); at pre-prepare, and at abort in
 *		the middle of an insert, make the shared state invalid.  Forget
 *		everything at the end of a transaction (its memory goes with
 *		TopTransactionContext) and when a subtransaction rolls back.
 */
static void
appendcache_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_COMMIT)
		publish_head_at_commit();
	else if ((event == XACT_EVENT_PRE_PREPARE && xact_appended) ||
			 (event == XACT_EVENT_ABORT && inserting))
	{
		if (evlog_sequencer_held())
			evlog_seqstate_invalidate();
	}
	if (evlog_xact_ended(event))
	{
		xact_appended = xact_incomplete = inserting = false;
		head_valid = false;
		cache_relid = InvalidOid;
		stream_cxt = NULL;
		stream_versions = NULL;
	}
}

static void
appendcache_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
							 SubTransactionId parentSubid, void *arg)
{
	if (event != SUBXACT_EVENT_ABORT_SUB)
		return;
	if (inserting && evlog_sequencer_held())
		evlog_seqstate_invalidate();
	inserting = false;
	evlog_appendcache_forget();
}

/*
 * evlog_appendcache_init
 *		Register the callbacks; called once per backend from _PG_init.
 */
void
evlog_appendcache_init(void)
{
	RegisterXactCallback(appendcache_xact_callback, NULL);
	RegisterSubXactCallback(appendcache_subxact_callback, NULL);
}
