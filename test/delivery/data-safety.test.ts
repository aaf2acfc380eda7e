/**
 * Data safety: a routine change (new image tags, more replicas, other resources, other HPA
 * bounds) must never make Kubernetes or Pulumi replace a data store. Production is rendered
 * twice, once as is and once with such changes, and every field whose change forces a
 * replacement is compared:
 *
 * - every resource's Pulumi URN (a new name, type or parent is a delete + create);
 * - StatefulSets: metadata.name/namespace, spec.selector, spec.serviceName,
 *   spec.podManagementPolicy, spec.volumeClaimTemplates (immutable in the API; a change needs the
 *   StatefulSet deleted) — also the pod template labels the selector matches;
 * - the CloudNativePG Cluster: name, namespace, storage/WAL storage class and PVC template,
 *   bootstrap (the operator never re-bootstraps, so a change there is silently a different
 *   cluster spec from the one that exists);
 * - PersistentVolumeClaims and the StorageClass: everything but the (expandable) size.
 *
 * Then: data stores are `protect`ed and `retainOnDelete` in production (a `pulumi destroy` or a
 * replace cannot delete their volumes), and not in dev/staging, where protectData is off.
 */
import { isDeepStrictEqual } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import type { KubernetesObject, RegisteredResource, StackRun } from "../harness";
import { kubernetesObjects, renderStack } from "../harness";

/** Routine day-2 changes: images, replicas, resources, HPA bounds. Nothing about identity. */
const ROUTINE_CHANGES = {
  "octollm:orchestrator": {
    image: { tag: "v1.1.0" },
    replicas: 4,
    resources: {
      requests: { cpu: "750m", memory: "768Mi" },
      limits: { cpu: "3", memory: "3Gi" },
    },
    hpa: { minReplicas: 4, maxReplicas: 12 },
  },
  "octollm:reflexLayer": {
    image: { tag: "v1.1.0" },
    resources: { requests: { cpu: "1500m", memory: "640Mi" } },
  },
  "octollm:arms": [
    {
      name: "coder",
      image: { tag: "v1.1.0" },
      replicas: 6,
      hpa: { minReplicas: 6, maxReplicas: 18 },
    },
    { name: "retriever", image: { tag: "v1.1.0" }, resources: { limits: { memory: "3Gi" } } },
  ],
  "octollm:dataStores": {
    postgres: {
      instances: 4,
      image: { tag: "15.14" },
      resources: { requests: { cpu: "3", memory: "6Gi" }, limits: { cpu: "6", memory: "12Gi" } },
    },
    redis: {
      replicas: 5,
      sentinelQuorum: 3,
      image: { tag: "7.4.3" },
      exporterImage: { tag: "v1.68.0" },
      resources: { requests: { cpu: "750m" }, limits: { cpu: "2", memory: "4Gi" } },
    },
    qdrant: {
      replicas: 5,
      image: { tag: "v1.13.7" },
      resources: { requests: { cpu: "2", memory: "3Gi" }, limits: { cpu: "3", memory: "6Gi" } },
    },
  },
};

const STATEFULSET = "kubernetes:apps/v1:StatefulSet";
const CNPG_CLUSTER = "kubernetes:postgresql.cnpg.io/v1:Cluster";
const PVC = "kubernetes:core/v1:PersistentVolumeClaim";
const STORAGE_CLASS = "kubernetes:storage.k8s.io/v1:StorageClass";

/** The data stores as the team conventions name them (docs: brief, DESIGN.md). */
const EXPECTED = [
  { type: CNPG_CLUSTER, name: "postgres" },
  { type: STATEFULSET, name: "redis" },
  { type: STATEFULSET, name: "qdrant" },
];

type Obj = Record<string, unknown>;
const get = (o: unknown, ...p: string[]): unknown =>
  p.reduce<unknown>((n, k) => (n && typeof n === "object" ? (n as Obj)[k] : undefined), o);

function k8sName(r: RegisteredResource): string | undefined {
  return get(r.inputs, "metadata", "name") as string | undefined;
}

/** A PVC request without its size (sizes may grow: expansion is in place). */
function withoutSize(pvcSpec: unknown): unknown {
  const spec = structuredClone(pvcSpec ?? {}) as Obj;
  const requests = get(spec, "resources", "requests") as Obj | undefined;
  if (requests) delete requests.storage;
  return spec;
}

/** The fields of a resource whose change replaces it (or its data), by kind. */
function identity(r: RegisteredResource): Record<string, unknown> {
  const o = r.inputs;
  const common = {
    urn: r.urn,
    name: get(o, "metadata", "name"),
    namespace: get(o, "metadata", "namespace"),
  };
  switch (r.type) {
    case STATEFULSET: {
      const vcts = (get(o, "spec", "volumeClaimTemplates") ?? []) as Obj[];
      return {
        ...common,
        selector: get(o, "spec", "selector"),
        serviceName: get(o, "spec", "serviceName"),
        podManagementPolicy: get(o, "spec", "podManagementPolicy") ?? "OrderedReady",
        volumeClaimTemplates: vcts,
        templateLabels: get(o, "spec", "template", "metadata", "labels"),
      };
    }
    case CNPG_CLUSTER:
      return {
        ...common,
        storage: get(o, "spec", "storage"),
        walStorage: get(o, "spec", "walStorage"),
        bootstrap: get(o, "spec", "bootstrap"),
      };
    case PVC:
      return { ...common, spec: withoutSize(get(o, "spec")) };
    case STORAGE_CLASS:
      return {
        ...common,
        provisioner: get(o, "provisioner"),
        parameters: get(o, "parameters"),
        reclaimPolicy: get(o, "reclaimPolicy"),
        volumeBindingMode: get(o, "volumeBindingMode"),
      };
    default:
      return common;
  }
}

const DATA_TYPES = new Set([STATEFULSET, CNPG_CLUSTER, PVC, STORAGE_CLASS]);

function byUrn(run: StackRun): Map<string, RegisteredResource> {
  return new Map(run.resources.map((r) => [r.urn, r]));
}

function find(run: StackRun, type: string, name: string): RegisteredResource | undefined {
  return run.resources.find((r) => r.type === type && k8sName(r) === name);
}

function containers(o: KubernetesObject | undefined): Obj[] {
  return (get(o, "spec", "template", "spec", "containers") ?? []) as Obj[];
}

describe("data safety: routine changes never replace a data store (production)", () => {
  let base: StackRun;
  let changed: StackRun;

  beforeAll(async () => {
    base = await renderStack("production");
    changed = await renderStack("production", ROUTINE_CHANGES);
  });

  it("has the data stores the conventions name", () => {
    for (const { type, name } of EXPECTED) {
      expect(find(base, type, name), `${type} ${name}`).toBeDefined();
    }
  });

  it("the changes take effect in the stateless tiers", () => {
    const objects = kubernetesObjects(changed);
    const baseObjects = kubernetesObjects(base);
    const deployment = (objs: KubernetesObject[], name: string) =>
      objs.find((o) => o.kind === "Deployment" && o.metadata.name === name);
    for (const name of ["orchestrator", "coder-arm"]) {
      expect(containers(deployment(objects, name))[0]?.image, name).toMatch(/:v1\.1\.0$/);
      expect(containers(deployment(baseObjects, name))[0]?.image, name).toMatch(/:v1\.0\.0$/);
    }
    const hpa = (objs: KubernetesObject[]) =>
      objs.find((o) => o.kind === "HorizontalPodAutoscaler" && o.metadata.name === "orchestrator");
    expect(get(hpa(objects), "spec", "maxReplicas")).toBe(12);
    expect(get(hpa(baseObjects), "spec", "maxReplicas")).toBe(10);
  });

  it("the changes take effect in the data stores (images, replicas, resources)", () => {
    const objects = kubernetesObjects(changed);
    const baseObjects = kubernetesObjects(base);
    const ss = (objs: KubernetesObject[], name: string) =>
      objs.find((o) => o.kind === "StatefulSet" && o.metadata.name === name);
    for (const name of ["redis", "qdrant"]) {
      expect(get(ss(objects, name), "spec", "replicas"), name).toBe(5);
      expect(get(ss(baseObjects, name), "spec", "replicas"), name).toBe(3);
      const images = (o: KubernetesObject | undefined) =>
        containers(o)
          .map((c) => c.image)
          .join(",");
      expect(images(ss(objects, name))).not.toBe(images(ss(baseObjects, name)));
    }
    const cluster = (objs: KubernetesObject[]) =>
      objs.find((o) => o.kind === "Cluster" && o.metadata.name === "postgres");
    expect(get(cluster(objects), "spec", "instances")).toBe(4);
    expect(get(cluster(objects), "spec", "imageName")).toMatch(/:15\.14/);
    expect(get(cluster(baseObjects), "spec", "imageName")).toMatch(/:15\.13/);
  });

  it("registers exactly the same resources (same URNs: nothing is deleted and recreated)", () => {
    const a = [...byUrn(base).keys()].sort();
    const b = [...byUrn(changed).keys()].sort();
    expect(
      b.filter((u) => !a.includes(u)),
      "added",
    ).toEqual([]);
    expect(
      a.filter((u) => !b.includes(u)),
      "removed",
    ).toEqual([]);
  });

  it("keeps every replacement-forcing field of StatefulSets, the CNPG Cluster, PVCs and the StorageClass", () => {
    const after = byUrn(changed);
    const compared = base.resources.filter((r) => DATA_TYPES.has(r.type));
    expect(compared.filter((r) => r.type === STATEFULSET).length).toBeGreaterThanOrEqual(2);
    expect(compared.filter((r) => r.type === CNPG_CLUSTER).length).toBe(1);
    for (const r of compared) {
      const other = after.get(r.urn);
      expect(other, r.urn).toBeDefined();
      expect(identity(other as RegisteredResource), `${r.type} ${k8sName(r)}`).toEqual(identity(r));
    }
  });

  it("would see an identity change (the comparison is not blind)", async () => {
    const renamed = await renderStack("production", {
      "octollm:dataStores": { storageClass: { name: "octollm-other-ssd" } },
    });
    const after = byUrn(renamed);
    const differs = base.resources
      .filter((r) => DATA_TYPES.has(r.type))
      .filter((r) => {
        const other = after.get(r.urn);
        return !other || !isDeepStrictEqual(identity(other), identity(r));
      })
      .map((r) => r.type);
    expect(differs).toContain(STORAGE_CLASS);
    // every volume of a data store names the class, so each of them would be replaced
    for (const { type } of EXPECTED) expect(differs).toContain(type);
  });

  it("puts no per-release value (image tag, version label) into a volume claim template", () => {
    const statefulSets = base.resources.filter((x) => x.type === STATEFULSET);
    expect(statefulSets.length).toBeGreaterThanOrEqual(2);
    for (const r of statefulSets) {
      const vcts = JSON.stringify(get(r.inputs, "spec", "volumeClaimTemplates") ?? []);
      expect(vcts, k8sName(r)).not.toMatch(
        /app\.kubernetes\.io\/version|v1\.0\.0|7\.4\.2|v1\.13\.6/,
      );
    }
  });

  it("selects pods only by name/instance/component (the immutable selector never follows a release)", () => {
    const statefulSets = base.resources.filter((x) => x.type === STATEFULSET);
    expect(statefulSets.length).toBeGreaterThanOrEqual(2);
    for (const r of statefulSets) {
      const labels = Object.keys(get(r.inputs, "spec", "selector", "matchLabels") ?? {}).sort();
      expect(labels, k8sName(r)).toEqual([
        "app.kubernetes.io/component",
        "app.kubernetes.io/instance",
        "app.kubernetes.io/name",
      ]);
    }
  });
});

describe("data safety: protection", () => {
  /** Data-bearing resources: StatefulSets with volumes, the CNPG Cluster, standalone PVCs. */
  function dataBearing(run: StackRun): RegisteredResource[] {
    return run.resources.filter(
      (r) =>
        r.type === CNPG_CLUSTER ||
        r.type === PVC ||
        (r.type === STATEFULSET &&
          ((get(r.inputs, "spec", "volumeClaimTemplates") ?? []) as unknown[]).length > 0),
    );
  }

  it("production: every data store and volume is protected and retained on delete", async () => {
    const run = await renderStack("production");
    const data = dataBearing(run);
    for (const { type, name } of EXPECTED) {
      expect(
        data.some((r) => r.type === type && k8sName(r) === name),
        `${type} ${name}`,
      ).toBe(true);
    }
    for (const r of data) {
      expect(r.protect, `${r.type} ${k8sName(r)} protect`).toBe(true);
      expect(r.retainOnDelete, `${r.type} ${k8sName(r)} retainOnDelete`).toBe(true);
    }
  });

  it("production: the StorageClass keeps volumes when a claim is deleted (reclaimPolicy Retain)", async () => {
    const run = await renderStack("production");
    const classes = run.resources.filter((r) => r.type === STORAGE_CLASS);
    expect(classes.length).toBeGreaterThan(0);
    for (const r of classes) expect(get(r.inputs, "reclaimPolicy"), k8sName(r)).toBe("Retain");
  });

  for (const stack of ["dev", "staging"]) {
    it(`${stack}: protectData is off, so data stores can be torn down`, async () => {
      const run = await renderStack(stack);
      const data = dataBearing(run);
      expect(data.length).toBeGreaterThan(0);
      for (const r of data) {
        expect(r.protect, `${r.type} ${k8sName(r)}`).toBe(false);
        expect(r.retainOnDelete, `${r.type} ${k8sName(r)}`).toBe(false);
      }
    });
  }
});
