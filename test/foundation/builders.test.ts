import { describe, expect, it } from "vitest";
import { parsePlatformConfig } from "../../components/config";
import {
  EXEMPTIONS,
  EXEMPTION_ANNOTATION,
  parseExemptionAnnotation,
} from "../../components/k8s/exemptions";
import { selectorLabels, standardLabels } from "../../components/k8s/labels";
import {
  PodSecurityError,
  hardenedPodTemplate,
  httpProbe,
  spreadAcrossNodes,
} from "../../components/k8s/pod";
import {
  compare,
  formatBytes,
  formatCpu,
  isQuantity,
  parseQuantity,
  sum,
} from "../../components/k8s/quantity";

const config = parsePlatformConfig({ "octollm:environment": "production" });
const id = { name: "orchestrator", component: "orchestrator", instance: "octollm-production" };
const container = {
  name: "app",
  image: config.orchestrator.image,
  resources: config.orchestrator.resources,
  ports: [{ name: "http", containerPort: 8000 }],
};

describe("labels", () => {
  it("selects on name, instance and component only", () => {
    expect(Object.keys(selectorLabels(id)).sort()).toEqual([
      "app.kubernetes.io/component",
      "app.kubernetes.io/instance",
      "app.kubernetes.io/name",
    ]);
    expect(standardLabels(id)).toMatchObject({
      "app.kubernetes.io/part-of": "octollm",
      "app.kubernetes.io/managed-by": "pulumi",
    });
  });
});

describe("hardened pod builder", () => {
  const template = hardenedPodTemplate({
    labels: standardLabels(id),
    containers: [container],
    serviceAccountName: "orchestrator",
  });
  const spec = template.spec as Record<string, any>;

  it("applies the restricted profile at pod and container level", () => {
    expect(spec.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 10001,
      runAsGroup: 10001,
      fsGroup: 10001,
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(spec.automountServiceAccountToken).toBe(false);
    expect(spec.hostNetwork).toBeUndefined();
    const sc = spec.containers[0].securityContext;
    expect(sc).toMatchObject({
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      privileged: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    });
    expect(spec.containers[0].resources).toEqual({
      requests: { cpu: "500m", memory: "512Mi" },
      limits: { cpu: "2", memory: "2Gi" },
    });
  });

  it("gives /tmp and declared writable paths an emptyDir", () => {
    const t = hardenedPodTemplate({
      labels: {},
      containers: [{ ...container, writablePaths: ["/var/cache/app"] }],
      serviceAccountName: "x",
    });
    const s = t.spec as Record<string, any>;
    expect(s.containers[0].volumeMounts.map((m: { mountPath: string }) => m.mountPath)).toEqual([
      "/tmp",
      "/var/cache/app",
    ]);
    expect(
      s.volumes.map((v: { name: string; emptyDir?: unknown }) => [
        v.name,
        v.emptyDir !== undefined,
      ]),
    ).toEqual([
      ["scratch-tmp", true],
      ["scratch-var-cache-app", true],
    ]);
  });

  it("mounts the ServiceAccount token only with a stated reason", () => {
    const t = hardenedPodTemplate({
      labels: {},
      containers: [container],
      serviceAccountName: "x",
      apiAccess: { reason: "leader election" },
    });
    expect((t as any).spec.automountServiceAccountToken).toBe(true);
    expect((t as any).metadata.annotations).toMatchObject({
      "octollm.io/api-access": "leader election",
    });
  });

  it("refuses root or system UIDs, `latest` and host ports without the exemption", () => {
    expect(() =>
      hardenedPodTemplate({
        labels: {},
        containers: [container],
        serviceAccountName: "x",
        runAsUser: 0,
      }),
    ).toThrow(PodSecurityError);
    expect(() =>
      hardenedPodTemplate({
        labels: {},
        containers: [{ ...container, runAsUser: 999 }],
        serviceAccountName: "x",
      }),
    ).toThrow(/must be an integer ≥ 1000/);
    expect(() =>
      hardenedPodTemplate({
        labels: {},
        containers: [{ ...container, image: { repository: "r", tag: "latest" } }],
        serviceAccountName: "x",
      }),
    ).toThrow(/latest/);
    expect(() =>
      hardenedPodTemplate({
        labels: {},
        containers: [
          { ...container, ports: [{ name: "http", containerPort: 8080, hostPort: 8080 }] },
        ],
        serviceAccountName: "x",
      }),
    ).toThrow(/hostPort needs the host-network exemption/);
  });

  it("relaxes only what a named exemption allows, and records it on the pod", () => {
    const t = hardenedPodTemplate({
      labels: {},
      containers: [
        { ...container, ports: [{ name: "http", containerPort: 8080, hostPort: 8080 }] },
      ],
      serviceAccountName: "reflex-layer",
      exemption: EXEMPTIONS.reflexHostNetwork,
    });
    const s = t.spec as Record<string, any>;
    expect(s.hostNetwork).toBe(true);
    expect(s.dnsPolicy).toBe("ClusterFirstWithHostNet");
    expect(s.containers[0].ports[0]).toMatchObject({ containerPort: 8080, hostPort: 8080 });
    expect(s.containers[0].securityContext.capabilities).toEqual({ drop: ["ALL"] });
    const exemptions = parseExemptionAnnotation(
      (t as any).metadata.annotations?.[EXEMPTION_ANNOTATION],
    );
    expect([...exemptions.keys()]).toEqual(["pod-security-standards"]);
    expect(exemptions.get("pod-security-standards")).toMatch(/reflex layer/);
  });

  it("builds probes and anti-affinity from config", () => {
    expect(httpProbe(config.orchestrator.probes.liveness, "http")).toEqual({
      httpGet: { path: "/health/live", port: "http" },
      initialDelaySeconds: 0,
      periodSeconds: 10,
      timeoutSeconds: 5,
      failureThreshold: 3,
    });
    expect(spreadAcrossNodes({ a: "b" }, true).podAntiAffinity).toHaveProperty(
      "requiredDuringSchedulingIgnoredDuringExecution",
    );
    expect(spreadAcrossNodes({ a: "b" }, false).podAntiAffinity).toHaveProperty(
      "preferredDuringSchedulingIgnoredDuringExecution",
    );
  });
});

describe("quantities", () => {
  it("parses every Kubernetes suffix exactly", () => {
    expect(parseQuantity("500m")).toEqual({ num: 1n, den: 2n });
    expect(parseQuantity("1.5Gi")).toEqual({ num: 1610612736n, den: 1n });
    expect(parseQuantity("2k")).toEqual({ num: 2000n, den: 1n });
    expect(parseQuantity("1e3")).toEqual({ num: 1000n, den: 1n });
    expect(parseQuantity("1E-3")).toEqual({ num: 1n, den: 1000n });
    expect(parseQuantity("100n")).toEqual({ num: 1n, den: 10000000n });
    expect(parseQuantity("1Ei")).toEqual({ num: 1n << 60n, den: 1n });
    expect(compare(parseQuantity("1Gi"), parseQuantity("1G"))).toBe(1);
    expect(
      compare(sum(["100m", "200m", "700m"].map((q) => parseQuantity(q))), parseQuantity("1")),
    ).toBe(0);
  });

  it("rejects what is not a quantity", () => {
    for (const bad of ["2 cores", "1.5GB", "", "Gi", "--1"]) expect(isQuantity(bad)).toBe(false);
    expect(() => parseQuantity("2 cores")).toThrow(/not a Kubernetes quantity/);
  });

  it("formats for humans", () => {
    expect(formatCpu(parseQuantity("2500m"))).toBe("2500m");
    expect(formatCpu(parseQuantity("3"))).toBe("3");
    expect(formatBytes(parseQuantity("3Gi"))).toBe("3Gi");
    expect(formatBytes(parseQuantity("1536Mi"))).toBe("1536Mi");
  });
});
