/**
 * The README's examples, executed: the invalid-configuration output it shows is what the render
 * prints (one problem per line), and the stack it shows how to add renders, with its
 * environment's policy configuration (issue 14 #5, #7). The CLI entry runs in-process.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { parse as parseYaml, stringify } from "yaml";
import { parseQuantity, toNumber } from "../../components/k8s/quantity";
import { REPO_ROOT } from "../../scripts/offline";
import { renderCli as cli } from "../cli";

const README = fs.readFileSync(path.join(REPO_ROOT, "README.md"), "utf8");

/** The body of the first fenced block after `heading` that contains `marker`. */
function block(heading: string, marker: string): string {
  const section = README.slice(README.indexOf(heading));
  const found = [...section.matchAll(/```\w*\n([\s\S]*?)```/g)].find((m) => m[1].includes(marker));
  if (!found) throw new Error(`README: no block with ${marker} under ${heading}`);
  return found[1];
}

describe("README examples", () => {
  it("the invalid-configuration output is what the render prints, one problem per line", async () => {
    const shown = block("## Configuration", "invalid configuration:").trim().split("\n");
    expect(shown[0]).toBe("$ npm run render -- production");
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "octollm-readme-"));
    // the two mistakes the README's output names
    fs.writeFileSync(
      path.join(root, "Pulumi.production.yaml"),
      stringify({
        config: {
          "octollm:environment": "production",
          "octollm:arms": [{ name: "coder", hpa: { minReplicas: 25 } }],
          "octollm:orchestrator": { image: { tag: "latest" } },
        },
      }),
    );
    const { code, stdout, stderr } = await cli(["production", "--root", root, "--policy-only"]);
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(stderr.trim().split("\n")).toEqual(shown.slice(1));
  });

  it("a new stack renders with its environment's policy configuration", async () => {
    const script = block("## Adding a stack", "Pulumi.qa.yaml");
    const heredoc = /cat > Pulumi\.qa\.yaml <<'YAML'\n([\s\S]*?)\nYAML\n/.exec(script);
    expect(heredoc, "the README writes Pulumi.qa.yaml with a heredoc").not.toBeNull();
    const text = heredoc?.[1] ?? "";
    const environment = (parseYaml(text) as { config: Record<string, string> }).config[
      "octollm:environment"
    ];
    expect(script).toContain(`policies/config/${environment}.json`);
    expect(fs.existsSync(path.join(REPO_ROOT, "policies", "config", "qa.json"))).toBe(false);

    const root = fs.mkdtempSync(path.join(os.tmpdir(), "octollm-readme-"));
    fs.writeFileSync(path.join(root, "Pulumi.qa.yaml"), `${text}\n`);
    const { code, stdout, stderr } = await cli(["qa", "--root", root, "--policy-only", "--json"]);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    const [report] = JSON.parse(stdout) as { environment: string; policyConfig: string }[];
    expect(report.environment).toBe(environment);
    expect(report.policyConfig).toBe(`policies/config/${environment}.json`);

    // a dev-environment stack (`dev-alice`) takes dev's
    fs.writeFileSync(
      path.join(root, "Pulumi.dev-alice.yaml"),
      "config:\n  octollm:environment: dev\n",
    );
    const alice = await cli(["dev-alice", "--root", root, "--policy-only", "--json"]);
    expect(alice.code).toBe(0);
    expect((JSON.parse(alice.stdout) as { policyConfig: string }[])[0].policyConfig).toBe(
      "policies/config/dev.json",
    );
  });

  it("the dev render prints a cluster total at peak beside the per-namespace tables", async () => {
    const { code, stdout } = await cli(["dev", "--policy-only"]);
    expect(code).toBe(0);
    const line =
      /^dev cluster total at peak: requests (\S+) CPU, (\S+) memory; limits (\S+) CPU, (\S+) memory; (\d+) pods$/m.exec(
        stdout,
      );
    expect(line, stdout.slice(-600)).not.toBeNull();
    const json = await cli(["dev", "--policy-only", "--json"]);
    const [report] = JSON.parse(json.stdout) as {
      policies: { capacity: { cells: Record<string, { peakValue: number }> }[] };
    }[];
    const total = (key: string) =>
      report.policies.capacity.reduce((acc, row) => acc + row.cells[key].peakValue, 0);
    expect(parseQuantity(line?.[1] ?? "").num).toBeGreaterThan(0n);
    expect(toNumber(parseQuantity(line?.[1] ?? ""))).toBeCloseTo(total("requests.cpu"), 3);
    expect(toNumber(parseQuantity(line?.[3] ?? ""))).toBeCloseTo(total("limits.cpu"), 3);
    expect(Number(line?.[5])).toBe(total("pods"));
  });
});
