/**
 * Issue 14 item 11: the pod options chart users expect (imagePullSecrets, nodeSelector,
 * tolerations, affinity additions, priorityClassName, pod annotations and labels, app-tier extra
 * volumes and mounts), platform-wide and per workload: what the schema refuses, how the two
 * levels merge, what the one pod builder writes, how the CloudNativePG Cluster gets them, and
 * that the real render with every knob set still passes the schemas and the policy pack.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { parsePlatformConfig } from "../../components/config";
import { hardenedPodTemplate, mergeAffinity, PodSecurityError } from "../../components/k8s/pod";
import type { AffinityAdditions } from "../../components/k8s/pod-options";
import { resolvePodOptions } from "../../components/k8s/pod-options";
import type { RenderedResource } from "../../policies/evaluate";
import { evaluatePolicies, loadPolicyConfig } from "../../policies/evaluate";
import { validateObjects } from "../../scripts/validate";
import {
  configOf,
  configProblems,
  encodeConfig,
  findObject,
  kubernetesObjects,
  ofKind,
  podSpecOf,
  renderStack,
  renderedResources,
} from "../harness";

const image = { repository: "docker.io/octollm/x", tag: "v1" };
const res = { requests: { cpu: "100m", memory: "64Mi" }, limits: { cpu: "200m", memory: "128Mi" } };
const labels = {
  "app.kubernetes.io/name": "x",
  "app.kubernetes.io/instance": "i",
  "app.kubernetes.io/component": "c",
};

const gpuToleration = { key: "gpu", operator: "Exists", effect: "NoSchedule" };
const spotToleration = { key: "spot", operator: "Equal", value: "true", effect: "NoSchedule" };
const zoneAffinity = {
  nodeAffinity: {
    requiredDuringSchedulingIgnoredDuringExecution: {
      nodeSelectorTerms: [
        { matchExpressions: [{ key: "node-role", operator: "In", values: ["apps"] }] },
      ],
    },
  },
  podAntiAffinity: {
    preferredDuringSchedulingIgnoredDuringExecution: [
      {
        weight: 50,
        podAffinityTerm: {
          labelSelector: { matchLabels: { team: "noisy" } },
          topologyKey: "kubernetes.io/hostname",
        },
      },
    ],
  },
};

/** Every knob, platform-wide and per workload (the workloads override parts of the default). */
const everyKnob = {
  "octollm:podDefaults": {
    imagePullSecrets: ["registry-default"],
    nodeSelector: { pool: "general", "kubernetes.io/os": "linux" },
    tolerations: [spotToleration],
    priorityClassName: "octollm-default",
    podAnnotations: { "team.example.com/owner": "platform" },
    podLabels: { "cost-center": "ml" },
  },
  "octollm:orchestrator": {
    pod: {
      imagePullSecrets: ["registry-orchestrator"],
      nodeSelector: { pool: "apps" },
      tolerations: [gpuToleration],
      affinity: zoneAffinity,
      priorityClassName: "octollm-critical",
      podAnnotations: { "team.example.com/owner": "brain" },
      podLabels: { tier: "front" },
      extraVolumes: [
        { name: "prompts", configMap: { name: "prompt-templates" } },
        { name: "ca", secret: { secretName: "corporate-ca" } },
      ],
      extraVolumeMounts: [
        { name: "prompts", mountPath: "/etc/prompts" },
        { name: "ca", mountPath: "/etc/ssl/corporate", readOnly: false },
      ],
    },
  },
  "octollm:arms": [{ name: "coder", pod: { nodeSelector: { pool: "coder" } } }],
  "octollm:reflexLayer": { pod: { tolerations: [gpuToleration] } },
  "octollm:dataStores": {
    postgres: { pod: { nodeSelector: { pool: "db" }, affinity: zoneAffinity } },
    redis: { pod: { priorityClassName: "octollm-data" } },
    qdrant: { pod: { podLabels: { storage: "vectors" } } },
  },
  "octollm:backups": { pod: { nodeSelector: { pool: "batch" } } },
};

describe("pod options: the schema", () => {
  it("accepts every knob, platform-wide and per workload", () => {
    expect(configProblems(everyKnob)).toEqual([]);
  });

  it.each([
    [
      "a selector label",
      { "octollm:orchestrator": { pod: { podLabels: { "app.kubernetes.io/name": "evil" } } } },
      /octollm:orchestrator\.pod\.podLabels\.app\.kubernetes\.io\/name: .*label "app\.kubernetes\.io\/name" is reserved \(app\.kubernetes\.io\/\*\)/,
    ],
    [
      "the CloudNativePG instance label",
      { "octollm:podDefaults": { podLabels: { "cnpg.io/cluster": "postgres" } } },
      /octollm:podDefaults\.podLabels\.cnpg\.io\/cluster: .*reserved \(cnpg\.io\/\*\)/,
    ],
    [
      "the policy exemption annotation",
      {
        "octollm:arms": [
          { name: "coder", pod: { podAnnotations: { "octollm.io/policy-exemption": "x" } } },
        ],
      },
      /octollm:arms\[coder\]\.pod\.podAnnotations\.octollm\.io\/policy-exemption: .*steer the policy pack/,
    ],
    [
      "a hostPath volume",
      {
        "octollm:orchestrator": {
          pod: { extraVolumes: [{ name: "host", hostPath: { path: "/var/run" } }] },
        },
      },
      /octollm:orchestrator\.pod\.extraVolumes\[0\]\.hostPath: .*hostPath volumes are not allowed/,
    ],
    [
      "a volume type outside PSS restricted",
      {
        "octollm:orchestrator": {
          pod: { extraVolumes: [{ name: "n", nfs: { server: "x", path: "/" } }] },
        },
      },
      /volume type "nfs" is not allowed under Pod Security Standards restricted; allowed: configMap/,
    ],
    [
      "a mount of an undeclared volume",
      { "octollm:orchestrator": { pod: { extraVolumeMounts: [{ name: "a", mountPath: "/a" }] } } },
      /extraVolumeMounts\[0\]\.name: .*no volume "a" in extraVolumes \(have: none\)/,
    ],
    [
      "a mount over /tmp",
      {
        "octollm:orchestrator": {
          pod: {
            extraVolumes: [{ name: "a", emptyDir: {} }],
            extraVolumeMounts: [{ name: "a", mountPath: "/tmp" }],
          },
        },
      },
      /extraVolumeMounts\[0\]\.mountPath: .*must not be \/ or \/tmp/,
    ],
    [
      "volumes on a data store (app tier only)",
      {
        "octollm:dataStores": {
          redis: { pod: { extraVolumes: [{ name: "a", emptyDir: {} }] } },
        },
      },
      /octollm:dataStores\.redis\.pod: unknown key "extraVolumes"/,
    ],
    [
      "a toleration with a bad effect",
      { "octollm:podDefaults": { tolerations: [{ key: "a", effect: "Sometimes" }] } },
      /octollm:podDefaults\.tolerations\[0\]\.effect: got "Sometimes"/,
    ],
    [
      "an affinity with an unknown key",
      { "octollm:podDefaults": { affinity: { nodeAfinity: {} } } },
      /octollm:podDefaults\.affinity\.nodeAfinity: .*unknown key|octollm:podDefaults\.affinity: .*unknown key "nodeAfinity"/,
    ],
    [
      "an affinity term without a topology key",
      {
        "octollm:podDefaults": {
          affinity: {
            podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ namespaces: [] }] },
          },
        },
      },
      /affinity\.podAffinity\.requiredDuringSchedulingIgnoredDuringExecution\[0\]\.topologyKey/,
    ],
    [
      "a priority class that is no object name",
      { "octollm:podDefaults": { priorityClassName: "High Priority" } },
      /octollm:podDefaults\.priorityClassName: got "High Priority"; must be a Kubernetes object name/,
    ],
  ])("rejects %s, naming the key", (_what, overrides, message) => {
    const problems = configProblems(overrides);
    expect(problems.join("\n")).toMatch(message);
  });
});

describe("pod options: merging", () => {
  it("lets the workload override the platform default (maps by key, lists and scalars whole)", () => {
    const config = configOf("production", everyKnob);
    const orchestrator = resolvePodOptions(config.podDefaults, config.orchestrator.pod);
    expect(orchestrator.nodeSelector).toEqual({ pool: "apps", "kubernetes.io/os": "linux" });
    expect(orchestrator.tolerations).toEqual([gpuToleration]);
    expect(orchestrator.imagePullSecrets).toEqual(["registry-orchestrator"]);
    expect(orchestrator.priorityClassName).toBe("octollm-critical");
    expect(orchestrator.annotations).toEqual({ "team.example.com/owner": "brain" });
    expect(orchestrator.labels).toEqual({ "cost-center": "ml", tier: "front" });

    const judge = config.arms.find((a) => a.name === "judge");
    const inherited = resolvePodOptions(config.podDefaults, judge?.pod);
    expect(inherited.nodeSelector).toEqual({ pool: "general", "kubernetes.io/os": "linux" });
    expect(inherited.tolerations).toEqual([spotToleration]);
    expect(inherited.priorityClassName).toBe("octollm-default");
    expect(inherited.volumes).toEqual([]);
  });

  it("keeps the platform's pod anti-affinity and appends config's terms", () => {
    const ours = {
      podAntiAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: [
          { labelSelector: { matchLabels: labels }, topologyKey: "kubernetes.io/hostname" },
        ],
      },
    };
    const merged = mergeAffinity(ours, zoneAffinity as AffinityAdditions) as Record<string, any>;
    expect(merged.nodeAffinity).toEqual(zoneAffinity.nodeAffinity);
    expect(merged.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution).toEqual(
      ours.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution,
    );
    expect(merged.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution).toEqual(
      zoneAffinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution,
    );
    expect(mergeAffinity(ours, {})).toBe(ours);
  });
});

describe("pod options: the pod builder", () => {
  const base = {
    labels,
    serviceAccountName: "sa",
    containers: [{ name: "app", image, resources: res }],
  };
  const options = resolvePodOptions(undefined, {
    imagePullSecrets: ["pull"],
    nodeSelector: { pool: "apps" },
    tolerations: [{ key: "gpu", operator: "Exists" }],
    priorityClassName: "high",
    podAnnotations: { "a.example.com/x": "1" },
    podLabels: { team: "t" },
    extraVolumes: [{ name: "cfg", configMap: { name: "cm" } }],
    extraVolumeMounts: [{ name: "cfg", mountPath: "/etc/cfg" }],
  });

  it("writes every option onto the pod, mounts read-only, declares the external references", () => {
    const t = hardenedPodTemplate({ ...base, options }) as Record<string, any>;
    expect(t.spec.imagePullSecrets).toEqual([{ name: "pull" }]);
    expect(t.spec.nodeSelector).toEqual({ pool: "apps" });
    expect(t.spec.tolerations).toEqual([{ key: "gpu", operator: "Exists" }]);
    expect(t.spec.priorityClassName).toBe("high");
    expect(t.metadata.labels).toEqual({ ...labels, team: "t" });
    expect(t.metadata.annotations).toMatchObject({
      "a.example.com/x": "1",
      "octollm.io/external-secrets": "pull",
      "octollm.io/external-configmaps": "cm",
    });
    expect(t.spec.volumes).toContainEqual({ name: "cfg", configMap: { name: "cm" } });
    expect(t.spec.containers[0].volumeMounts).toContainEqual({
      name: "cfg",
      mountPath: "/etc/cfg",
      readOnly: true,
    });
    // The hardening is untouched.
    expect(t.spec.securityContext.runAsNonRoot).toBe(true);
    expect(t.spec.containers[0].securityContext.readOnlyRootFilesystem).toBe(true);
  });

  it("without options writes none of them", () => {
    const t = hardenedPodTemplate(base) as Record<string, any>;
    for (const key of ["imagePullSecrets", "nodeSelector", "tolerations", "priorityClassName"])
      expect(t.spec[key], key).toBeUndefined();
  });

  it("refuses a hostPath volume and a platform label even when called from code", () => {
    const hostPath = {
      ...options,
      volumes: [{ name: "h", hostPath: { path: "/" } }],
      volumeMounts: [],
    };
    expect(() => hardenedPodTemplate({ ...base, options: hostPath })).toThrow(PodSecurityError);
    expect(() =>
      hardenedPodTemplate({
        ...base,
        options: { ...options, labels: { "app.kubernetes.io/name": "y" } },
      }),
    ).toThrow(/is the platform's/);
  });
});

describe("pod options: the rendered production stack with every knob", () => {
  const run = () => renderStack("production", everyKnob);

  it("applies them to the orchestrator, each arm, the reflex layer, the stores and the backup jobs", async () => {
    const objects = kubernetesObjects(await run());
    const ns = "octollm-production";
    const orch = podSpecOf(findObject(objects, "Deployment", "orchestrator", ns));
    expect(orch.nodeSelector).toEqual({ pool: "apps", "kubernetes.io/os": "linux" });
    expect(orch.priorityClassName).toBe("octollm-critical");
    expect(orch.imagePullSecrets).toEqual([{ name: "registry-orchestrator" }]);
    expect(orch.affinity.nodeAffinity).toEqual(zoneAffinity.nodeAffinity);
    expect(orch.containers[0].volumeMounts).toContainEqual({
      name: "ca",
      mountPath: "/etc/ssl/corporate",
      readOnly: false,
    });
    // The platform's spreading is still there.
    expect(orch.topologySpreadConstraints).toHaveLength(2);

    const coder = podSpecOf(findObject(objects, "Deployment", "coder-arm", ns));
    expect(coder.nodeSelector).toEqual({ pool: "coder", "kubernetes.io/os": "linux" });
    expect(coder.tolerations).toEqual([spotToleration]);
    const judge = findObject(objects, "Deployment", "judge-arm", ns) as Record<string, any>;
    expect(judge.spec.template.metadata.labels["cost-center"]).toBe("ml");

    const reflex = podSpecOf(findObject(objects, "DaemonSet", "reflex-layer"));
    expect(reflex.tolerations).toEqual([gpuToleration]);
    expect(reflex.priorityClassName).toBe("octollm-default");

    expect(podSpecOf(findObject(objects, "StatefulSet", "redis", ns)).priorityClassName).toBe(
      "octollm-data",
    );
    const qdrant = findObject(objects, "StatefulSet", "qdrant", ns) as Record<string, any>;
    expect(qdrant.spec.template.metadata.labels.storage).toBe("vectors");
    // Only the pod template: the StatefulSet's immutable selector is unchanged.
    expect(qdrant.spec.selector.matchLabels.storage).toBeUndefined();
    // Qdrant's own anti-affinity survives next to config's (none here).
    expect(qdrant.spec.template.spec.affinity.podAntiAffinity).toBeDefined();

    const cronJobs = ofKind(objects, "CronJob");
    expect(cronJobs.length).toBeGreaterThan(0);
    for (const c of cronJobs) {
      const spec = (c as Record<string, any>).spec.jobTemplate.spec.template.spec;
      expect(spec.nodeSelector, c.metadata.name).toEqual({
        pool: "batch",
        "kubernetes.io/os": "linux",
      });
    }
  });

  it("maps them onto the CloudNativePG Cluster as its CRD spells them", async () => {
    const objects = kubernetesObjects(await run());
    const cluster = findObject(objects, "Cluster", "postgres") as Record<string, any>;
    expect(cluster.spec.affinity).toMatchObject({
      enablePodAntiAffinity: true,
      nodeSelector: { pool: "db", "kubernetes.io/os": "linux" },
      tolerations: [spotToleration],
      nodeAffinity: zoneAffinity.nodeAffinity,
      additionalPodAntiAffinity: zoneAffinity.podAntiAffinity,
    });
    expect(cluster.spec.priorityClassName).toBe("octollm-default");
    expect(cluster.spec.imagePullSecrets).toEqual([{ name: "registry-default" }]);
    expect(cluster.spec.inheritedMetadata).toEqual({
      labels: { "cost-center": "ml" },
      annotations: { "team.example.com/owner": "platform" },
    });
    expect(cluster.metadata.annotations["octollm.io/external-secrets"]).toContain(
      "registry-default",
    );
  });

  it("validates against the Kubernetes and CloudNativePG schemas", async () => {
    const result = await validateObjects(kubernetesObjects(await run()));
    expect(result.errors).toEqual([]);
  });

  it("passes every mandatory policy: pull secrets and mounted Secrets are declared external", async () => {
    const rendered: RenderedResource[] = renderedResources(await run());
    const report = await evaluatePolicies(rendered, loadPolicyConfig("production"));
    const mandatory = report.violations.filter((v) => v.enforcementLevel === "mandatory");
    expect(mandatory.map((v) => `${v.policy}: ${v.message}`)).toEqual([]);

    // The other side: strip the declaration and the policy names the pull secret.
    const deployment = rendered.find(
      (r) =>
        (r.props as { metadata?: { name?: string } }).metadata?.name === "orchestrator" &&
        (r.props as { kind?: string }).kind === "Deployment",
    );
    const annotations = (deployment?.props as Record<string, any>).spec.template.metadata
      .annotations as Record<string, string>;
    delete annotations["octollm.io/external-secrets"];
    const broken = await evaluatePolicies(rendered, loadPolicyConfig("production"));
    expect(broken.violations.map((v) => v.message).join("\n")).toMatch(
      /imagePullSecrets reads Secret registry-orchestrator/,
    );
  });
});

describe("pod options: the documented example", () => {
  it("docs/operations.md's example parses and resolves as the text says", () => {
    const text = fs.readFileSync(path.join(__dirname, "../../docs/operations.md"), "utf8");
    const block = /<!-- example: pod-options[^\n]*\n+```yaml\n([\s\S]*?)```/.exec(text);
    expect(block, "the example block is in docs/operations.md").not.toBeNull();
    const doc = parseYaml(block?.[1] ?? "") as { config: Record<string, unknown> };
    const config = parsePlatformConfig(encodeConfig(doc.config));
    const orchestrator = resolvePodOptions(config.podDefaults, config.orchestrator.pod);
    expect(orchestrator.priorityClassName).toBe("octollm-critical");
    expect(orchestrator.imagePullSecrets).toEqual(["registry-credentials"]);
    const postgres = resolvePodOptions(config.podDefaults, config.dataStores.postgres.pod);
    expect(postgres.nodeSelector).toEqual({ "node-pool": "databases" });
    expect(postgres.priorityClassName).toBe("octollm-standard");
  });
});
