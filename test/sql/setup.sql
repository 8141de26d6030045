-- The extension, and a helper every later test uses
CREATE EXTENSION evlog;
-- try(sql): run sql and show its outcome as "ok" or "SQLSTATE: message",
-- with DETAIL and HINT, so that error codes are part of the expected output
CREATE FUNCTION public.try(cmd text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE st text; msg text; det text; hnt text;
BEGIN
  EXECUTE cmd;
  RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
                          det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
  RETURN st || ': ' || msg || coalesce(E'\nDETAIL: ' || nullif(det, ''), '')
         || coalesce(E'\nHINT: ' || nullif(hnt, ''), '');
END $$;
-- log_is_whole(): G1 (seq 1..head without a hole), G3 (each stream's
-- versions 1..M in seq order) and G7 (the hash chain) over the whole log
CREATE FUNCTION public.log_is_whole(OUT gapless boolean, OUT streams_ok boolean,
                                    OUT chain_intact boolean)
LANGUAGE sql AS $$
  SELECT count(*) = coalesce(max(seq), 0),
         coalesce(bool_and(stream_version = v), true),
         (SELECT first_bad_seq IS NULL FROM evlog_verify_chain())
  FROM (SELECT seq, stream_version,
               row_number() OVER (PARTITION BY stream ORDER BY seq) AS v
        FROM evlog.events) e
$$;
