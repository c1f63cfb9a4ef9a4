#!/usr/bin/env bash
# A throwaway PostgreSQL server for the demo, the tests and the benchmarks: Debian's server binaries,
# run as the postgres user (when started by root), listening on 127.0.0.1 at a free port, with its
# data folder and socket in DIR.
#
#   scripts/pg_server.sh start DIR   # initdb + start; writes DIR/port, DIR/password, DIR/url
#   scripts/pg_server.sh stop DIR    # stop and remove DIR
#   scripts/pg_server.sh status DIR  # exit 0 when running
#
# The superuser is `postgres` with a random password (scram-sha-256 over TCP). DIR/url holds a
# postgresql:// URL with that password: it is for local test servers only.
set -euo pipefail

usage() { echo "usage: $0 start|stop|status DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
cmd=$1
dir=$(realpath -m "$2")

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$bindir" ] || [ ! -x "$bindir/pg_ctl" ]; then
  echo "pg_server: PostgreSQL server binaries not found under /usr/lib/postgresql (run scripts/install_deps.sh)" >&2
  exit 1
fi

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

is_running() {
  [ -f "$dir/data/postmaster.pid" ] && as_pg "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1
}

case "$cmd" in
  status)
    is_running
    ;;
  stop)
    if is_running; then
      as_pg "$bindir/pg_ctl" -D "$dir/data" stop -m fast -w >/dev/null
    fi
    rm -rf "$dir"
    ;;
  start)
    if is_running; then
      echo "pg_server: already running in $dir on port $(cat "$dir/port")"
      exit 0
    fi
    rm -rf "$dir"
    mkdir -p "$dir"
    # The postgres user must reach the folder: make the parents traversable.
    if [ "$(id -u)" = 0 ]; then
      chown postgres: "$dir"
      p=$(dirname "$dir")
      while [ "$p" != / ]; do chmod o+x "$p" 2>/dev/null || true; p=$(dirname "$p"); done
    fi
    password=$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 20)
    umask 077
    printf '%s\n' "$password" >"$dir/pwfile"
    [ "$(id -u)" = 0 ] && chown postgres: "$dir/pwfile"
    as_pg "$bindir/initdb" -D "$dir/data" -U postgres --pwfile="$dir/pwfile" -E UTF8 \
      --locale=C --auth-local=trust --auth-host=scram-sha-256 >"$dir/initdb.log" 2>&1 || {
      cat "$dir/initdb.log" >&2
      exit 1
    }
    rm -f "$dir/pwfile"
    for attempt in 1 2 3 4 5 6 7 8 9 10; do
      port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
      if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then continue; fi
      if as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
        -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$dir \
            -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
            -c max_connections=200 -c shared_buffers=256MB" >/dev/null 2>&1; then
        umask 022
        echo "$port" >"$dir/port"
        printf '%s\n' "$password" >"$dir/password"
        chmod 600 "$dir/password"
        echo "postgresql://postgres:$password@127.0.0.1:$port/postgres" >"$dir/url"
        chmod 600 "$dir/url"
        echo "pg_server: running in $dir on 127.0.0.1:$port"
        exit 0
      fi
    done
    echo "pg_server: could not start PostgreSQL; log:" >&2
    cat "$dir/server.log" >&2 || true
    exit 1
    ;;
  *)
    usage
    ;;
esac
