/*-------------------------------------------------------------------------
 *
 * event.c
 *	  Checks of an event's fields (README, "The log") and conversion
 *	  between a row of evlog.events and its in-memory form.
 *
 * Every check here raises EV004 invalid_event with a DETAIL that names the
 * argument at fault, before the sequencer is taken, so a bad append never
 * makes other appenders wait.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"

#include "evlog.h"
#include "event.h"

/* evlog.max_payload_bytes: the largest payload evlog_append accepts */
static int	evlog_max_payload_bytes = 1024 * 1024;

/* evlog.max_metadata_bytes */
static int	evlog_max_metadata_bytes = 64 * 1024;

static void check_text_length(const char *arg, text *value, int maxbytes);
static void check_json_object(const char *arg, Jsonb *value);
static void check_jsonb_size(const char *arg, Jsonb *value, int maxbytes,
							 const char *guc);

/*
 * evlog_event_init
 *		Define the GUCs of this module: evlog.max_metadata_bytes.  Called
 *		from _PG_init; takes no locks.
 */
void
evlog_event_init(void)
{
	DefineCustomIntVariable("evlog.max_metadata_bytes",
							"Largest metadata, in bytes, that an append accepts.",
							"Larger metadata fails with EV004.",
							&evlog_max_metadata_bytes,
							64 * 1024, 1, MaxAllocSize / 2,
							PGC_SUSET, GUC_UNIT_BYTE,
							NULL, NULL, NULL);
	DefineCustomIntVariable("evlog.max_payload_bytes",
							"Largest payload, in bytes, that evlog_append accepts.",
							"A larger payload fails with EV004.",
							&evlog_max_payload_bytes,
							1024 * 1024, 1, MaxAllocSize / 2,
							PGC_SUSET, GUC_UNIT_BYTE,
							NULL, NULL, NULL);
}

/*
 * evlog_check_type_name
 *		Raise EV004 unless type matches ^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$ and
 *		is 1..EVLOG_MAX_TYPE_BYTES bytes long.
 *
 * type need not be NUL-terminated; len is its length in bytes.  Takes no
 * locks.
 */
void
evlog_check_type_name(const char *type, int len)
{
	bool		segment_start = true;

	if (len < 1 || len > EVLOG_MAX_TYPE_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_EVLOG_INVALID_EVENT),
				 errmsg("invalid event argument \"type\""),
				 errdetail("A type must be 1 to %d bytes long; this one is %d bytes.",
						   EVLOG_MAX_TYPE_BYTES, len)));

	for (int i = 0; i < len; i++)
	{
		char		c = type[i];
		bool		ok;

		if (i == 0)
			ok = (c >= 'a' && c <= 'z');
		else if (c == '.')
			ok = !segment_start && i < len - 1;
		else
			ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';

		if (!ok)
			ereport(ERROR,
					(errcode(ERRCODE_EVLOG_INVALID_EVENT),
					 errmsg("invalid event argument \"type\""),
					 errdetail("Type \"%.*s\" is not dotted lower case: it must match ^[a-z][a-z0-9_]*(\\.[a-z0-9_]+)*$.",
							   len, type),
					 errhint("Use a name such as \"ticket.transitioned\".")));
		segment_start = (c == '.');
	}
}

/*
 * check_text_length
 *		Raise EV004 unless value is 1..maxbytes bytes long.  arg names the
 *		argument in the message.
 */
static void
check_text_length(const char *arg, text *value, int maxbytes)
{
	int			len = VARSIZE_ANY_EXHDR(value);

	if (len < 1 || len > maxbytes)
		ereport(ERROR,
				(errcode(ERRCODE_EVLOG_INVALID_EVENT),
				 errmsg("invalid event argument \"%s\"", arg),
				 errdetail("The %s must be 1 to %d bytes long; this one is %d bytes.",
						   arg, maxbytes, len)));
}

/*
 * check_json_object
 *		Raise EV004 unless value is a JSON object.  arg names the argument.
 */
static void
check_json_object(const char *arg, Jsonb *value)
{
	if (!JB_ROOT_IS_OBJECT(value) || JB_ROOT_IS_SCALAR(value))
		ereport(ERROR,
				(errcode(ERRCODE_EVLOG_INVALID_EVENT),
				 errmsg("invalid event argument \"%s\"", arg),
				 errdetail("The %s must be a JSON object.", arg),
				 errhint("Wrap the value in an object, for example jsonb_build_object('value', ...).")));
}

/*
 * check_jsonb_size
 *		Raise EV004 when value (detoasted) is over maxbytes bytes, the
 *		setting of the GUC named guc.  arg names the argument.
 */
static void
check_jsonb_size(const char *arg, Jsonb *value, int maxbytes, const char *guc)
{
	if (VARSIZE(value) > (Size) maxbytes)
		ereport(ERROR,
				(errcode(ERRCODE_EVLOG_INVALID_EVENT),
				 errmsg("invalid event argument \"%s\"", arg),
				 errdetail("The %s is %zu bytes, over %s (%d bytes).",
						   arg, (Size) VARSIZE(value), guc, maxbytes)));
}

/*
 * evlog_check_request
 *		Check every argument of one append against the bounds of README, "The log".
 *
 * The *_null flags say which of the mandatory arguments the caller passed as
 * SQL NULL (their pointers in req are then unset).  A NULL metadata is an
 * error; a NULL idempotency key or expected version means "none".  payload
 * and metadata are bounded by evlog.max_payload_bytes and
 * evlog.max_metadata_bytes.  Raises EV004 naming the first argument at
 * fault.  Takes no locks.
 */
void
evlog_check_request(EvlogAppendRequest *req, bool stream_null, bool type_null,
					bool payload_null, bool metadata_null,
					bool type_version_null)
{
	const char *null_arg = NULL;

	if (stream_null)
		null_arg = "stream";
	else if (type_null)
		null_arg = "type";
	else if (payload_null)
		null_arg = "payload";
	else if (metadata_null)
		null_arg = "metadata";
	else if (type_version_null)
		null_arg = "type_version";
	if (null_arg)
		ereport(ERROR,
				(errcode(ERRCODE_EVLOG_INVALID_EVENT),
				 errmsg("invalid event argument \"%s\"", null_arg),
				 errdetail("The %s must not be null.", null_arg)));

	check_text_length("stream", req->stream, EVLOG_MAX_STREAM_BYTES);
	evlog_check_type_name(VARDATA_ANY(req->type), VARSIZE_ANY_EXHDR(req->type));
	check_json_object("payload", req->payload);
	check_jsonb_size("payload", req->payload, evlog_max_payload_bytes,
					 "evlog.max_payload_bytes");
	check_json_object("metadata", req->metadata);
	check_jsonb_size("metadata", req->metadata, evlog_max_metadata_bytes,
					 "evlog.max_metadata_bytes");
	if (req->idempotency_key)
		check_text_length("idempotency_key", req->idempotency_key,
						  EVLOG_MAX_KEY_BYTES);
	if (req->has_expected_version && req->expected_version < 0)
		ereport(ERROR,
				(errcode(ERRCODE_EVLOG_INVALID_EVENT),
				 errmsg("invalid event argument \"expected_version\""),
				 errdetail("The expected_version must be 0 (a new stream) or more; it is " INT64_FORMAT ".",
						   req->expected_version)));
	if (req->type_version < 1)
		ereport(ERROR,
				(errcode(ERRCODE_EVLOG_INVALID_EVENT),
				 errmsg("invalid event argument \"type_version\""),
				 errdetail("The type_version must be 1 or more; it is %d.",
						   req->type_version)));
}

/*
 * evlog_event_from_tuple
 *		Fill ev from a heap tuple of evlog.events.
 *
 * Varlena fields are detoasted into the current memory context.  Takes no
 * locks; the caller holds the relation open.
 */
void
evlog_event_from_tuple(HeapTuple tuple, TupleDesc desc, EvlogEvent *ev)
{
	Datum		values[Natts_events];
	bool		nulls[Natts_events];
	bytea	   *digest;

	heap_deform_tuple(tuple, desc, values, nulls);

	ev->seq = DatumGetInt64(values[Anum_events_seq - 1]);
	ev->stream = DatumGetTextPP(values[Anum_events_stream - 1]);
	ev->stream_version = DatumGetInt64(values[Anum_events_stream_version - 1]);
	ev->type = DatumGetTextPP(values[Anum_events_type - 1]);
	ev->type_version = DatumGetInt32(values[Anum_events_type_version - 1]);
	ev->payload = DatumGetJsonbP(values[Anum_events_payload - 1]);
	ev->metadata = DatumGetJsonbP(values[Anum_events_metadata - 1]);
	ev->idempotency_key = nulls[Anum_events_idempotency_key - 1] ? NULL :
		DatumGetTextPP(values[Anum_events_idempotency_key - 1]);
	ev->actor = DatumGetTextPP(values[Anum_events_actor - 1]);
	ev->recorded_at = DatumGetTimestampTz(values[Anum_events_recorded_at - 1]);

	digest = DatumGetByteaPP(values[Anum_events_digest - 1]);
	memset(ev->digest, 0, sizeof(ev->digest));
	if (VARSIZE_ANY_EXHDR(digest) == PG_SHA256_DIGEST_LENGTH)
		memcpy(ev->digest, VARDATA_ANY(digest), PG_SHA256_DIGEST_LENGTH);
}

/*
 * evlog_event_form_tuple
 *		Build a heap tuple of evlog.events from ev, in the current memory
 *		context.  Takes no locks.
 */
HeapTuple
evlog_event_form_tuple(const EvlogEvent *ev, TupleDesc desc)
{
	Datum		values[Natts_events];
	bool		nulls[Natts_events] = {0};
	bytea	   *digest;

	digest = (bytea *) palloc(VARHDRSZ + PG_SHA256_DIGEST_LENGTH);
	SET_VARSIZE(digest, VARHDRSZ + PG_SHA256_DIGEST_LENGTH);
	memcpy(VARDATA(digest), ev->digest, PG_SHA256_DIGEST_LENGTH);

	values[Anum_events_seq - 1] = Int64GetDatum(ev->seq);
	values[Anum_events_stream - 1] = PointerGetDatum(ev->stream);
	values[Anum_events_stream_version - 1] = Int64GetDatum(ev->stream_version);
	values[Anum_events_type - 1] = PointerGetDatum(ev->type);
	values[Anum_events_type_version - 1] = Int32GetDatum(ev->type_version);
	values[Anum_events_payload - 1] = JsonbPGetDatum(ev->payload);
	values[Anum_events_metadata - 1] = JsonbPGetDatum(ev->metadata);
	if (ev->idempotency_key)
		values[Anum_events_idempotency_key - 1] = PointerGetDatum(ev->idempotency_key);
	else
		nulls[Anum_events_idempotency_key - 1] = true;
	values[Anum_events_actor - 1] = PointerGetDatum(ev->actor);
	values[Anum_events_recorded_at - 1] = TimestampTzGetDatum(ev->recorded_at);
	values[Anum_events_digest - 1] = PointerGetDatum(digest);

	return heap_form_tuple(desc, values, nulls);
}
