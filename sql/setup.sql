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
