/**
 * Schema validation on a second thread, so that the render's critical path is the program alone.
 *
 * Validating production's objects costs about as much as running the program, and nearly all of
 * it is loading and compiling: each kind's model modules (kubernetes-models, ESM) and the
 * precompiled Envoy Gateway validators, which V8 compiles on their first call. None of that needs
 * the objects, only their kinds, and the kinds are known as the program registers resources. So
 * the render starts this thread before the program runs, tells it each kind as the mocks see it
 * (`warm`), and the thread loads and compiles that kind's model while the program goes on; when
 * the objects are complete it validates them with scripts/validate.ts's `validateObjects`, the
 * same function the serial path calls, while the main thread writes YAML and evaluates policies.
 * test/stacks/render-cli.test.ts holds the CLI's output (this path) to the in-process render's
 * (serial), byte for byte.
 */
import * as path from "node:path";
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";
import type { KubernetesObject } from "./manifests";
import type { ValidationResult } from "./validate";
import { modelOf, validateObjects } from "./validate";

type Request =
  { warm: { apiVersion: string; kind: string } } | { validate: KubernetesObject[]; id: number };
type Reply = { id: number; result: ValidationResult } | { id: number; error: string };

const ROLE = "octollmValidationWorker";

/** The main thread's side: one thread per render process, for every stack it renders. */
export class ValidationWorker {
  private readonly worker: Worker;
  private readonly pending = new Map<number, (reply: Reply) => void>();
  private readonly warmed = new Set<string>();
  private nextId = 0;

  constructor(transpiled: Record<string, unknown>) {
    this.worker = new Worker(path.join(__dirname, "validation-worker.cjs"), {
      workerData: { ...transpiled, [ROLE]: true },
      execArgv: [],
    });
    this.worker.on("message", (reply: Reply) => {
      this.pending.get(reply.id)?.(reply);
      this.pending.delete(reply.id);
    });
    this.worker.on("error", (error) => this.failAll(String(error.stack ?? error)));
    this.worker.unref();
  }

  /** Load and compile the model of a kind now, before its objects arrive. */
  warm(apiVersion: unknown, kind: unknown): void {
    if (typeof apiVersion !== "string" || typeof kind !== "string") return;
    const key = `${apiVersion} ${kind}`;
    if (this.warmed.has(key)) return;
    this.warmed.add(key);
    this.worker.postMessage({ warm: { apiVersion, kind } } satisfies Request);
  }

  validate(objects: KubernetesObject[]): Promise<ValidationResult> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, (reply) =>
        "result" in reply ? resolve(reply.result) : reject(new Error(reply.error)),
      );
      this.worker.ref();
      this.worker.postMessage({ validate: objects, id } satisfies Request);
    }).finally(() => {
      if (this.pending.size === 0) this.worker.unref();
    }) as Promise<ValidationResult>;
  }

  private failAll(error: string): void {
    for (const [id, settle] of this.pending) settle({ id, error });
    this.pending.clear();
  }
}

/**
 * The kinds the stacks render, in the order production first registers them. The thread loads
 * their models as soon as it boots rather than when the program registers each kind's first
 * object: that comes about half a second later, and left the thread loading models after the
 * program had ended (README, "Fast previews"). Only a hint: a kind missing here is warmed when it
 * is registered, as before. test/stacks/schema.test.ts holds the list to what the stacks render.
 */
export const KINDS_THE_STACKS_RENDER: readonly (readonly [apiVersion: string, kind: string])[] = [
  ["v1", "Namespace"],
  ["storage.k8s.io/v1", "StorageClass"],
  ["v1", "ResourceQuota"],
  ["v1", "LimitRange"],
  ["networking.k8s.io/v1", "NetworkPolicy"],
  ["v1", "Secret"],
  ["velero.io/v1", "Schedule"],
  ["v1", "ConfigMap"],
  ["v1", "ServiceAccount"],
  ["v1", "PersistentVolumeClaim"],
  ["v1", "Service"],
  ["policy/v1", "PodDisruptionBudget"],
  ["postgresql.cnpg.io/v1", "Cluster"],
  ["apps/v1", "StatefulSet"],
  ["monitoring.coreos.com/v1", "ServiceMonitor"],
  ["monitoring.coreos.com/v1", "PodMonitor"],
  ["monitoring.coreos.com/v1", "PrometheusRule"],
  ["postgresql.cnpg.io/v1", "ScheduledBackup"],
  ["batch/v1", "CronJob"],
  ["apps/v1", "DaemonSet"],
  ["apps/v1", "Deployment"],
  ["autoscaling/v2", "HorizontalPodAutoscaler"],
  ["gateway.networking.k8s.io/v1", "GatewayClass"],
  ["gateway.envoyproxy.io/v1alpha1", "EnvoyProxy"],
  ["rbac.authorization.k8s.io/v1", "Role"],
  ["rbac.authorization.k8s.io/v1", "RoleBinding"],
  ["gateway.networking.k8s.io/v1", "Gateway"],
  ["batch/v1", "Job"],
  ["gateway.envoyproxy.io/v1alpha1", "ClientTrafficPolicy"],
  ["gateway.networking.k8s.io/v1", "HTTPRoute"],
  ["cert-manager.io/v1", "ClusterIssuer"],
  ["gateway.envoyproxy.io/v1alpha1", "BackendTrafficPolicy"],
  ["cert-manager.io/v1", "Certificate"],
];

if (!isMainThread && (workerData as Record<string, unknown> | null)?.[ROLE] && parentPort) {
  const port = parentPort;
  void warmInOrder(KINDS_THE_STACKS_RENDER);
  port.on("message", (request: Request) => {
    if ("warm" in request) {
      const { apiVersion, kind } = request.warm;
      void warm({ apiVersion, kind, metadata: {} });
      return;
    }
    validateObjects(request.validate).then(
      (result) => port.postMessage({ id: request.id, result } satisfies Reply),
      (error: unknown) =>
        port.postMessage({
          id: request.id,
          error: String((error as Error).stack ?? error),
        } satisfies Reply),
    );
  });
}

/**
 * One kind after another: the first kinds registered are ready first, and a kind the program
 * names meanwhile (a `warm` message) is not held up behind the whole list.
 */
async function warmInOrder(kinds: readonly (readonly [string, string])[]): Promise<void> {
  for (const [apiVersion, kind] of kinds) await warm({ apiVersion, kind, metadata: {} });
}

/**
 * Loads a kind's model and runs it once on an empty object, so V8 compiles its validator now;
 * the verdict is thrown away (an empty object is never valid, and nothing is recorded).
 */
async function warm(object: KubernetesObject): Promise<void> {
  try {
    const Model = await modelOf(object);
    if (Model) new Model({ apiVersion: object.apiVersion, kind: object.kind }).validate();
  } catch {
    // Expected: the empty object fails its schema. Only the compiled code matters here.
  }
}
