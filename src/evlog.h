/*-------------------------------------------------------------------------
 *
 * evlog.h
 *	  Declarations shared by every subsystem of evlog: the SQLSTATE class
 *	  EV, the names of the log's catalog objects, and the GUC variables.
 *
 * README.md documents them ("SQL API", "Errors", "Settings").
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVLOG_H
#define EVLOG_H

#include "postgres.h"

#include "access/tupdesc.h"
#include "access/xact.h"
#include "common/int.h"
#include "datatype/timestamp.h"
#include "fmgr.h"

#include "compat.h"

/*
 * evlog's own SQLSTATE class "EV" (README, "Errors").
 */
#define ERRCODE_EVLOG_APPEND_ONLY_VIOLATION		MAKE_SQLSTATE('E','V','0','0','1')
#define ERRCODE_EVLOG_IDEMPOTENCY_CONFLICT		MAKE_SQLSTATE('E','V','0','0','2')
#define ERRCODE_EVLOG_WRONG_EXPECTED_VERSION	MAKE_SQLSTATE('E','V','0','0','3')
#define ERRCODE_EVLOG_INVALID_EVENT				MAKE_SQLSTATE('E','V','0','0','4')
#define ERRCODE_EVLOG_PROJECTION_STATE			MAKE_SQLSTATE('E','V','0','0','5')

/* Schema that holds evlog's tables and views, whatever the extension schema */
#define EVLOG_SCHEMA			"evlog"
#define EVLOG_EVENTS_TABLE		"events"
#define EVLOG_EVENTS_PKEY		"events_pkey"
#define EVLOG_EVENTS_STREAM_IDX	"events_stream_version_key"
#define EVLOG_EVENTS_KEY_IDX	"events_idempotency_key_key"
#define EVLOG_PROJECTIONS_TABLE	"projections"
#define EVLOG_DEAD_LETTERS_TABLE	"dead_letters"
#define EVLOG_EVENT_TYPE_DEFS_TABLE	"event_type_definitions"
#define EVLOG_EVENT_TYPE_DEFS_PKEY	"event_type_definitions_pkey"
#define EVLOG_UPCASTERS_TABLE	"upcasters"
#define EVLOG_UPCASTERS_PKEY	"upcasters_pkey"
#define EVLOG_APPEND_QUEUE_VIEW	"append_queue"
#define EVLOG_GUARD_FUNCTION	"guard"
#define EVLOG_SNAPSHOTS_TABLE	"projection_snapshots"
#define EVLOG_SNAPSHOT_ID_SEQ	"snapshot_id_seq"
#define EVLOG_CONSUMER_GROUPS_TABLE	"consumer_group_registry"
#define EVLOG_CONSUMER_OFFSETS_TABLE	"consumer_offsets"

/*
 * A name above qualified with evlog's schema, for the SQL evlog runs itself
 * (string literal concatenation: EVLOG_QUALIFIED(EVLOG_EVENTS_TABLE) is
 * "evlog.events").  evlog's own SQL schema-qualifies every name (handler.c).
 */
#define EVLOG_QUALIFIED(name)	EVLOG_SCHEMA "." name

/* Column numbers of evlog.events (README, "The log: evlog.events") */
#define Anum_events_seq				1
#define Anum_events_stream			2
#define Anum_events_stream_version	3
#define Anum_events_type			4
#define Anum_events_type_version	5
#define Anum_events_payload			6
#define Anum_events_metadata		7
#define Anum_events_idempotency_key 8
#define Anum_events_actor			9
#define Anum_events_recorded_at		10
#define Anum_events_digest			11
#define Natts_events				11

/* Bounds of README "The log: evlog.events", in bytes */
#define EVLOG_MAX_STREAM_BYTES	512
#define EVLOG_MAX_TYPE_BYTES	128
#define EVLOG_MAX_KEY_BYTES		256

/*
 * evlog_column
 *		The attribute number of column name in desc, a tuple descriptor of
 *		evlog's table table (for the message).  Columns of evlog's tables
 *		other than evlog.events are found by name, so that a column added by
 *		an update shifts nothing.  Raises XX000 when there is no such column.
 */
static inline AttrNumber
evlog_column(TupleDesc desc, const char *table, const char *name)
{
	for (int i = 0; i < desc->natts; i++)
		if (!TupleDescAttr(desc, i)->attisdropped &&
			strcmp(NameStr(TupleDescAttr(desc, i)->attname), name) == 0)
			return (AttrNumber) (i + 1);
	elog(ERROR, "evlog.%s has no column \"%s\"", table, name);
	return InvalidAttrNumber;	/* keep compiler quiet */
}

/*
 * evlog_xact_ended
 *		Is event one of those that end a transaction (commit, abort or
 *		prepare, also of a parallel worker)?  For transaction callbacks that
 *		forget per-transaction state.
 */
static inline bool
evlog_xact_ended(XactEvent event)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PREPARE:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PARALLEL_ABORT:
			return true;
		default:
			return false;
	}
}

/*
 * evlog_arg_not_null
 *		Raise 22004 (null_value_not_allowed) when argument argno, named
 *		name, of the SQL-callable function running in fcinfo is NULL.  For
 *		functions that must be safe with NULL in any argument even where
 *		their SQL declaration (0.1.0's, say) is not STRICT.
 */
static inline void
evlog_arg_not_null(FunctionCallInfo fcinfo, int argno, const char *name)
{
	if (argno >= PG_NARGS() || PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("argument \"%s\" must not be null", name)));
}

/*
 * evlog_interval_us
 *		An interval as microseconds (a day is 24 hours, a month 30 days),
 *		saturated at the int64 range.
 */
static inline int64
evlog_interval_us(const Interval *iv)
{
	int64		days = (int64) iv->month * DAYS_PER_MONTH + iv->day;
	int64		us;

	/* saturate rather than overflow: callers bound the result */
	if (days > 100000 * 365 || pg_add_s64_overflow(iv->time, days * USECS_PER_DAY, &us))
		return days < 0 || (days == 0 && iv->time < 0) ? PG_INT64_MIN : PG_INT64_MAX;
	if (days < -100000 * 365)
		return PG_INT64_MIN;
	return us;
}

/*
 * evlog_text_equal
 *		Are two text values byte for byte equal (no collation)?  For the
 *		stream and type comparisons of idempotent retries (head.c) and of
 *		consumer-group filters (consumer.c).
 */
static inline bool
evlog_text_equal(const text *a, const text *b)
{
	return VARSIZE_ANY_EXHDR(a) == VARSIZE_ANY_EXHDR(b) &&
		memcmp(VARDATA_ANY(a), VARDATA_ANY(b), VARSIZE_ANY_EXHDR(a)) == 0;
}

#endif							/* EVLOG_H */
