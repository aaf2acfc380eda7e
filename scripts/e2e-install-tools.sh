#!/usr/bin/env bash
# Installs the E2E's pinned tools (e2e/versions.env) into .tools/e2e/bin: kind, kubectl and the
# Pulumi CLI, each checked against the checksum its release publishes. Docker is not installed
# here: it must already run (Docker Desktop, or the engine on GitHub's ubuntu runners).
#   bash scripts/e2e-install-tools.sh && export PATH="$PWD/.tools/e2e/bin:$PATH"
# Idempotent: a tool already at its pinned version is left alone. Linux and macOS, x86-64 and arm64.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=../e2e/versions.env
source "$ROOT/e2e/versions.env"
BIN="$ROOT/.tools/e2e/bin"
mkdir -p "$BIN"

case "$(uname -s)" in Linux) os=linux ;; Darwin) os=darwin ;; *) echo "unsupported OS" >&2; exit 1 ;; esac
case "$(uname -m)" in x86_64 | amd64) arch=amd64 ;; aarch64 | arm64) arch=arm64 ;; *) echo "unsupported CPU" >&2; exit 1 ;; esac
pulumi_arch=$([ "$arch" = amd64 ] && echo x64 || echo arm64)

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

sha256_of() { if command -v sha256sum >/dev/null; then sha256sum "$1" | cut -d' ' -f1; else shasum -a 256 "$1" | cut -d' ' -f1; fi; }
verify() { # file expected-sha256
  local actual
  actual="$(sha256_of "$1")"
  if [ "$actual" != "$2" ]; then
    echo "e2e-install-tools: checksum mismatch for $(basename "$1"): $actual != $2" >&2
    exit 1
  fi
}

if [ "$("$BIN/kind" version 2>/dev/null | awk '{print $2}')" != "$KIND_VERSION" ]; then
  url="https://github.com/kubernetes-sigs/kind/releases/download/$KIND_VERSION/kind-$os-$arch"
  curl -fsSL -o "$WORK/kind" "$url"
  verify "$WORK/kind" "$(curl -fsSL "$url.sha256sum" | cut -d' ' -f1)"
  install -m 0755 "$WORK/kind" "$BIN/kind"
fi

if ! "$BIN/kubectl" version --client 2>/dev/null | grep -q "Client Version: $KUBECTL_VERSION\$"; then
  url="https://dl.k8s.io/release/$KUBECTL_VERSION/bin/$os/$arch/kubectl"
  curl -fsSL -o "$WORK/kubectl" "$url"
  verify "$WORK/kubectl" "$(curl -fsSL "$url.sha256")"
  install -m 0755 "$WORK/kubectl" "$BIN/kubectl"
fi

if [ "$("$BIN/pulumi" version 2>/dev/null)" != "v$PULUMI_VERSION" ]; then
  archive="pulumi-v$PULUMI_VERSION-$os-$pulumi_arch.tar.gz"
  curl -fsSL -o "$WORK/$archive" "https://get.pulumi.com/releases/sdk/$archive"
  expected="$(curl -fsSL "https://github.com/pulumi/pulumi/releases/download/v$PULUMI_VERSION/pulumi-$PULUMI_VERSION-checksums.txt" | awk -v f="$archive" '$2 == f {print $1}')"
  [ -n "$expected" ] || { echo "e2e-install-tools: $archive not in the release checksums" >&2; exit 1; }
  verify "$WORK/$archive" "$expected"
  tar -xzf "$WORK/$archive" -C "$WORK"
  install -m 0755 "$WORK"/pulumi/pulumi* "$BIN/"
fi

echo "e2e tools in $BIN: kind $KIND_VERSION, kubectl $KUBECTL_VERSION, pulumi v$PULUMI_VERSION" >&2
echo "$BIN"
