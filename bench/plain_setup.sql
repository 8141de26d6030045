-- The baseline of workloads 1 and 2: a same-shaped table written by plain INSERT
CREATE TABLE plain_events (
  seq bigserial PRIMARY KEY,
  stream text COLLATE "C" NOT NULL,
  stream_version bigint NOT NULL,
  type text COLLATE "C" NOT NULL,
  type_version integer NOT NULL DEFAULT 1,
  payload jsonb NOT NULL,
  metadata jsonb NOT NULL DEFAULT '{}',
  idempotency_key text COLLATE "C" UNIQUE,
  actor text NOT NULL DEFAULT current_user,
  recorded_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  digest bytea,
  UNIQUE (stream, stream_version)
);
CREATE INDEX ON plain_events (type, seq);
CREATE SEQUENCE plain_stream_version;
