#!/usr/bin/env bash
# Run every test layer of evlog against the installed build, on throwaway
# instances, and end with one line "N passed, N failed".
#
#   layers       test/layers.sh             no instance: docs/layers.md against nm src/*.o
#   pg_regress   test/sql + test/expected  instance A (evlog preloaded)
#   installcheck the same tests, by `make installcheck`, in a random order
#   isolation    test/specs + test/expected instance A
#   pgTAP        test/pgtap                 instance A
#   TAP          test/t                     PostgreSQL::Test::Cluster's own instances
#   adversarial  test/adversarial           the same (the NULL sweep, attacks, sqlsmith)
#   pg_regress   nopreload                  instance B (evlog not preloaded)
#
# Counts are per regression test, per isolation spec, and per TAP assertion.
# KEEP=1 keeps the work directory. Exits non-zero when anything failed.
# While working on one thing: LAYERS="layers regress installcheck iso pgtap tap
# adversarial nopreload" (the default) picks layers, TAP_GLOB='011_*' picks TAP files.
set -uo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
. "$SRC/test/instance.sh"

WORK=$(make_workdir evlog-test)
PORT_A=$((50000 + RANDOM % 5000))
PORT_B=$((PORT_A + 1))
passed=0
failed=0

cleanup() {
  instance_stop "$WORK/a"
  instance_stop "$WORK/b"
  if [ "${KEEP:-0}" = 1 ]; then echo "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# tally LOG RC OK_RE BAD_RE: add the passes and failures a log shows; a run
# that failed without a failure line (a died script, a wrong plan) counts one.
tally() {
  local ok bad
  ok=$(grep -cE "$3" "$1")
  bad=$(grep -cE "$4" "$1")
  if [ "$2" -ne 0 ] && [ "$bad" -eq 0 ]; then bad=1; fi
  passed=$((passed + ok)); failed=$((failed + bad))
}
# pg_regress logs: one line per test; verbose TAP logs: one line per assertion
tally_regress() { tally "$1" "$2" '\.\.\. ok' '\.\.\. (FAILED|failed)'; }
tally_tap() { tally "$1" "$2" '^\s*ok [0-9]+' '^\s*not ok [0-9]+'; }

# quiet_regress: pg_regress's output without the command tags its psql calls
# print while it recreates the database (SET, DROP/CREATE/ALTER DATABASE) and
# the banners around them; the log file keeps everything.
quiet_regress() {
  grep -vE '^(SET|DROP DATABASE|CREATE DATABASE|ALTER DATABASE)$|^=+ (dropping|creating) database ' || true
}
# quiet_tap LOG: a verbose TAP log without its "ok" lines and without the
# notes PostgreSQL::Test::BackgroundPsql writes for every connection and query
# ("connect output", "issuing query", "results query" dumps); failures and
# their diagnostics stay.
quiet_tap() {
  awk '/^[ \t]*# (connect output|results query [0-9]+):$/ { skip = 1; next }
       skip && /^[ \t]*# }$/ { skip = 0; next }
       skip || /^[ \t]*# issuing query [0-9]+ via background psql:/ || /^[ \t]*ok [0-9]+/ { next }
       { print }' "$1"
}

# show_failure DIR: print what a failed layer left behind.
show_failure() {
  [ -f "$1/regression.diffs" ] && cat "$1/regression.diffs"
  return 0
}

LAYERS=${LAYERS:-layers regress installcheck iso pgtap tap adversarial nopreload}
TAP_GLOB=${TAP_GLOB:-*}
corpus=""
# layer NAME: is NAME among the layers to run?
layer() { case " $LAYERS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

instance_start "$WORK/a" "$PORT_A" yes || { echo "0 passed, 1 failed"; exit 1; }
export PGHOST="$WORK/a/sock" PGPORT="$PORT_A"

# the layering check (docs/layers.md): one counted check, from the built objects
if layer layers; then
echo "== layers (docs/layers.md, nm src/*.o)"
if bash "$SRC/test/layers.sh" >"$WORK/layers.log" 2>&1; then
  passed=$((passed + 1)); grep -v tolerated "$WORK/layers.log"
else
  failed=$((failed + 1)); cat "$WORK/layers.log"
fi
fi

if layer regress; then
echo "== pg_regress (evlog preloaded)"
regress_schedule="$SRC/test/schedule"
mkdir -p "$WORK/regress"
"$PGXS_DIR/src/test/regress/pg_regress" --bindir="$PG_BINDIR" \
  --inputdir="$SRC/test" --outputdir="$WORK/regress" --dbname=evlog_regress \
  --schedule="$regress_schedule" 2>&1 | tee "$WORK/regress.log" | quiet_regress
rc=${PIPESTATUS[0]}
tally_regress "$WORK/regress.log" "$rc"
[ "$rc" -eq 0 ] || show_failure "$WORK/regress"
fi

# the schedule's tests once more, through the Makefile's REGRESS wiring as a
# user runs it against a server, in a random order: each test must pass
# whatever ran before it in the database (test/sql/fresh_log.psql)
if layer installcheck; then
shuffled=$(sed -n 's/^test: *//p' "$SRC/test/schedule" | tr ' ' '\n' | shuf | tr '\n' ' ')
echo "== make installcheck (evlog preloaded), in the order: $shuffled"
mkdir -p "$WORK/installcheck"
make -s -C "$SRC" installcheck PG_CONFIG="$PG_CONFIG" REGRESS="$shuffled" \
  EXTRA_REGRESS_OPTS="--outputdir=$WORK/installcheck" 2>&1 \
  | tee "$WORK/installcheck.log" | quiet_regress
rc=${PIPESTATUS[0]}
tally_regress "$WORK/installcheck.log" "$rc"
[ "$rc" -eq 0 ] || show_failure "$WORK/installcheck"
# every test listed must have run
ran=$(grep -cE '\.\.\. (ok|FAILED|failed)' "$WORK/installcheck.log")
if [ "$ran" -ne "$(echo $shuffled | wc -w)" ]; then
  echo "make installcheck ran $ran of the $(echo $shuffled | wc -w) tests:"; cat "$WORK/installcheck.log"
  failed=$((failed + 1))
fi
fi

if layer iso; then
echo "== isolation tester"
specs=$(cd "$SRC/test/specs" && ls ./*.spec | sed 's|^\./||; s|\.spec$||' | sort)
mkdir -p "$WORK/iso"
"$PGXS_DIR/src/test/isolation/pg_isolation_regress" --bindir="$PG_BINDIR" \
  --inputdir="$SRC/test" --outputdir="$WORK/iso" --dbname=evlog_isolation \
  $specs 2>&1 | tee "$WORK/iso.log" | quiet_regress
rc=${PIPESTATUS[0]}
tally_regress "$WORK/iso.log" "$rc"
[ "$rc" -eq 0 ] || show_failure "$WORK/iso"
fi

if layer pgtap; then
echo "== pgTAP"
psql -q -X -d postgres -c "CREATE DATABASE evlog_pgtap" >/dev/null
psql -q -X -d evlog_pgtap -c "CREATE EXTENSION pgtap; CREATE EXTENSION evlog" >/dev/null
pg_prove -v -d evlog_pgtap "$SRC"/test/pgtap/*.sql >"$WORK/pgtap.log" 2>&1
rc=$?
grep -vE '^\s*ok [0-9]+' "$WORK/pgtap.log"
tally_tap "$WORK/pgtap.log" "$rc"
[ "$rc" -eq 0 ] || cat "$WORK/pgtap.log"
fi

# run_tap NAME DIR: prove DIR/*.pl in $WORK/NAME, print all but the passes,
# count, and show the tail of every server log when something failed
run_tap() {
  as_pg mkdir -p "$WORK/$1"
  (cd "$WORK/$1" && as_pg env PATH="$PG_BINDIR:$PATH" \
    PERL5LIB="$PGXS_DIR/src/test/perl" TESTDIR="$WORK/$1" \
    PG_REGRESS="$PGXS_DIR/src/test/regress/pg_regress" \
    EVLOG_SRC="$SRC" EVLOG_CORPUS="$corpus" PGHOST= PGPORT= \
    prove -v "$2"/$TAP_GLOB.pl) >"$WORK/$1.log" 2>&1
  local rc=$?
  quiet_tap "$WORK/$1.log"
  tally_tap "$WORK/$1.log" "$rc"
  if [ "$rc" -ne 0 ]; then
    for f in "$WORK/$1"/tmp_check/log/*; do echo "--- $f"; tail -n 40 "$f"; done
  fi
}

if layer tap; then
echo "== TAP (PostgreSQL::Test::Cluster)"
corpus=$(bash "$SRC/examples/github/fetch.sh") || corpus=""
run_tap tap "$SRC/test/t"
fi

if layer adversarial; then
echo "== adversarial"
run_tap adversarial "$SRC/test/adversarial"
fi

if layer nopreload; then
echo "== pg_regress (evlog not preloaded)"
instance_stop "$WORK/a"
instance_start "$WORK/b" "$PORT_B" no || { failed=$((failed + 1)); echo "$passed passed, $failed failed"; exit 1; }
export PGHOST="$WORK/b/sock" PGPORT="$PORT_B"
mkdir -p "$WORK/regress_b"
"$PGXS_DIR/src/test/regress/pg_regress" --bindir="$PG_BINDIR" \
  --inputdir="$SRC/test" --outputdir="$WORK/regress_b" --dbname=evlog_nopreload \
  nopreload 2>&1 | tee "$WORK/regress_b.log" | quiet_regress
rc=${PIPESTATUS[0]}
tally_regress "$WORK/regress_b.log" "$rc"
[ "$rc" -eq 0 ] || show_failure "$WORK/regress_b"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
