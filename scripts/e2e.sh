#!/usr/bin/env bash
# The kind E2E (`npm run e2e`): a throwaway kind cluster, the `e2e` stack (Pulumi.e2e.yaml) on a
# local Pulumi backend, `pulumi preview` with the policy pack, `pulumi up`, the smoke checks of
# scripts/e2e-smoke.ts, then `pulumi destroy` and cluster deletion — also when a step fails.
#
# Needs Docker (running), and kind, kubectl and the Pulumi CLI at the versions pinned in
# e2e/versions.env: `bash scripts/e2e-install-tools.sh` installs those three into .tools/e2e/bin.
#
# Environment:
#   E2E_FAILOVER=1   also run the failover drill (delete the Postgres primary and the Redis master)
#   E2E_KEEP=1       keep the cluster and the stack after the run (debugging; delete by hand:
#                    `kind delete cluster --name octollm-e2e; docker network rm octollm-e2e`)
#   E2E_ARTIFACTS=d  where logs and `kubectl get/describe` of failing objects go (default out/e2e)
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
# shellcheck source=../e2e/versions.env
source e2e/versions.env
if [ -d .tools/e2e/bin ]; then export PATH="$ROOT/.tools/e2e/bin:$PATH"; fi

STACK=e2e
CLUSTER=octollm-e2e
CONTEXT="kind-$CLUSTER"
ARTIFACTS="${E2E_ARTIFACTS:-$ROOT/out/e2e}"
STATE="$(mktemp -d)"
mkdir -p "$ARTIFACTS"

# A local backend and a throwaway passphrase: no Pulumi account, no secrets, forks included.
export PULUMI_BACKEND_URL="file://$STATE"
PULUMI_CONFIG_PASSPHRASE="e2e-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
export PULUMI_CONFIG_PASSPHRASE
export PULUMI_SKIP_UPDATE_CHECK=true PULUMI_SKIP_CONFIRMATIONS=true
# kind attaches its nodes to this network; its subnet is the one Pulumi.e2e.yaml names as node
# and API server ranges, so the NetworkPolicies under test match the real addresses.
export KIND_EXPERIMENTAL_DOCKER_NETWORK="$CLUSTER"

step() { printf '\n== %s  [%ss]\n' "$*" "$SECONDS"; }
die() {
  echo "e2e: $*" >&2
  exit 1
}

# --- tools, each at its pinned version -----------------------------------------------------
need() { # name, how to install
  command -v "$1" >/dev/null 2>&1 || die "$1 not found: $2"
}
check_tools() {
  local hint="run: bash scripts/e2e-install-tools.sh && export PATH=\"\$PWD/.tools/e2e/bin:\$PATH\""
  need docker "install Docker (https://docs.docker.com/engine/install/) and start it"
  docker info >/dev/null 2>&1 || die "docker is installed but its engine does not answer (is it running?)"
  need kind "kind $KIND_VERSION is required; $hint"
  need kubectl "kubectl $KUBECTL_VERSION is required; $hint"
  need pulumi "the Pulumi CLI v$PULUMI_VERSION is required; $hint"
  need node "Node.js $(cat .nvmrc) is required (see README: Quick start)"
  local got
  got="$(kind version | awk '{print $2}')"
  [ "$got" = "$KIND_VERSION" ] || die "kind $got found, $KIND_VERSION required; $hint"
  got="$(kubectl version --client 2>/dev/null | awk '/Client Version/ {print $3}')"
  [ "$got" = "$KUBECTL_VERSION" ] || die "kubectl $got found, $KUBECTL_VERSION required; $hint"
  got="$(pulumi version)"
  [ "$got" = "v$PULUMI_VERSION" ] || die "pulumi $got found, v$PULUMI_VERSION required; $hint"
}

# --- teardown, on success and on failure -----------------------------------------------------
collect_diagnostics() {
  echo "e2e: collecting diagnostics into $ARTIFACTS" >&2
  kubectl --context "$CONTEXT" get all,pvc,networkpolicies,events -A -o wide >"$ARTIFACTS/get-all.txt" 2>&1 || true
  for kind in pods deployments statefulsets daemonsets jobs clusters.postgresql.cnpg.io gateways.gateway.networking.k8s.io httproutes.gateway.networking.k8s.io; do
    kubectl --context "$CONTEXT" get "$kind" -A -o json 2>/dev/null |
      node -e '
        const items = JSON.parse(require("fs").readFileSync(0, "utf8")).items ?? [];
        const failing = (o) => {
          const s = o.status ?? {};
          if (o.kind === "Pod") return s.phase !== "Running" && s.phase !== "Succeeded" || (s.containerStatuses ?? []).some((c) => !c.ready);
          if (o.kind === "Job") return !(s.conditions ?? []).some((c) => c.type === "Complete" && c.status === "True");
          if (s.readyReplicas !== undefined || s.replicas !== undefined) return (s.readyReplicas ?? 0) < (o.spec?.replicas ?? 1);
          if (s.numberReady !== undefined) return s.numberReady < (s.desiredNumberScheduled ?? 0);
          return (s.conditions ?? []).some((c) => ["Ready", "Accepted", "Programmed"].includes(c.type) && c.status !== "True");
        };
        for (const o of items.filter(failing)) console.log(`${o.metadata.namespace} ${o.metadata.name}`);
      ' 2>/dev/null |
      while read -r ns name; do
        kubectl --context "$CONTEXT" describe "$kind" -n "$ns" "$name" >"$ARTIFACTS/describe-$kind-$ns-$name.txt" 2>&1 || true
        if [ "$kind" = pods ]; then
          kubectl --context "$CONTEXT" logs -n "$ns" "$name" --all-containers --prefix --tail=500 >"$ARTIFACTS/logs-$ns-$name.txt" 2>&1 || true
        fi
      done
  done
}
cleanup() {
  local rc=$?
  trap - EXIT
  if [ "$rc" -ne 0 ]; then collect_diagnostics; fi
  if [ "${E2E_KEEP:-0}" = 1 ]; then
    echo "e2e: E2E_KEEP=1: cluster $CLUSTER and stack state $STATE kept" >&2
    exit "$rc"
  fi
  step "teardown"
  if pulumi stack select "$STACK" >/dev/null 2>&1; then
    timeout 900 pulumi destroy --stack "$STACK" --yes --skip-preview >"$ARTIFACTS/destroy.log" 2>&1 ||
      echo "e2e: pulumi destroy failed (see $ARTIFACTS/destroy.log); the cluster is deleted anyway" >&2
    # --preserve-config: without it `stack rm` deletes Pulumi.e2e.yaml from the working tree.
    pulumi stack rm "$STACK" --yes --force --preserve-config >/dev/null 2>&1 || true
  fi
  # `stack init` wrote its encryption salt into the stack file: put the committed file back.
  if [ -f "$STATE/Pulumi.$STACK.yaml" ]; then cp "$STATE/Pulumi.$STACK.yaml" "Pulumi.$STACK.yaml"; fi
  kind delete cluster --name "$CLUSTER" >/dev/null 2>&1 || true
  docker network rm "$CLUSTER" >/dev/null 2>&1 || true
  rm -rf "$STATE"
  echo "e2e: $([ "$rc" -eq 0 ] && echo passed || echo "FAILED (exit $rc)") in ${SECONDS}s" >&2
  exit "$rc"
}

# --- the run -----------------------------------------------------------------------------------
step "tools"
check_tools
trap cleanup EXIT

step "kind cluster $CLUSTER (network $E2E_NODE_SUBNET)"
if ! docker network inspect "$CLUSTER" >/dev/null 2>&1; then
  docker network create --driver bridge --subnet "$E2E_NODE_SUBNET" \
    --opt com.docker.network.bridge.enable_ip_masquerade=true "$CLUSTER" >/dev/null
fi
kind create cluster --name "$CLUSTER" --config e2e/kind.yaml --wait 180s
kubectl config use-context "$CONTEXT" >/dev/null

step "metrics-server $METRICS_SERVER_VERSION (the HPAs need it)"
kubectl --context "$CONTEXT" apply -f \
  "https://github.com/kubernetes-sigs/metrics-server/releases/download/$METRICS_SERVER_VERSION/components.yaml"
# kind's kubelets serve self-signed certificates.
kubectl --context "$CONTEXT" -n kube-system patch deployment metrics-server --type=json \
  -p '[{"op":"add","path":"/spec/template/spec/containers/0/args/-","value":"--kubelet-insecure-tls"}]'
kubectl --context "$CONTEXT" -n kube-system rollout status deployment/metrics-server --timeout=180s

step "pulumi stack $STACK on a local backend"
cp "Pulumi.$STACK.yaml" "$STATE/Pulumi.$STACK.yaml"
pulumi stack init "$STACK" --secrets-provider passphrase >/dev/null
# The policy config the pack reads in preview is the one the offline render checks.
POLICY_CONFIG="$(npm run -s policy-config -- "$STACK")"

step "pulumi preview with the policy pack ($POLICY_CONFIG)"
pulumi preview --stack "$STACK" --policy-pack policies --policy-pack-config "$POLICY_CONFIG" \
  --diff 2>&1 | tee "$ARTIFACTS/preview.log"

step "pulumi up"
pulumi up --stack "$STACK" --yes --skip-preview --policy-pack policies \
  --policy-pack-config "$POLICY_CONFIG" 2>&1 | tee "$ARTIFACTS/up.log"

step "smoke checks"
failover=()
if [ "${E2E_FAILOVER:-0}" = 1 ]; then failover=(--failover); fi
node --require ./scripts/register.cjs scripts/e2e-smoke.ts --stack "$STACK" --context "$CONTEXT" "${failover[@]}" |
  tee "$ARTIFACTS/smoke.log"
