#!/usr/bin/env bash
# Opens (or comments on) one issue per drifted stack, so a scheduled failure reaches people
# and not only the last editor of the cron line. Needs GH_TOKEN (the job's GITHUB_TOKEN with
# issues: write) and the run's URL parts GitHub sets (GITHUB_SERVER_URL, GITHUB_REPOSITORY,
# GITHUB_RUN_ID).
#
# Usage: .github/scripts/report-drift.sh <stack>
set -euo pipefail

stack="${1:?usage: report-drift.sh <stack>}"
run_url="${GITHUB_SERVER_URL}/${GITHUB_REPOSITORY}/actions/runs/${GITHUB_RUN_ID}"
title="Drift detected on stack ${stack}"
body="\`pulumi preview --refresh --expect-no-changes --stack ${stack}\` failed: the cluster no longer matches the stack (or the cluster could not be read; the run log says which).

Run: ${run_url}

What to do: docs/runbook.md#drift-detected"

existing="$(gh issue list --state open --search "\"${title}\" in:title" --json number --jq '.[0].number // empty')"
if [[ -n "${existing}" ]]; then
  gh issue comment "${existing}" --body "Still drifted: ${run_url}"
  echo "commented on issue #${existing}"
else
  gh issue create --title "${title}" --body "${body}"
fi
