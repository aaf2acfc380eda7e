/**
 * The operator documentation stays connected to the code: every alert the stacks define has a
 * runbook section at the anchor its `runbook_url` points to, and every relative link and anchor
 * in the delivery docs resolves.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { parsePlatformConfig } from "../../components/config";
import { alertNames, runbookUrl } from "../../components/observability/alerts";
import { loadStackConfig, listStacks } from "../../scripts/offline";

const ROOT = path.resolve(__dirname, "../..");
/** Every hand-written document: the README and docs/ (the generated reference has no links). */
const DOCS = [
  "README.md",
  ...fs
    .readdirSync(path.join(ROOT, "docs"))
    .filter((f) => f.endsWith(".md") && f !== "configuration.md")
    .map((f) => `docs/${f}`),
];

/** GitHub's heading anchors: lowercase, punctuation dropped, spaces to dashes. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/`/g, "")
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

function anchors(file: string): Set<string> {
  const text = fs.readFileSync(path.join(ROOT, file), "utf8").replace(/```[\s\S]*?```/g, "");
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const m of text.matchAll(/^#{1,6}\s+(.+)$/gm)) {
    const base = slug(m[1]);
    const n = seen.get(base) ?? 0;
    out.add(n === 0 ? base : `${base}-${n}`);
    seen.set(base, n + 1);
  }
  return out;
}

describe("runbook", () => {
  it("slugs headings like GitHub", () => {
    expect(slug("ServiceDown")).toBe("servicedown");
    expect(slug("Upgrade Postgres, Redis, Qdrant")).toBe("upgrade-postgres-redis-qdrant");
    expect(slug("Immutable field on a StatefulSet")).toBe("immutable-field-on-a-statefulset");
    expect(slug("`pulumi up` fails: CRD (v1)")).toBe("pulumi-up-fails-crd-v1");
  });

  it("has a section for every alert of every stack, at its runbook_url anchor", () => {
    const sections = anchors("docs/runbook.md");
    const names = new Set<string>();
    for (const stack of listStacks()) {
      const config = parsePlatformConfig(loadStackConfig(stack));
      for (const alert of alertNames(config)) names.add(alert);
    }
    expect(names.size).toBeGreaterThan(10);
    for (const alert of names) {
      const url = runbookUrl(alert);
      expect(url.startsWith("docs/runbook.md#"), url).toBe(true);
      expect(sections, `${alert}: no heading for ${url}`).toContain(url.split("#")[1]);
    }
  });

  it("covers the alerts the observability brief names", () => {
    const sections = anchors("docs/runbook.md");
    for (const alert of [
      "ServiceDown",
      "HighErrorRate",
      "HighRequestLatency",
      "HighLLMAPICost",
      "PostgresDown",
      "PostgresReplicationLag",
      "PostgresSyncStandbysMissing",
      "RedisDown",
      "RedisMasterChanged",
      "RedisMemoryNearLimit",
      "QdrantDown",
      "PodCrashLooping",
      "HPAAtMaxReplicas",
      "PVCUsageHigh",
      "BackupFailed",
      "BackupTooOld",
    ]) {
      expect(sections).toContain(alert.toLowerCase());
    }
  });

  for (const doc of DOCS) {
    it(`${doc}: every relative link and anchor resolves`, () => {
      const text = fs.readFileSync(path.join(ROOT, doc), "utf8").replace(/```[\s\S]*?```/g, "");
      const links = [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]);
      for (const link of links.filter((l) => !/^[a-z]+:/.test(l))) {
        const [file, anchor] = link.split("#");
        const target = file ? path.normalize(path.join(path.dirname(doc), file)) : doc;
        expect(fs.existsSync(path.join(ROOT, target)), `${doc}: ${link}`).toBe(true);
        if (anchor && target.endsWith(".md")) {
          expect(anchors(target), `${doc}: ${link}`).toContain(anchor);
        }
      }
    });
  }
});
