#!/usr/bin/env bash
# airkube airflow image entrypoint: compatible with the official apache/airflow /entrypoint for what charts use.
#   <nothing>                  -> bash (interactive) ; `airflow <cmd>` / `<cmd>` -> exec airflow <cmd>
#   bash ... | python ... | any executable on PATH (e.g. `dumb-init`, `/bin/sh`) -> exec as given
#   CONNECTION_CHECK_MAX_COUNT (default 20; 0 = skip) and CONNECTION_CHECK_SLEEP_TIME (default 3):
#     wait for the metadata DB with `airflow db check` first, like the official image. Task pods set it to 0.
#   _AIRFLOW_DB_MIGRATE=true (or _AIRFLOW_DB_UPGRADE) runs `airflow db migrate` before the command.
#   _PIP_ADDITIONAL_REQUIREMENTS is refused loudly (bake packages into an image instead).
# Keep this script cheap: every task pod runs it.
set -euo pipefail

AIRFLOW_COMMAND="${1:-}"
: "${AIRFLOW_HOME:=/opt/airflow}"
: "${CONNECTION_CHECK_MAX_COUNT:=20}"
: "${CONNECTION_CHECK_SLEEP_TIME:=3}"
umask 0002

# Arbitrary UIDs (OpenShift-style runAsUser without an /etc/passwd entry): home stays /home/airflow.
if ! whoami >/dev/null 2>&1; then
  if [[ -w /etc/passwd ]]; then
    echo "${USER_NAME:-default}:x:$(id -u):0:${USER_NAME:-default} user:${AIRFLOW_USER_HOME_DIR:-/home/airflow}:/sbin/nologin" >> /etc/passwd
  fi
  export HOME="${AIRFLOW_USER_HOME_DIR:-/home/airflow}"
fi

wait_for_airflow_db() {
  local count=0
  while true; do
    if airflow db check >/dev/null 2>&1; then
      return 0
    fi
    count=$((count + 1))
    if [[ ${count} -ge ${CONNECTION_CHECK_MAX_COUNT} ]]; then
      echo >&2 "ERROR! Maximum number of retries (${CONNECTION_CHECK_MAX_COUNT}) reached."
      echo >&2 "Last check result:"
      airflow db check >&2 || true
      exit 1
    fi
    echo >&2 "Waiting for the metadata database: ${count}/${CONNECTION_CHECK_MAX_COUNT} (next in ${CONNECTION_CHECK_SLEEP_TIME}s)"
    sleep "${CONNECTION_CHECK_SLEEP_TIME}"
  done
}

if [[ -n "${_PIP_ADDITIONAL_REQUIREMENTS:-}" ]]; then
  echo >&2 "ERROR: _PIP_ADDITIONAL_REQUIREMENTS is not supported by the airkube image; build an image with the packages."
  exit 1
fi

# As the official image: "airflow" is optional in front of Airflow sub-commands; the metadata DB is
# checked first (unless CONNECTION_CHECK_MAX_COUNT=0 or _AIRFLOW_SKIP_DB_CHECK is set) for every command
# but `version`; then bash / python / an absolute path run verbatim, anything else is `airflow ...`.
if [[ "${AIRFLOW_COMMAND}" == "airflow" ]]; then
  shift; AIRFLOW_COMMAND="${1:-}"
fi
if [[ $# -eq 0 ]]; then
  exec /bin/bash
fi
if [[ -z "${_AIRFLOW_SKIP_DB_CHECK:-}" && "${AIRFLOW_COMMAND}" != "version" ]]; then
  if [[ ${CONNECTION_CHECK_MAX_COUNT} -gt 0 ]]; then
    wait_for_airflow_db
  fi
  if [[ "${_AIRFLOW_DB_MIGRATE:-${_AIRFLOW_DB_UPGRADE:-}}" =~ ^(true|True|1|yes)$ ]]; then
    airflow db migrate
  fi
fi
case "${AIRFLOW_COMMAND}" in
  bash) shift; exec /bin/bash "$@" ;;
  python) shift; exec python "$@" ;;
  /*) exec "$@" ;;
esac
exec airflow "$@"
