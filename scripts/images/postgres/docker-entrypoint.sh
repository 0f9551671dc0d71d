#!/usr/bin/env bash
# airkube postgres image entrypoint: the subset of the official postgres image's docker-entrypoint.sh that
# charts rely on. Env: POSTGRES_PASSWORD (required unless POSTGRES_HOST_AUTH_METHOD=trust), POSTGRES_USER
# (default postgres), POSTGRES_DB (default $POSTGRES_USER), PGDATA, POSTGRES_INITDB_ARGS,
# POSTGRES_HOST_AUTH_METHOD (default scram-sha-256), POSTGRES_PASSWORD_FILE/_USER_FILE/_DB_FILE;
# /docker-entrypoint-initdb.d/*.sh|*.sql|*.sql.gz run once on a fresh PGDATA.
# On an empty PGDATA: initdb (scram-sha-256, listen_addresses='*', `host all all all <method>`), then exec
# postgres. Runs as uid 999 (postgres); started as root it fixes ownership and drops to postgres.
# Writes only to PGDATA, /var/run/postgresql and /tmp (readOnlyRootFilesystem works with those as emptyDirs).
set -Eeo pipefail

file_env() {  # VAR [default]: VAR or VAR_FILE
  local var="$1" fileVar="${1}_FILE" def="${2:-}" val
  if [[ -n "${!var:-}" && -n "${!fileVar:-}" ]]; then
    echo >&2 "error: both $var and $fileVar are set (but are exclusive)"; exit 1
  fi
  val="$def"
  if [[ -n "${!var:-}" ]]; then val="${!var}"; elif [[ -n "${!fileVar:-}" ]]; then val="$(< "${!fileVar}")"; fi
  export "$var"="$val"
  unset "$fileVar"
}

docker_setup_env() {
  file_env POSTGRES_PASSWORD
  file_env POSTGRES_USER postgres
  file_env POSTGRES_DB "$POSTGRES_USER"
  file_env POSTGRES_INITDB_ARGS
  : "${POSTGRES_HOST_AUTH_METHOD:=scram-sha-256}"
  : "${PGDATA:=/var/lib/postgresql/data}"
  export PGDATA
  DATABASE_ALREADY_EXISTS=
  if [[ -s "$PGDATA/PG_VERSION" ]]; then DATABASE_ALREADY_EXISTS=true; fi
}

docker_create_db_directories() {
  local user; user="$(id -u)"
  mkdir -p "$PGDATA"
  chmod 00700 "$PGDATA" 2>/dev/null || :
  mkdir -p /var/run/postgresql 2>/dev/null || :
  chmod 03775 /var/run/postgresql 2>/dev/null || :
  if [[ -n "${POSTGRES_INITDB_WALDIR:-}" ]]; then
    mkdir -p "$POSTGRES_INITDB_WALDIR"; chmod 700 "$POSTGRES_INITDB_WALDIR" 2>/dev/null || :
  fi
  if [[ "$user" == 0 ]]; then
    find "$PGDATA" \! -user postgres -exec chown postgres '{}' +
    find /var/run/postgresql \! -user postgres -exec chown postgres '{}' + 2>/dev/null || :
  fi
}

docker_verify_minimum_env() {
  if [[ -z "${POSTGRES_PASSWORD:-}" && "$POSTGRES_HOST_AUTH_METHOD" != trust ]]; then
    cat >&2 <<'EOM'
Error: Database is uninitialized and superuser password is not specified.
       You must specify POSTGRES_PASSWORD to a non-empty value for the superuser
       (or POSTGRES_HOST_AUTH_METHOD=trust to allow all connections without a password: not recommended).
EOM
    exit 1
  fi
}

docker_init_database_dir() {
  local pwfile
  pwfile="$(mktemp /tmp/pgpass.XXXXXX)"
  printf '%s\n' "${POSTGRES_PASSWORD:-}" > "$pwfile"
  if [[ -n "${POSTGRES_INITDB_WALDIR:-}" ]]; then
    set -- --waldir "$POSTGRES_INITDB_WALDIR" "$@"
  fi
  # shellcheck disable=SC2086
  initdb --username="$POSTGRES_USER" --pwfile="$pwfile" --auth-local=trust \
         --auth-host="$POSTGRES_HOST_AUTH_METHOD" $POSTGRES_INITDB_ARGS "$@"
  rm -f "$pwfile"
  {
    echo
    if [[ "$POSTGRES_HOST_AUTH_METHOD" == trust ]]; then
      echo '# warning trust is enabled for all connections'
    fi
    echo "host all all all $POSTGRES_HOST_AUTH_METHOD"
  } >> "$PGDATA/pg_hba.conf"
  if ! grep -qE "^listen_addresses" "$PGDATA/postgresql.conf"; then
    echo "listen_addresses = '*'" >> "$PGDATA/postgresql.conf"
  fi
}

docker_process_sql() {
  local query_runner=( psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc )
  if [[ -n "${POSTGRES_DB:-}" ]]; then query_runner+=( --dbname "$POSTGRES_DB" ); fi
  PGHOST= PGHOSTADDR= "${query_runner[@]}" "$@"
}

docker_setup_db() {
  if [[ "$POSTGRES_DB" != postgres ]]; then
    local exists
    exists="$(POSTGRES_DB=postgres docker_process_sql --tuples-only --set db="$POSTGRES_DB" <<<"SELECT 1 FROM pg_database WHERE datname = :'db';")"
    if [[ -z "${exists// /}" ]]; then
      POSTGRES_DB=postgres docker_process_sql --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db" ;'
      echo "created database $POSTGRES_DB"
    fi
  fi
}

docker_process_init_files() {
  local f
  for f in "$@"; do
    case "$f" in
      *.sh) if [[ -x "$f" ]]; then echo "running $f"; "$f"; else echo "sourcing $f"; . "$f"; fi ;;
      *.sql) echo "running $f"; docker_process_sql -f "$f" ;;
      *.sql.gz) echo "running $f"; gunzip -c "$f" | docker_process_sql ;;
      *) echo "ignoring $f" ;;
    esac
  done
}

docker_temp_server_start() {
  if [[ "${1:-}" == postgres ]]; then shift; fi
  set -- "$@" -c listen_addresses='' -p "${PGPORT:-5432}"
  PGUSER="${PGUSER:-$POSTGRES_USER}" pg_ctl -D "$PGDATA" -o "$(printf '%q ' "$@")" -w start
}

docker_temp_server_stop() {
  PGUSER="${PGUSER:-postgres}" pg_ctl -D "$PGDATA" -m fast -w stop
}

_main() {
  if [[ "${1:0:1}" == '-' ]]; then set -- postgres "$@"; fi
  if [[ "$1" == postgres ]] && ! _pg_want_help "$@"; then
    docker_setup_env
    docker_create_db_directories
    if [[ "$(id -u)" == 0 ]]; then
      exec setpriv --reuid=postgres --regid=postgres --init-groups "$BASH_SOURCE" "$@"
    fi
    if [[ -z "$DATABASE_ALREADY_EXISTS" ]]; then
      docker_verify_minimum_env
      docker_init_database_dir
      export PGPASSWORD="${PGPASSWORD:-$POSTGRES_PASSWORD}"
      docker_temp_server_start "$@"
      docker_setup_db
      shopt -s nullglob
      docker_process_init_files /docker-entrypoint-initdb.d/*
      shopt -u nullglob
      docker_temp_server_stop
      unset PGPASSWORD
      echo
      echo 'PostgreSQL init process complete; ready for start up.'
      echo
    else
      echo
      echo 'PostgreSQL Database directory appears to contain a database; Skipping initialization'
      echo
    fi
  fi
  exec "$@"
}

_pg_want_help() {
  local arg
  for arg; do
    case "$arg" in -'?'|--help|--describe-config|-V|--version) return 0 ;; esac
  done
  return 1
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  _main "$@"
fi
