/**
 * Bad backup input is rejected at parse time with the key; good input on each side of each
 * rule passes. Plus the schedule/retention conversions the tier relies on, and the job scripts
 * run for real (sh, with stub tools) so retention and atomic writes are proven, not assumed.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, utimesSync, writeFileSync, chmodSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { configProblems } from "../harness";
import { cnpgSchedule, goDurationSeconds, retentionDays } from "../../components/backups/schedule";
import { scriptPrologue } from "../../components/backups/cron-job";
import { pgDumpScript } from "../../components/backups/postgres";
import { qdrantBackupScript } from "../../components/backups/qdrant";
import { redisBackupScript } from "../../components/backups/redis";

const restore = (r: unknown, env = "production", extra: Record<string, unknown> = {}) =>
  configProblems({ "octollm:dataStores": { postgres: { restoreFrom: r } }, ...extra }, env);
const NEW_ARCHIVE = {
  "octollm:backups": { postgres: { objectStore: { serverName: "postgres-2" } } },
};

describe("backup config: bad input names the key", () => {
  it.each([
    ["velero", "0 2 * *", "needs 5 fields"],
    ["postgres", "61 1 * * *", 'minute "61" is outside 0-59'],
    ["redis", "0 25 * * *", 'hour "25" is outside 0-23'],
    ["qdrant", "0 3 * * MON", 'day of week "MON" is not a number'],
    // Velero's and Kubernetes' cron parser (robfig/cron v3) has day of week 0-6
    ["velero", "0 2 * * 7", 'day of week "7" is outside 0-6'],
  ])("rejects a %s schedule that is not cron", (store, schedule, why) => {
    const problems = configProblems({ "octollm:backups": { [store]: { schedule } } });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(`octollm:backups.${store}.schedule: got "${schedule}"`);
    expect(problems[0]).toContain(why);
    expect(configProblems({ "octollm:backups": { [store]: { schedule: "30 4 * * *" } } })).toEqual(
      [],
    );
  });

  it.each(["postgres", "redis", "qdrant"])(
    "rejects a %s retention that is not a duration",
    (store) => {
      for (const bad of ["a week", "7", "0d", "7 d", "7h"])
        expect(configProblems({ "octollm:backups": { [store]: { retention: bad } } })).toEqual([
          `octollm:backups.${store}.retention: got "${bad}"; must be a retention like 7d, 4w or 1m (days, weeks, months)`,
        ]);
      for (const good of ["7d", "4w", "1m", "90d"])
        expect(configProblems({ "octollm:backups": { [store]: { retention: good } } })).toEqual([]);
    },
  );

  it("rejects a Velero ttl that is not a positive Go duration", () => {
    expect(configProblems({ "octollm:backups": { velero: { ttl: "30 days" } } })).toEqual([
      'octollm:backups.velero.ttl: got "30 days"; must be a duration like 720h or 72h30m',
    ]);
    expect(configProblems({ "octollm:backups": { velero: { ttl: "0h" } } })).toEqual([
      'octollm:backups.velero.ttl: got "0h"; must be longer than 0: Velero reads 0 as its 30-day default',
    ]);
    expect(configProblems({ "octollm:backups": { velero: { ttl: "72h30m" } } })).toEqual([]);
  });

  it("rejects a restore target without a backup source", () => {
    expect(restore({ targetTime: "2026-11-20T10:00:00Z" }, "production", NEW_ARCHIVE)).toEqual([
      'octollm:dataStores.postgres.restoreFrom: got {"targetTime":"2026-11-20T10:00:00Z"}; a restore needs a source: set `backup` (a Backup object, see `kubectl get backups`) or `objectStore: true` (the archive in backups.postgres.objectStore)',
    ]);
    expect(restore({ objectStore: false }, "production", NEW_ARCHIVE)[0]).toContain(
      "a restore needs a source",
    );
    expect(restore({ objectStore: true }, "production", NEW_ARCHIVE)).toEqual([]);
  });

  it("rejects an object-store restore where no object store is configured (dev)", () => {
    expect(restore({ objectStore: true }, "dev")).toEqual([
      "octollm:dataStores.postgres.restoreFrom.objectStore: got true; restoring from the object store needs backups.postgres.objectStore (destinationPath and credentialsSecret of the archive to recover from)",
    ]);
    expect(restore({ backup: "postgres-base-backup-20261120010000" }, "dev")).toEqual([]);
  });

  it("rejects two sources, a malformed point in time and a malformed Backup name", () => {
    expect(restore({ objectStore: true, backup: "b1" }, "production", NEW_ARCHIVE)[0]).toContain(
      "a restore has one source",
    );
    expect(
      restore({ objectStore: true, targetTime: "yesterday" }, "production", NEW_ARCHIVE)[0],
    ).toMatch(/^octollm:dataStores\.postgres\.restoreFrom\.targetTime: got "yesterday"/);
    expect(restore({ backup: "Postgres_Backup" }, "production", NEW_ARCHIVE)[0]).toContain(
      "must be the name of a CloudNativePG Backup object",
    );
  });

  it("rejects a restored cluster that would archive into the archive it recovers from", () => {
    const same = restore({ objectStore: true });
    expect(same).toHaveLength(1);
    expect(same[0]).toMatch(
      /^octollm:backups\.postgres\.objectStore\.serverName: got nothing; the restored cluster would archive its WAL under "postgres"/,
    );
    // an explicit source name that differs from the archive name is fine, as is no archiving
    expect(restore({ objectStore: true, serverName: "postgres-old" }, "production")).toEqual([]);
    expect(restore({ backup: "b1" }, "staging", { "octollm:backups": { enabled: false } })).toEqual(
      [],
    );
  });
});

describe("schedule and retention conversions", () => {
  it("gives CloudNativePG its seconds field", () => {
    expect(cnpgSchedule("0 1 * * *")).toBe("0 0 1 * * *");
    expect(cnpgSchedule("@daily")).toBe("@daily");
    expect(() => cnpgSchedule("0 0 1 * * *")).toThrow();
  });
  it("counts retention days and duration seconds", () => {
    expect([retentionDays("7d"), retentionDays("4w"), retentionDays("1m")]).toEqual([7, 28, 30]);
    expect(() => retentionDays("7h")).toThrow();
    expect(goDurationSeconds("720h")).toBe(2_592_000);
    expect(goDurationSeconds("72h30m")).toBe(261_000);
  });
});

/** Runs a job script with /backup redirected to a temp dir and stub tools first on PATH. */
function runScript(
  script: string,
  stubs: Record<string, string>,
  env: Record<string, string>,
  seed: (dir: string) => void = () => {},
): { dir: string; out: string; ok: boolean } {
  const root = mkdtempSync(path.join(tmpdir(), "backup-"));
  const dir = path.join(root, "backup");
  const bin = path.join(root, "bin");
  mkdirSync(dir);
  mkdirSync(bin);
  for (const [name, body] of Object.entries(stubs)) {
    writeFileSync(path.join(bin, name), `#!/bin/sh\n${body}\n`);
    chmodSync(path.join(bin, name), 0o755);
  }
  seed(dir);
  try {
    const out = execFileSync("/bin/sh", ["-c", script.replaceAll("/backup", dir)], {
      env: { PATH: `${bin}:/usr/bin:/bin`, RETENTION_DAYS: "7", ...env },
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
    return { dir, out, ok: true };
  } catch (error) {
    return { dir, out: String((error as { stderr?: string }).stderr ?? error), ok: false };
  }
}

const aged = (file: string, days: number) => {
  const t = Date.now() / 1000 - days * 86400;
  utimesSync(file, t, t);
};

describe("backup scripts, run with stub tools", () => {
  it.each([
    ["pg_dump", pgDumpScript()],
    ["redis", redisBackupScript()],
    ["qdrant", qdrantBackupScript()],
  ])("%s script is valid POSIX sh", (_name, script) => {
    expect(() => execFileSync("/bin/sh", ["-n", "-c", script])).not.toThrow();
  });

  const redisCli = `
case "$*" in
  *SENTINEL*) printf '10.1.2.3\\n6379\\n' ;;
  *--rdb*) for a; do last=$a; done; printf 'REDIS0011rest' > "$last" ;;
esac`;

  it("redis: asks Sentinel for the master, keeps a gzipped RDB, prunes only old copies", () => {
    const r = runScript(
      redisBackupScript(),
      { "redis-cli": `echo "$*" >> "$LOG"\n${redisCli}` },
      {
        REDIS_MODE: "sentinel",
        REDIS_SENTINEL_HOST: "redis-sentinel",
        REDIS_MASTER_NAME: "mymaster",
        REDISCLI_AUTH: "pw",
        LOG: "/dev/null",
      },
      (dir) => {
        writeFileSync(path.join(dir, "redis-old.rdb.gz"), "x");
        aged(path.join(dir, "redis-old.rdb.gz"), 8);
        writeFileSync(path.join(dir, "redis-recent.rdb.gz"), "x");
        aged(path.join(dir, "redis-recent.rdb.gz"), 6);
        writeFileSync(path.join(dir, "redis-dead.rdb.partial"), "x");
      },
    );
    expect(r.ok, r.out).toBe(true);
    expect(r.out).toContain("master 10.1.2.3:6379");
    const files = readdirSync(r.dir).sort();
    expect(files).toContain("redis-recent.rdb.gz");
    expect(files).not.toContain("redis-old.rdb.gz");
    expect(files.filter((f) => f.endsWith(".partial"))).toEqual([]);
    expect(files.filter((f) => /^redis-\d{8}T\d{6}Z\.rdb\.gz$/.test(f))).toHaveLength(1);
  });

  it("redis: a non-RDB answer fails the run and prunes nothing", () => {
    const r = runScript(
      redisBackupScript(),
      { "redis-cli": `for a; do last=$a; done; printf 'ERR' > "$last"` },
      {
        REDIS_MODE: "standalone",
        REDIS_HOST: "redis",
        REDIS_MASTER_NAME: "mymaster",
        REDISCLI_AUTH: "pw",
      },
      (dir) => {
        writeFileSync(path.join(dir, "redis-old.rdb.gz"), "x");
        aged(path.join(dir, "redis-old.rdb.gz"), 30);
      },
    );
    expect(r.ok).toBe(false);
    expect(r.out).toContain("not an RDB file");
    expect(readdirSync(r.dir)).toContain("redis-old.rdb.gz");
  });

  it("pg_dump: a dump that pg_restore cannot read is not kept as a backup", () => {
    const env = { PGDATABASE: "octollm", PGHOST: "postgres-rw" };
    const good = runScript(
      pgDumpScript(),
      {
        pg_dump: `for a; do case "$a" in --file=*) f=\${a#--file=} ;; esac; done; echo dump > "$f"`,
        pg_restore: "exit 0",
      },
      env,
    );
    expect(good.ok, good.out).toBe(true);
    expect(readdirSync(good.dir).filter((f) => f.endsWith(".dump"))).toHaveLength(1);
    const bad = runScript(
      pgDumpScript(),
      {
        pg_dump: `for a; do case "$a" in --file=*) f=\${a#--file=} ;; esac; done; echo dump > "$f"`,
        pg_restore: "exit 1",
      },
      env,
    );
    expect(bad.ok).toBe(false);
    expect(readdirSync(bad.dir).filter((f) => f.endsWith(".dump"))).toEqual([]);
  });

  it("every script refuses to start when the image lacks a tool it needs", () => {
    const r = runScript(`${scriptPrologue(["sh", "no-such-backup-tool"])}\necho started`, {}, {});
    expect(r.ok).toBe(false);
    expect(r.out).toContain("backup image lacks no-such-backup-tool");
    expect(runScript(`${scriptPrologue(["sh"])}\necho started`, {}, {}).ok).toBe(true);
  });
});
