#!/usr/bin/env bash
# Install from Debian's archive what building and testing evlog needs, when
# it is missing: the PostgreSQL 15 server headers and PGXS, pgTAP, IPC::Run
# (for PostgreSQL::Test::Cluster). Needs root (or sudo) only when something
# is missing.
set -euo pipefail

need=()
# pg_config alone comes with the client package; the server headers and PGXS do not
{ [ -f /usr/include/postgresql/15/server/postgres.h ] &&
  [ -f /usr/lib/postgresql/15/lib/pgxs/src/makefiles/pgxs.mk ]; } || need+=(postgresql-server-dev-15)
[ -x /usr/lib/postgresql/15/bin/postgres ] || need+=(postgresql-15)
[ -f /usr/share/postgresql/15/extension/pgtap.control ] || need+=(postgresql-15-pgtap)
command -v pg_prove >/dev/null || need+=(libtap-parser-sourcehandler-pgtap-perl)
command -v prove >/dev/null || need+=(perl)
command -v npm >/dev/null || need+=(npm)
perl -MIPC::Run -e 1 2>/dev/null || need+=(libipc-run-perl)
# the adversarial layer's fuzz run (test/adversarial/002_sqlsmith.pl)
command -v sqlsmith >/dev/null || need+=(sqlsmith)
# consumer groups through a transaction-pooling pgbouncer, and the example consumer
command -v pgbouncer >/dev/null || [ -x /usr/sbin/pgbouncer ] || need+=(pgbouncer)
/usr/bin/python3 -c 'import psycopg' 2>/dev/null || need+=(python3-psycopg)
# metrics: Debian's Prometheus exporter reading monitoring/postgres_exporter.yaml
[ -x /usr/bin/prometheus-postgres-exporter ] || need+=(prometheus-postgres-exporter)
# make bench-instructions (bench/instructions.sh) counts instructions with callgrind
command -v valgrind >/dev/null || need+=(valgrind)
# change data capture through logical decoding with wal2json
[ -f /usr/lib/postgresql/15/lib/wal2json.so ] || need+=(postgresql-15-wal2json)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
echo "deps: installing ${need[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
