/*-------------------------------------------------------------------------
 *
 * oidcache.c
 *	  Per-backend caches that keep catalog lookups off the append path.
 *
 * The OIDs of evlog's relations (schema evlog) are looked up by name once
 * and kept until a relcache invalidation names one of them (DROP EXTENSION
 * sends one) or all relations.  Two notes ride on the same invalidations:
 * whether the registry holds active sync or async projections, and whether
 * any event type is defined; the functions that change those tables invalidate
 * their relcache entries, so every backend looks again.  An appender takes
 * the sequencer before it asks about sync projections and processes
 * invalidations then; registry changes take the sequencer too, so the note
 * it reads is never older than the last change.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"

#include "evlog.h"
#include "oidcache.h"

#define RELID_CACHE_SIZE 16

typedef struct RelidCacheEntry
{
	const char *name;			/* a string constant of the caller's */
	Oid			relid;
} RelidCacheEntry;

static RelidCacheEntry relid_cache[RELID_CACHE_SIZE];
static int	relid_cache_used = 0;

/* -1: unknown; else EVLOG_HAS_SYNC | EVLOG_HAS_ASYNC bits */
static int	registry_note = -1;

/* -1: unknown, 0: none, 1: some */
static int	contracts_note = -1;

/* evlog.events whose column names evlog_check_events_columns accepted */
static Oid	events_columns_checked = InvalidOid;

/*
 * The columns of evlog.events at positions 1..Natts_events, as evlog.h's
 * Anum_events_* numbers them.
 */
static const char *const events_columns[Natts_events] = {
	"seq", "stream", "stream_version", "type", "type_version", "payload",
	"metadata", "idempotency_key", "actor", "recorded_at", "digest"
};

/*
 * relcache_callback
 *		Forget the cached OIDs when any of them (or every relation) is
 *		invalidated, the notes when their table is, and that evlog.events's
 *		columns were checked when it is (an ALTER TABLE sends one).
 */
static void
relcache_callback(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == events_columns_checked)
		events_columns_checked = InvalidOid;
	for (int i = 0; i < relid_cache_used; i++)
	{
		if (relid != InvalidOid && relid_cache[i].relid != relid)
			continue;
		relid_cache_used = 0;
		registry_note = -1;
		contracts_note = -1;
		return;
	}
	if (relid == InvalidOid)
	{
		registry_note = -1;
		contracts_note = -1;
	}
}

/*
 * evlog_relid_if_exists
 *		The OID of the named relation of schema evlog, or InvalidOid.  name
 *		must be a string constant (it is kept).  Takes no locks; raises
 *		nothing.
 */
Oid
evlog_relid_if_exists(const char *name)
{
	Oid			nsp;
	Oid			relid;

	for (int i = 0; i < relid_cache_used; i++)
		if (relid_cache[i].name == name || strcmp(relid_cache[i].name, name) == 0)
			return relid_cache[i].relid;

	nsp = get_namespace_oid(EVLOG_SCHEMA, true);
	relid = OidIsValid(nsp) ? get_relname_relid(name, nsp) : InvalidOid;
	if (OidIsValid(relid) && relid_cache_used < RELID_CACHE_SIZE)
	{
		relid_cache[relid_cache_used].name = name;
		relid_cache[relid_cache_used].relid = relid;
		relid_cache_used++;
	}
	return relid;
}

/*
 * evlog_relid
 *		The OID of the named relation of schema evlog that belongs to the log
 *		(evlog.events, one of its indexes, the registry, ...).
 *
 * Raises 55000 object_not_in_prerequisite_state when it is missing, which
 * means the extension is not installed in this database.  Takes no locks.
 */
Oid
evlog_relid(const char *name)
{
	Oid			relid = evlog_relid_if_exists(name);

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("relation evlog.%s of the log does not exist", name),
				 errhint("Run CREATE EXTENSION evlog in this database.")));
	return relid;
}

/*
 * evlog_check_events_columns
 *		Raise 55000 object_not_in_prerequisite_state unless evlog.events
 *		(relid) has exactly the columns 1..Natts_events, with the names
 *		evlog.h's Anum_events_* give them.
 *
 * evlog reads and writes an event's columns by position, which costs
 * nothing per row; this check, once per backend and again after each
 * invalidation of the table, makes sure an update that added, dropped or
 * reordered a column cannot make evlog read one column as another, nor
 * form a row without a column it does not know.  Takes no locks beyond the
 * syscache's.
 */
void
evlog_check_events_columns(Oid relid)
{
	if (relid == events_columns_checked)
		return;
	for (int i = 0; i < Natts_events; i++)
	{
		char	   *att = get_attname(relid, i + 1, true);

		if (att == NULL || strcmp(att, events_columns[i]) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("column %d of evlog.events is %s%s%s, not \"%s\"",
							i + 1, att ? "\"" : "", att ? att : "missing",
							att ? "\"" : "", events_columns[i]),
					 errdetail("This evlog library reads and writes the columns of evlog.events by position."),
					 errhint("Install the evlog library that matches the extension's version, or run ALTER EXTENSION evlog UPDATE.")));
	}
	if (get_attname(relid, Natts_events + 1, true) != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("evlog.events has more than %d columns", Natts_events),
				 errdetail("This evlog library reads and writes the columns of evlog.events by position."),
				 errhint("Install the evlog library that matches the extension's version, or run ALTER EXTENSION evlog UPDATE.")));
	events_columns_checked = relid;
}

/*
 * evlog_events_relid
 *		The OID of evlog.events, its columns checked (see
 *		evlog_check_events_columns); errors as evlog_relid and that
 *		function.
 */
Oid
evlog_events_relid(void)
{
	Oid			relid = evlog_relid(EVLOG_EVENTS_TABLE);

	evlog_check_events_columns(relid);
	return relid;
}

/*
 * evlog_registry_note / evlog_set_registry_note
 *		Whether the registry holds active sync (EVLOG_HAS_SYNC) or async
 *		(EVLOG_HAS_ASYNC) projections, as a look found; -1 when unknown.
 */
int
evlog_registry_note(void)
{
	return registry_note;
}

void
evlog_set_registry_note(int note)
{
	/* the note only lives as long as the cached OIDs it rides on */
	if (OidIsValid(evlog_relid_if_exists(EVLOG_PROJECTIONS_TABLE)))
		registry_note = note;
}

/*
 * evlog_may_have_contracts / evlog_note_contracts
 *		Whether any event type may be defined, and the note of a look.
 */
bool
evlog_may_have_contracts(void)
{
	return contracts_note != 0;
}

void
evlog_note_contracts(bool any)
{
	if (OidIsValid(evlog_relid_if_exists(EVLOG_EVENT_TYPE_DEFS_TABLE)))
		contracts_note = any ? 1 : 0;
}

/*
 * evlog_oidcache_init
 *		Register the relcache callback; once per backend, from _PG_init.
 */
void
evlog_oidcache_init(void)
{
	CacheRegisterRelcacheCallback(relcache_callback, (Datum) 0);
}
