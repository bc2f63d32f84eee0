#!/usr/bin/env bash
# Make sure the local stack's system packages exist: Java 17+, Maven, PostgreSQL 15 server.
# Installs them with apt-get only when one is missing and we are root; otherwise says what to run.
set -euo pipefail

missing=()
command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null 2>&1 || missing+=(maven)
pg_bindir="$(pg_config --bindir 2>/dev/null || true)"
if [[ ! -x "${pg_bindir}/initdb" && ! -x /usr/lib/postgresql/15/bin/initdb ]]; then
  missing+=(postgresql-15)
fi

if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi
if [[ "$(id -u)" -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
  echo "installing: ${missing[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
else
  echo "missing system packages: ${missing[*]}" >&2
  echo "install them with: sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
