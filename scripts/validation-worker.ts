/**
 * Schema validation and YAML on a second thread, so that the render's critical path is the
 * program and the policies alone.
 *
 * Validating production's objects is mostly loading and compiling: the models
 * (schemas/kubernetes-models.cjs, scripts/model-bundle.ts) and the precompiled Envoy Gateway
 * validators, which V8 compiles on their first call; writing their YAML costs more than
 * evaluating the policies. Neither needs the whole stack, only each object, and each object
 * is final when the program registers it. So the render starts this thread before the program
 * runs; the thread loads the models of every kind the stacks render while the program loads and
 * runs; the render hands it each Kubernetes object as the mocks see it (`ManifestStream.add`:
 * the same `toKubernetesObject` of the same inputs the render later reports), and the thread
 * validates it (scripts/validate.ts's `verdictOf`, which the serial `validateObjects` uses too)
 * and writes its YAML document (scripts/manifest-yaml.ts's `objectYaml`, as `toYaml`). When the
 * run ends, `finish` collects both in registration order while the main thread evaluates the
 * policies. test/stacks/render-cli.test.ts holds the CLI's output (this path) to the in-process
 * render's (serial), byte for byte.
 */
import * as path from "node:path";
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";
import type { KubernetesObject } from "./manifests";
import { YAML_SEPARATOR, objectYaml } from "./manifest-yaml";
import type { ValidationResult, Verdict } from "./validate";
import { collectVerdicts, modelOf, verdictOf } from "./validate";

/** What the thread returns for one stack: its schema result and its YAML (`toYaml`). */
export interface Manifests {
  schema: ValidationResult;
  yaml: string;
}

type Request =
  | { add: { stream: number; object: KubernetesObject } }
  | { finish: { stream: number; count: number; id: number } };
type Reply = { id: number; manifests: Manifests } | { id: number; error: string };

const ROLE = "octollmValidationWorker";

/** The main thread's side: one thread per render process, for every stack it renders. */
export class ValidationWorker {
  private readonly worker: Worker;
  private readonly pending = new Map<number, (reply: Reply) => void>();
  private nextId = 0;
  private nextStream = 0;
  private stopped: string | undefined;

  constructor(transpiled: Record<string, unknown>) {
    this.worker = new Worker(path.join(__dirname, "validation-worker.cjs"), {
      workerData: { ...transpiled, [ROLE]: true },
      execArgv: [],
    });
    this.worker.on("message", (reply: Reply) => {
      this.pending.get(reply.id)?.(reply);
      this.pending.delete(reply.id);
    });
    this.worker.on("error", (error) => this.stop(String(error.stack ?? error)));
    this.worker.on("exit", (code) => this.stop(`the validation thread exited (code ${code})`));
    this.worker.unref();
  }

  /** One stack's objects, handed over one by one as the program registers them. */
  stream(): ManifestStream {
    const stream = this.nextStream++;
    let count = 0;
    return {
      add: (object) => {
        count++;
        this.worker.postMessage({ add: { stream, object } } satisfies Request);
      },
      finish: (objects) => {
        if (objects !== count)
          return Promise.reject(
            new Error(`the validation thread got ${count} objects; the render has ${objects}`),
          );
        return this.request({ finish: { stream, count, id: this.nextId++ } });
      },
    };
  }

  private request(request: Request & { finish: { id: number } }): Promise<Manifests> {
    const { id } = request.finish;
    if (this.stopped) return Promise.reject(new Error(this.stopped));
    return new Promise<Manifests>((resolve, reject) => {
      this.pending.set(id, (reply) =>
        "manifests" in reply ? resolve(reply.manifests) : reject(new Error(reply.error)),
      );
      this.worker.ref();
      this.worker.postMessage(request);
    }).finally(() => {
      if (this.pending.size === 0) this.worker.unref();
    });
  }

  /** The thread is gone: fail what waits on it and whatever asks later. */
  private stop(error: string): void {
    this.stopped ??= error;
    for (const [id, settle] of this.pending) settle({ id, error });
    this.pending.clear();
  }
}

export interface ManifestStream {
  /** A Kubernetes object, final, in registration order. */
  add(object: KubernetesObject): void;
  /** Schema result and YAML of the objects added, once the render has `objects` of them. */
  finish(objects: number): Promise<Manifests>;
}

/**
 * The kinds the stacks render, in the order production first registers them. The thread loads
 * their models as soon as it boots rather than when the program registers each kind's first
 * object: that comes about half a second later, and left the thread loading models after the
 * program had ended (README, "Fast previews"). Only a hint: a kind missing here is loaded when its
 * first object arrives. It is also what the model bundle holds (`npm run model-bundle`).
 * test/stacks/schema.test.ts holds the list to what the stacks render.
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
  interface Stream {
    verdicts: Promise<Verdict>[];
    documents: string[];
    failure?: Error;
  }
  const streams = new Map<number, Stream>();
  port.on("message", (request: Request) => {
    if ("add" in request) {
      const { stream, object } = request.add;
      let objects = streams.get(stream);
      if (!objects) streams.set(stream, (objects = { verdicts: [], documents: [] }));
      objects.verdicts.push(verdictOf(object));
      // A failure is reported by `finish`, which the main thread awaits; a throw here would not be.
      try {
        objects.documents.push(objectYaml(object));
      } catch (error) {
        objects.failure ??= error instanceof Error ? error : new Error(String(error));
      }
      return;
    }
    const { stream, count, id } = request.finish;
    const objects: Stream = streams.get(stream) ?? { verdicts: [], documents: [] };
    streams.delete(stream);
    void Promise.all(objects.verdicts)
      .then((verdicts): Reply => {
        if (objects.failure !== undefined) throw objects.failure;
        if (verdicts.length !== count)
          throw new Error(`the validation thread got ${verdicts.length} objects, not ${count}`);
        const yaml = objects.documents.join(YAML_SEPARATOR);
        return { id, manifests: { schema: collectVerdicts(verdicts), yaml } };
      })
      .catch((error: unknown): Reply => ({ id, error: String((error as Error).stack ?? error) }))
      .then((reply) => port.postMessage(reply));
  });
}

/**
 * One kind after another: the first kinds registered are ready first, and an object that arrives
 * meanwhile loads its own kind's model without waiting behind the whole list.
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
