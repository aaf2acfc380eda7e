import { describe, expect, it } from "vitest";
import { compliantStack, find, rendered } from "../fixtures/stack";
import { clone, evaluate, messagesOf, summary } from "./helpers";
import { podSecurityFindings } from "../../policies/security";

const PSS = "pod-security-standards";

describe("compliant stack", () => {
  it("passes every policy, and lists the reflex exemption it uses", async () => {
    const report = await evaluate(compliantStack());
    expect(summary(report)).toEqual([]);
    expect(report.exemptions).toHaveLength(1);
    expect(report.exemptions[0]).toMatchObject({
      policy: PSS,
      resource: "DaemonSet octollm-production-reflex/reflex-layer",
    });
    expect(report.exemptions[0].reason).toMatch(
      /ADR-005.*covers: uses hostNetwork; container "reflex-layer" uses hostPort 8080/,
    );
  });
});

describe("pod-security-standards", () => {
  it("reports each restricted check on a workload in a restricted namespace", async () => {
    const stack = clone(compliantStack());
    const spec = find(stack, "Deployment", "orchestrator").spec.template.spec;
    const c = spec.containers[0];
    c.securityContext = { capabilities: { add: ["NET_ADMIN", "CHOWN"] }, runAsUser: 0 };
    delete spec.securityContext;
    spec.hostPID = true;
    spec.volumes.push(
      { name: "host", hostPath: { path: "/var/run" } },
      { name: "nfs", nfs: { server: "x", path: "/" } },
    );
    spec.securityContext = { sysctls: [{ name: "kernel.msgmax", value: "1" }] };
    const messages = messagesOf(await evaluate(stack), PSS);
    const expected = [
      /uses hostPID \(fails PSS baseline; namespace octollm-production enforces restricted, so admission would reject this pod\)/,
      /volume "host" is a hostPath \(fails PSS baseline/,
      /volume "nfs" has type nfs .*fails PSS restricted/,
      /sets unsafe sysctl kernel.msgmax/,
      /container "orchestrator" adds capabilities NET_ADMIN \(fails PSS baseline/,
      /container "orchestrator" adds capabilities CHOWN \(restricted allows only NET_BIND_SERVICE\)/,
      /container "orchestrator" does not drop ALL capabilities/,
      /container "orchestrator" does not set allowPrivilegeEscalation: false/,
      /container "orchestrator" does not set runAsNonRoot: true/,
      /container "orchestrator" runAsUser is 0 \(root\)/,
      /container "orchestrator" has no seccompProfile RuntimeDefault or Localhost/,
    ];
    for (const re of expected)
      expect(
        messages.some((m) => re.test(m)),
        `${re} in\n${messages.join("\n")}`,
      ).toBe(true);
    expect(messages.every((m) => m.startsWith("Deployment octollm-production/orchestrator:"))).toBe(
      true,
    );
  });

  it("checks init containers too, and flags privileged", async () => {
    const stack = clone(compliantStack());
    const spec = find(stack, "StatefulSet", "redis").spec.template.spec;
    spec.initContainers = [
      {
        ...spec.containers[0],
        name: "fix-perms",
        securityContext: { ...spec.containers[0].securityContext, privileged: true },
      },
    ];
    const messages = messagesOf(await evaluate(stack), PSS);
    expect(messages).toEqual([
      expect.stringMatching(
        /StatefulSet octollm-production\/redis: init container "fix-perms" is privileged \(fails PSS baseline/,
      ),
    ]);
  });

  it("rejects host networking outright in a restricted namespace, exemption or not", async () => {
    const stack = clone(compliantStack());
    const ds = find(stack, "DaemonSet", "reflex-layer");
    ds.metadata.namespace = "octollm-production";
    const messages = messagesOf(await evaluate(stack), PSS);
    expect(messages).toContain(
      "DaemonSet octollm-production/reflex-layer: uses hostNetwork (fails PSS baseline; namespace octollm-production enforces restricted, so admission would reject this pod)",
    );
  });

  it("does not let a privileged namespace stand in for an exemption", async () => {
    const stack = clone(compliantStack());
    delete find(stack, "DaemonSet", "reflex-layer").spec.template.metadata.annotations[
      "octollm.io/policy-exemption"
    ];
    const report = await evaluate(stack);
    expect(messagesOf(report, PSS)).toContain(
      "DaemonSet octollm-production-reflex/reflex-layer: uses hostNetwork (fails PSS baseline; namespace octollm-production-reflex enforces privileged, but the pod has no octollm.io/policy-exemption for pod-security-standards)",
    );
    expect(report.exemptions).toEqual([]);
  });

  it("still reports what the exemption's namespace would reject (baseline namespace, privileged container)", async () => {
    const stack = clone(compliantStack());
    const nsObj = find(stack, "Namespace", "octollm-production-reflex");
    nsObj.metadata.labels["pod-security.kubernetes.io/enforce"] = "baseline";
    const messages = messagesOf(await evaluate(stack), PSS);
    expect(
      messages.some((m) =>
        /uses hostNetwork \(fails PSS baseline; namespace octollm-production-reflex enforces baseline, so admission would reject/.test(
          m,
        ),
      ),
    ).toBe(true);
  });

  it("honours no exemption where the namespace does not declare its level", async () => {
    const stack = clone(compliantStack());
    delete find(stack, "Namespace", "octollm-production-reflex").metadata.labels[
      "pod-security.kubernetes.io/enforce"
    ];
    const messages = messagesOf(await evaluate(stack), PSS);
    expect(
      messages.some((m) =>
        /does not declare pod-security.kubernetes.io\/enforce in this stack, so no exemption can apply/.test(
          m,
        ),
      ),
    ).toBe(true);
  });

  it("accepts NET_BIND_SERVICE and Localhost seccomp under restricted", () => {
    const findings = podSecurityFindings({
      securityContext: {
        runAsNonRoot: true,
        seccompProfile: { type: "Localhost", localhostProfile: "p.json" },
      },
      containers: [
        {
          name: "c",
          securityContext: {
            allowPrivilegeEscalation: false,
            capabilities: { drop: ["ALL"], add: ["NET_BIND_SERVICE"] },
          },
        },
      ],
    });
    expect(findings).toEqual([]);
  });

  it("flags Unconfined seccomp as a baseline failure", () => {
    const findings = podSecurityFindings({
      securityContext: { runAsNonRoot: true, seccompProfile: { type: "Unconfined" } },
      containers: [
        {
          name: "c",
          securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
        },
      ],
    });
    expect(findings.map((f) => `${f.level}: ${f.message}`)).toEqual([
      "baseline: pod seccompProfile is Unconfined",
      'restricted: container "c" has no seccompProfile RuntimeDefault or Localhost (pod or container)',
    ]);
  });
});

describe("read-only-root-filesystem", () => {
  it("reports a writable root filesystem, init containers included", async () => {
    const stack = clone(compliantStack());
    const spec = find(stack, "Deployment", "coder-arm").spec.template.spec;
    spec.containers[0].securityContext.readOnlyRootFilesystem = false;
    spec.initContainers = [
      {
        name: "migrate",
        image: "docker.io/octollm/coder-arm:v1.0.0",
        resources: spec.containers[0].resources,
        securityContext: {
          ...spec.containers[0].securityContext,
          readOnlyRootFilesystem: undefined,
        },
      },
    ];
    expect(messagesOf(await evaluate(stack), "read-only-root-filesystem")).toEqual([
      'Deployment octollm-production/coder-arm: init container "migrate" does not set readOnlyRootFilesystem: true',
      'Deployment octollm-production/coder-arm: container "coder-arm" does not set readOnlyRootFilesystem: true',
    ]);
  });

  it("honours a written exemption for it, and lists the use", async () => {
    const stack = clone(compliantStack());
    const d = find(stack, "Deployment", "coder-arm");
    d.spec.template.spec.containers[0].securityContext.readOnlyRootFilesystem = false;
    d.spec.template.metadata.annotations = {
      "octollm.io/policy-exemption":
        "read-only-root-filesystem: the vendor binary rewrites its own cache dir",
    };
    const report = await evaluate(stack);
    expect(messagesOf(report, "read-only-root-filesystem")).toEqual([]);
    expect(report.exemptions).toContainEqual({
      policy: "read-only-root-filesystem",
      resource: "Deployment octollm-production/coder-arm",
      reason:
        'the vendor binary rewrites its own cache dir [covers: container "coder-arm" does not set readOnlyRootFilesystem: true]',
    });
  });
});

describe("service-account-token", () => {
  it("reports a mounted token without a reason, and accepts one with octollm.io/api-access", async () => {
    const stack = clone(compliantStack());
    find(stack, "Deployment", "orchestrator").spec.template.spec.automountServiceAccountToken =
      true;
    delete find(stack, "StatefulSet", "redis").spec.template.spec.automountServiceAccountToken;
    const cron = find(stack, "CronJob", "qdrant-backup").spec.jobTemplate.spec.template;
    cron.spec.automountServiceAccountToken = true;
    cron.metadata.annotations = { "octollm.io/api-access": "lists PVCs to snapshot" };
    expect(messagesOf(await evaluate(stack), "service-account-token")).toEqual([
      "Deployment octollm-production/orchestrator: sets automountServiceAccountToken: true without an octollm.io/api-access annotation saying why it needs the Kubernetes API",
      "StatefulSet octollm-production/redis: does not set automountServiceAccountToken: false and its ServiceAccount redis is not in the stack (the token is mounted by default) without an octollm.io/api-access annotation saying why it needs the Kubernetes API",
    ]);
  });

  it("lets the pod inherit its ServiceAccount's automountServiceAccountToken: false; a pod spec true overrides it", async () => {
    const stack = clone(compliantStack());
    const sa = (name: string, automount?: boolean) =>
      rendered({
        apiVersion: "v1",
        kind: "ServiceAccount",
        metadata: { name, namespace: "octollm-production" },
        ...(automount === undefined ? {} : { automountServiceAccountToken: automount }),
      });
    // redis: unset in the pod, false on its ServiceAccount → fine
    delete find(stack, "StatefulSet", "redis").spec.template.spec.automountServiceAccountToken;
    // orchestrator: true in the pod overrides the ServiceAccount's false
    find(stack, "Deployment", "orchestrator").spec.template.spec.automountServiceAccountToken =
      true;
    // coder-arm: unset in the pod, its ServiceAccount leaves the default (true)
    delete find(stack, "Deployment", "coder-arm").spec.template.spec.automountServiceAccountToken;
    stack.push(sa("redis", false), sa("orchestrator", false), sa("coder-arm"));
    expect(messagesOf(await evaluate(stack), "service-account-token")).toEqual([
      "Deployment octollm-production/orchestrator: sets automountServiceAccountToken: true (overriding ServiceAccount orchestrator's false) without an octollm.io/api-access annotation saying why it needs the Kubernetes API",
      "Deployment octollm-production/coder-arm: does not set automountServiceAccountToken: false, nor does its ServiceAccount coder-arm (the token is mounted by default) without an octollm.io/api-access annotation saying why it needs the Kubernetes API",
    ]);
  });
});

describe("exemptions", () => {
  it("are ignored for policies that cannot be exempted, and say so", async () => {
    const stack = clone(compliantStack());
    const d = find(stack, "Deployment", "orchestrator");
    delete d.spec.template.spec.containers[0].resources.limits;
    d.spec.template.metadata.annotations = {
      "octollm.io/policy-exemption": "container-resources: we trust it",
    };
    const report = await evaluate(stack);
    expect(messagesOf(report, "container-resources")).toEqual([
      'Deployment octollm-production/orchestrator: container "orchestrator" has no limits.cpu (its octollm.io/policy-exemption annotation names "container-resources", which cannot be exempted)',
      'Deployment octollm-production/orchestrator: container "orchestrator" has no limits.memory (its octollm.io/policy-exemption annotation names "container-resources", which cannot be exempted)',
    ]);
    expect(report.exemptions.map((e) => e.policy)).not.toContain("container-resources");
  });
});

describe("PSS details, compared as kubernetes/pod-security-admission v0.36.2 does", () => {
  const base = () => ({
    securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
    containers: [
      {
        name: "app",
        securityContext: {
          allowPrivilegeEscalation: false,
          capabilities: { drop: ["ALL"] } as { drop?: string[]; add?: string[] },
        } as Record<string, any>,
      },
    ],
  });
  const findings = (mutate: (spec: ReturnType<typeof base>) => void, annotations = {}) => {
    const spec = base();
    mutate(spec);
    return podSecurityFindings(spec, { metadata: { annotations }, spec: spec });
  };

  it("the hardened base spec passes restricted", () => {
    expect(findings(() => {})).toEqual([]);
  });

  it.each([
    ["RuntimeDefault", []],
    ["Localhost", []],
    ["Unconfined", ["baseline"]],
    ["runtime/default", ["baseline"]], // the annotation's spelling is not a field value
    ["", ["baseline"]],
  ])("appArmorProfile.type %j", (type, levels) => {
    const pod = findings((s) => {
      (s.securityContext as Record<string, unknown>).appArmorProfile = { type };
    });
    const container = findings((s) => {
      s.containers[0].securityContext.appArmorProfile = { type };
    });
    expect(pod.map((f) => f.level)).toEqual(levels);
    expect(container.map((f) => f.level)).toEqual(levels);
  });

  it.each([
    ["runtime/default", []],
    ["localhost/octollm-profile", []],
    ["", []],
    ["unconfined", ["baseline"]],
    ["docker-default", ["baseline"]],
    ["localhost", ["baseline"]],
  ])("AppArmor annotation %j", (value, levels) => {
    const f = findings(() => {}, { "container.apparmor.security.beta.kubernetes.io/app": value });
    expect(f.map((x) => x.level)).toEqual(levels);
  });

  it.each([
    [["NET_BIND_SERVICE"], ["ALL"], []],
    [["CHOWN"], ["ALL"], ["restricted"]],
    // admission does not strip CAP_ nor fold case: these are not the allowed names
    [["CAP_NET_BIND_SERVICE"], ["ALL"], ["baseline"]],
    [["net_bind_service"], ["ALL"], ["baseline"]],
    [["CAP_CHOWN"], ["ALL"], ["baseline"]],
    [[], ["CAP_ALL"], ["restricted"]],
    [[], ["all"], ["restricted"]],
    [["SYS_ADMIN"], ["ALL"], ["baseline"]],
  ])("capabilities add %j drop %j", (add, drop, levels) => {
    const f = findings((s) => {
      s.containers[0].securityContext.capabilities = { add, drop };
    });
    expect(f.map((x) => x.level)).toEqual(levels);
  });

  it.each([
    [{ type: "container_t" }, []],
    [{ type: "container_init_t" }, []],
    [{ type: "container_kvm_t" }, []],
    [{ type: "container_engine_t" }, []], // allowed since 1.31
    [{ level: "s0:c123,c456" }, []],
    [{ type: "spc_t" }, ["baseline"]],
    [{ user: "system_u" }, ["baseline"]],
    [{ role: "system_r" }, ["baseline"]],
  ])("seLinuxOptions %j", (options, levels) => {
    const f = findings((s) => {
      s.containers[0].securityContext.seLinuxOptions = options;
    });
    expect(f.map((x) => x.level)).toEqual(levels);
  });

  it.each([
    ["net.ipv4.tcp_rmem", []], // safe since 1.32
    ["net.ipv4.tcp_keepalive_time", []],
    ["net.ipv4.ip_unprivileged_port_start", []],
    ["net.core.somaxconn", ["baseline"]],
    ["kernel.msgmax", ["baseline"]],
  ])("sysctl %s", (name, levels) => {
    const f = findings((s) => {
      (s.securityContext as Record<string, unknown>).sysctls = [{ name, value: "1" }];
    });
    expect(f.map((x) => x.level)).toEqual(levels);
  });

  it("probe and lifecycle hosts fail baseline (1.34); procMount Unmasked only in a user namespace passes baseline", () => {
    expect(
      findings((s) => {
        (s.containers[0] as Record<string, unknown>).readinessProbe = {
          httpGet: { host: "169.254.169.254", port: 80 },
        };
      }).map((f) => f.message),
    ).toEqual(['container "app" probe or lifecycle handler names host 169.254.169.254']);
    expect(
      findings((s) => {
        s.containers[0].securityContext.procMount = "Unmasked";
      }).map((f) => f.level),
    ).toEqual(["baseline"]);
    expect(
      findings((s) => {
        s.containers[0].securityContext.procMount = "Unmasked";
        (s as Record<string, unknown>).hostUsers = false;
      }).map((f) => f.level),
    ).toEqual(["restricted"]);
  });
});
