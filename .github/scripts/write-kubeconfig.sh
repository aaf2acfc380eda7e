#!/usr/bin/env bash
# Writes the kubeconfig held in the KUBECONFIG_CONTENT environment variable (a GitHub
# environment secret, passed with `env:`, never interpolated into the script) to a file only
# the runner user can read, and points later steps at it through $GITHUB_ENV.
#
# Usage: .github/scripts/write-kubeconfig.sh <stack>
# The file lands in $RUNNER_TEMP (wiped after the job). The content is never printed.
set -euo pipefail

stack="${1:?usage: write-kubeconfig.sh <stack>}"
if [[ -z "${KUBECONFIG_CONTENT:-}" ]]; then
  echo "::error::secret KUBECONFIG is empty for stack ${stack}: add it to the GitHub environment this job uses (see docs/operations.md#ci-secrets-and-environments)" >&2
  exit 1
fi

dir="${RUNNER_TEMP:-$(mktemp -d)}"
file="${dir}/kubeconfig-${stack}"
umask 077
printf '%s\n' "${KUBECONFIG_CONTENT}" >"${file}"
chmod 600 "${file}"

# The stack's context (octollm:kubernetes.context in Pulumi.<stack>.yaml) must be in the file;
# say so now rather than as a provider error halfway through a preview. Names only, no content.
context="$(sed -n 's/^[[:space:]]*context:[[:space:]]*\([^[:space:]#]*\).*/\1/p' "Pulumi.${stack}.yaml" | head -n 1)"
if [[ -n "${context}" ]] && command -v kubectl >/dev/null 2>&1; then
  if ! KUBECONFIG="${file}" kubectl config get-contexts -o name 2>/dev/null | grep -qx "${context}"; then
    echo "::error::the KUBECONFIG secret for stack ${stack} has no context named ${context} (octollm:kubernetes.context)" >&2
    exit 1
  fi
fi

if [[ -n "${GITHUB_ENV:-}" ]]; then
  echo "KUBECONFIG=${file}" >>"${GITHUB_ENV}"
fi
echo "kubeconfig for ${stack} written (mode 600)"
