/**
 * The backup CronJobs on every stack: which exist, their one hardened shape, their volumes,
 * their NetworkPolicies (exact store ports), and that no secret reaches them in clear.
 */
import { describe, expect, it } from "vitest";
import { imageRef } from "../../components/config";
import type { KubernetesObject } from "../harness";
import { STACKS, configOf, findObject, objectsOf, ofKind, renderStack } from "../harness";

const EXPECTED_JOBS = {
  dev: ["postgres-backup", "qdrant-backup", "redis-backup"],
  staging: ["qdrant-backup", "redis-backup"],
  production: ["qdrant-backup", "redis-backup"],
} as const;

function backupCronJobs(objects: KubernetesObject[]): any[] {
  return ofKind(objects, "CronJob").filter(
    (o) => o.metadata.labels?.["app.kubernetes.io/component"] === "backup",
  );
}

const storeOf = (job: any): string => job.metadata.name.replace(/-backup$/, "");

describe.each(STACKS)("backup jobs on %s", (stack) => {
  const config = configOf(stack);
  const ns = config.namespaces.workloads;

  it("runs a CronJob per store without its own operator backups (pg_dump only without an object store)", async () => {
    const jobs = backupCronJobs(await objectsOf(stack));
    expect(jobs.map((j) => j.metadata.name).sort()).toEqual([...EXPECTED_JOBS[stack]]);
    for (const j of jobs) expect(j.metadata.namespace).toBe(ns);
    const run = await renderStack(stack);
    expect((run.outputs.backups as any).cronJobs.sort()).toEqual([...EXPECTED_JOBS[stack]]);
  });

  it("gives every job the same hardened shape: Forbid, deadlines, retries, history, UTC", async () => {
    for (const job of backupCronJobs(await objectsOf(stack))) {
      const s = job.spec;
      expect(s.schedule).toBe((config.backups as any)[storeOf(job)].schedule);
      expect(s.timeZone).toBe("Etc/UTC");
      expect(s.concurrencyPolicy).toBe("Forbid");
      expect(s.startingDeadlineSeconds).toBeGreaterThan(0);
      expect(s.successfulJobsHistoryLimit).toBeGreaterThanOrEqual(1);
      // the newest failed Job must stay for kube_job_status_failed (BackupFailed)
      expect(s.failedJobsHistoryLimit).toBeGreaterThanOrEqual(1);
      expect(s.jobTemplate.spec.backoffLimit).toBeGreaterThanOrEqual(1);
      expect(s.jobTemplate.spec.backoffLimit).toBeLessThanOrEqual(6);
      expect(s.jobTemplate.spec.activeDeadlineSeconds).toBeGreaterThan(0);
      // no TTL: it would delete the Job history the alerts read
      expect(s.jobTemplate.spec.ttlSecondsAfterFinished).toBeUndefined();
      expect(s.jobTemplate.metadata.labels["app.kubernetes.io/name"]).toBe(job.metadata.name);
    }
  });

  it("builds the pods with the hardened pod builder: non-root, read-only, no token, config resources and image", async () => {
    for (const job of backupCronJobs(await objectsOf(stack))) {
      const t = job.spec.jobTemplate.spec.template;
      expect(t.metadata.labels).toMatchObject({
        "app.kubernetes.io/name": job.metadata.name,
        "app.kubernetes.io/component": "backup",
        "app.kubernetes.io/instance": `octollm-${stack}`,
      });
      const pod = t.spec;
      expect(["Never", "OnFailure"]).toContain(pod.restartPolicy);
      expect(pod.automountServiceAccountToken).toBe(false);
      expect(pod.serviceAccountName).toBe("backup");
      expect(pod.securityContext).toMatchObject({
        runAsNonRoot: true,
        seccompProfile: { type: "RuntimeDefault" },
      });
      expect(pod.securityContext.runAsUser).toBeGreaterThanOrEqual(1000);
      expect(pod.containers).toHaveLength(1);
      const c = pod.containers[0];
      expect(c.image).toBe(imageRef(config.backups.jobImage));
      expect(c.resources).toEqual({
        requests: { ...config.backups.jobResources.requests },
        limits: { ...config.backups.jobResources.limits },
      });
      expect(c.securityContext).toMatchObject({
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        capabilities: { drop: ["ALL"] },
      });
      const mounts = Object.fromEntries(c.volumeMounts.map((m: any) => [m.mountPath, m.name]));
      const volumes = Object.fromEntries(pod.volumes.map((v: any) => [v.name, v]));
      expect(volumes[mounts["/tmp"]].emptyDir).toBeDefined();
      expect(volumes[mounts["/backup"]].persistentVolumeClaim).toEqual({
        claimName: job.metadata.name,
      });
    }
  });

  it("gives each store its own backup PVC, protected like the data", async () => {
    const run = await renderStack(stack);
    const objects = await objectsOf(stack);
    for (const job of backupCronJobs(objects)) {
      const pvc = findObject(objects, "PersistentVolumeClaim", job.metadata.name, ns) as any;
      expect(pvc.spec.accessModes).toEqual(["ReadWriteOnce"]);
      expect(pvc.spec.resources.requests.storage).toBe(config.backups.storage);
      expect(pvc.spec.storageClassName).toBe(config.dataStores.storageClass.name);
      const r = run.resources.find(
        (x) =>
          x.type === "kubernetes:core/v1:PersistentVolumeClaim" &&
          (x.inputs as any).metadata.name === job.metadata.name,
      )!;
      expect(r.protect).toBe(config.protectData);
      expect(r.retainOnDelete).toBe(config.protectData);
    }
    // one claim per job: no two CronJobs share a ReadWriteOnce volume
    const claims = backupCronJobs(objects).map(
      (j) =>
        j.spec.jobTemplate.spec.template.spec.volumes.find((v: any) => v.persistentVolumeClaim)
          .persistentVolumeClaim.claimName,
    );
    expect(new Set(claims).size).toBe(claims.length);
  });

  it("lets a backup pod reach only its store, on exactly the ports it uses", async () => {
    const objects = await objectsOf(stack);
    const sentinel = config.dataStores.redis.mode === "sentinel";
    const want: Record<string, { labels: Record<string, string>; ports: number[] }> = {
      postgres: { labels: { "cnpg.io/cluster": "postgres" }, ports: [5432] },
      redis: {
        labels: { "app.kubernetes.io/name": "redis" },
        ports: sentinel ? [6379, 26379] : [6379],
      },
      qdrant: { labels: { "app.kubernetes.io/name": "qdrant" }, ports: [6333] },
    };
    for (const job of backupCronJobs(objects)) {
      const policy = findObject(objects, "NetworkPolicy", job.metadata.name, ns) as any;
      const podLabels = job.spec.jobTemplate.spec.template.metadata.labels;
      for (const [k, v] of Object.entries(policy.spec.podSelector.matchLabels))
        expect(podLabels[k], k).toBe(v);
      expect(policy.spec.policyTypes).toEqual(["Ingress", "Egress"]);
      expect(policy.spec.ingress).toEqual([]);
      const w = want[storeOf(job)];
      expect(policy.spec.egress).toHaveLength(1);
      const [rule] = policy.spec.egress;
      expect(rule.to).toHaveLength(1);
      expect(rule.to[0].namespaceSelector).toBeUndefined();
      expect(rule.to[0].podSelector.matchLabels).toMatchObject(w.labels);
      expect(rule.ports.map((p: any) => p.port).sort()).toEqual(w.ports.sort());
      for (const p of rule.ports) expect(p.protocol).toBe("TCP");
    }
  });

  it("reads every credential from a Secret (secretKeyRef), never a literal or a command-line flag", async () => {
    const expectedRefs: Record<string, Record<string, [string, string]>> = {
      postgres: {
        PGPASSWORD: ["octollm-database", "password"],
        PGUSER: ["octollm-database", "username"],
      },
      redis: { REDISCLI_AUTH: ["redis-credentials", "password"] },
      qdrant: { QDRANT_API_KEY: ["qdrant-credentials", "api-key"] },
    };
    for (const job of backupCronJobs(await objectsOf(stack))) {
      const c = job.spec.jobTemplate.spec.template.spec.containers[0];
      const env = Object.fromEntries(c.env.map((e: any) => [e.name, e]));
      for (const [name, [secret, key]] of Object.entries(expectedRefs[storeOf(job)])) {
        expect(env[name].value, name).toBeUndefined();
        expect(env[name].valueFrom.secretKeyRef).toEqual({ name: secret, key });
      }
      for (const e of c.env)
        if (/PASS|AUTH|KEY|SECRET|TOKEN/.test(e.name))
          expect(e.valueFrom?.secretKeyRef).toBeDefined();
      const script = [...c.command, ...c.args].join(" ");
      expect(script).not.toMatch(/redis-cli[^\n]* -a /); // password flag
      expect(script).not.toMatch(/-H "?api-key/); // header on curl's argv
      expect(script).not.toMatch(/mock-octollm/); // generated values
    }
  });
});

describe("backup jobs follow the config", () => {
  it("standalone Redis is read directly, without asking a sentinel", async () => {
    const objects = await objectsOf("dev");
    const job = findObject(objects, "CronJob", "redis-backup") as any;
    const env = job.spec.jobTemplate.spec.template.spec.containers[0].env;
    expect(env).toContainEqual({ name: "REDIS_MODE", value: "standalone" });
    expect(env).toContainEqual({ name: "REDIS_HOST", value: "redis" });
    const prod = findObject(await objectsOf("production"), "CronJob", "redis-backup") as any;
    const prodEnv = prod.spec.jobTemplate.spec.template.spec.containers[0].env;
    expect(prodEnv).toContainEqual({ name: "REDIS_MODE", value: "sentinel" });
    expect(prodEnv).toContainEqual({ name: "REDIS_SENTINEL_HOST", value: "redis-sentinel" });
  });

  it("snapshots every Qdrant peer in cluster mode and the single node otherwise", async () => {
    const peers = async (stack: string) =>
      (
        findObject(await objectsOf(stack), "CronJob", "qdrant-backup") as any
      ).spec.jobTemplate.spec.template.spec.containers[0].env.find(
        (e: any) => e.name === "QDRANT_PEERS",
      ).value;
    expect(await peers("production")).toBe(
      "qdrant-0.qdrant-headless qdrant-1.qdrant-headless qdrant-2.qdrant-headless",
    );
    expect(await peers("dev")).toBe("qdrant");
  });

  it("turns retention into days for pruning and disables everything with backups.enabled false", async () => {
    const objects = await objectsOf("production", {
      "octollm:backups": { redis: { retention: "2w" }, qdrant: { retention: "1m" } },
    });
    const days = (name: string) =>
      (
        findObject(objects, "CronJob", name) as any
      ).spec.jobTemplate.spec.template.spec.containers[0].env.find(
        (e: any) => e.name === "RETENTION_DAYS",
      ).value;
    expect(days("redis-backup")).toBe("14");
    expect(days("qdrant-backup")).toBe("30");

    const off = await objectsOf("production", { "octollm:backups": { enabled: false } });
    expect(backupCronJobs(off)).toEqual([]);
    expect(ofKind(off, "ScheduledBackup")).toEqual([]);
    expect(ofKind(off, "Schedule")).toEqual([]);
  });
});
