# Helpers, sourced by test/run.sh, examples/demo.sh and bench/run.sh, to run
# throwaway PostgreSQL instances: as the postgres OS user (PostgreSQL refuses
# root), each in a private data directory with a private socket directory,
# no TCP listener, and a private port. Never touches a system cluster.

PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
PG_BINDIR=$("$PG_CONFIG" --bindir)
PGXS_DIR=$(cd "$(dirname "$("$PG_CONFIG" --pgxs)")/../.." && pwd)
export PGUSER=postgres

# as_pg CMD...: run CMD as the postgres OS user (directly when not root).
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# make_workdir PREFIX: a fresh directory the postgres user owns; prints it.
make_workdir() {
  local dir
  dir=$(mktemp -d "/tmp/$1.XXXXXX")
  chmod 755 "$dir"
  if [ "$(id -u)" -eq 0 ]; then chown postgres: "$dir"; fi
  echo "$dir"
}

# instance_start DIR PORT PRELOAD [EXTRA_CONF]: initdb DIR/data and start it,
# socket in DIR/sock; PRELOAD is yes or no (shared_preload_libraries = evlog).
instance_start() {
  local dir=$1 port=$2 preload=$3 extra=${4:-}
  as_pg mkdir -p "$dir/sock"
  as_pg "$PG_BINDIR/initdb" -D "$dir/data" -A trust -U postgres -N >"$dir/initdb.log" 2>&1 || {
    cat "$dir/initdb.log"; return 1; }
  {
    echo "listen_addresses = ''"
    echo "unix_socket_directories = '$dir/sock'"
    echo "port = $port"
    echo "fsync = off"
    echo "max_prepared_transactions = 10"
    echo "log_line_prefix = '%m [%p] %q%a '"
    if [ "$preload" = yes ]; then echo "shared_preload_libraries = 'evlog'"; fi
    if [ -n "$extra" ]; then printf '%s\n' "$extra"; fi
  } | as_pg tee -a "$dir/data/postgresql.conf" >/dev/null
  as_pg "$PG_BINDIR/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null || {
    cat "$dir/server.log"; return 1; }
}

# instance_stop DIR: stop the instance in DIR, fast.
instance_stop() {
  as_pg "$PG_BINDIR/pg_ctl" -D "$1/data" -m fast -w stop >/dev/null 2>&1 || true
}
