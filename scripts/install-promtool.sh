#!/usr/bin/env bash
# Makes `promtool` available for the alert-rule unit tests (test/observability), without
# installing or starting a Prometheus server: it downloads Debian's `prometheus` package and
# extracts only usr/bin/promtool into .tools/bin/ (gitignored).
#
# Idempotent: does nothing when promtool is already on PATH or in .tools/bin.
# Needs apt (Debian/Ubuntu); runs `apt-get update` only when the package is not yet known.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEST="$ROOT/.tools/bin/promtool"

if command -v promtool >/dev/null 2>&1; then
  echo "promtool: $(command -v promtool) ($(promtool --version 2>&1 | head -n 1))"
  exit 0
fi
if [ -x "$DEST" ]; then
  echo "promtool: $DEST ($("$DEST" --version 2>&1 | head -n 1))"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-promtool: apt-get not found; install promtool (https://prometheus.io/download/) and put it on PATH" >&2
  exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi

# `apt-get download` needs the package in the local index; refresh the index only if it is not.
if ! apt-cache show prometheus >/dev/null 2>&1; then
  $SUDO apt-get update -qq
fi

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
(
  cd "$WORK"
  # `apt-get download` drops privileges to the _apt user; let it write into the temp dir.
  chmod 0777 "$WORK"
  apt-get download -qq prometheus
  dpkg -x prometheus_*.deb extracted
)
mkdir -p "$(dirname "$DEST")"
cp "$WORK/extracted/usr/bin/promtool" "$DEST"
chmod 0755 "$DEST"
echo "promtool: $DEST ($("$DEST" --version 2>&1 | head -n 1))"
