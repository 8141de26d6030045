-- Workloads 4 and 6: a read model with a one-upsert handler, and its baseline
CREATE TABLE balances (stream text PRIMARY KEY, n bigint NOT NULL, last_seq bigint NOT NULL);
CREATE TABLE balances_plain (LIKE balances INCLUDING ALL);
CREATE FUNCTION fold_balance(e evlog.events) RETURNS void LANGUAGE sql AS $$
  INSERT INTO balances VALUES (e.stream, 1, e.seq)
  ON CONFLICT (stream) DO UPDATE SET n = balances.n + 1, last_seq = excluded.last_seq $$;
CREATE FUNCTION fold_balance_plain(e evlog.events) RETURNS void LANGUAGE sql AS $$
  INSERT INTO balances_plain VALUES (e.stream, 1, e.seq)
  ON CONFLICT (stream) DO UPDATE SET n = balances_plain.n + 1, last_seq = excluded.last_seq $$;
-- workload 6: when each event became visible in the read model
CREATE TABLE lag_probe (seq bigint PRIMARY KEY, recorded_at timestamptz NOT NULL, folded_at timestamptz NOT NULL);
CREATE FUNCTION fold_probe(e evlog.events) RETURNS void LANGUAGE sql AS $$
  INSERT INTO lag_probe VALUES (e.seq, e.recorded_at, clock_timestamp()) $$;
