/**
 * `npm run ci-stacks`: the stacks CI previews (pull requests) and drift-checks (daily), derived
 * from the stack files: every `Pulumi.<stack>.yaml` whose configuration sets
 * `octollm:ci.preview: true`, each with the policy configuration `pulumi preview` must be given
 * (`policies/config/<stack>.json`, else its environment's). A new stack joins CI by setting the
 * key; no workflow edit is needed.
 *
 * `npm run -s policy-config -- <stack>` prints the one policy configuration file of a stack (for
 * `pulumi preview/up --policy-pack-config`).
 *
 * Prints the GitHub Actions matrix as JSON (`{"include":[{"stack":…,"policyConfig":…}]}`); under
 * GitHub Actions it also writes it to $GITHUB_OUTPUT as `matrix`.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parsePlatformConfig } from "../components/config";
import { policyConfigFile, POLICY_CONFIG_DIR } from "../policies/evaluate";
import { REPO_ROOT, listStacks, loadStackConfig } from "./offline";

export interface CiStack {
  stack: string;
  /** path relative to the repository, for `--policy-pack-config` */
  policyConfig: string;
}

/** `policies/config/<stack>.json`, else the environment's, relative to the repository. */
export function stackPolicyConfig(stack: string, root = REPO_ROOT): string {
  const { environment } = parsePlatformConfig(loadStackConfig(stack, root));
  const file = policyConfigFile(stack, environment, POLICY_CONFIG_DIR);
  return path.relative(REPO_ROOT, file).split(path.sep).join("/");
}

export function ciStacks(root = REPO_ROOT): CiStack[] {
  return listStacks(root)
    .filter((stack) => parsePlatformConfig(loadStackConfig(stack, root)).ci.preview)
    .map((stack) => ({ stack, policyConfig: stackPolicyConfig(stack, root) }));
}

if (require.main === module) {
  const [option, stack] = process.argv.slice(2);
  let matrix: string;
  try {
    if (option === "--policy-config") {
      if (!stack) throw new Error("usage: npm run -s policy-config -- <stack>");
      process.stdout.write(`${stackPolicyConfig(stack)}\n`);
      process.exit(0);
    }
    matrix = JSON.stringify({ include: ciStacks() });
  } catch (error) {
    // an invalid stack file: the same sentence per key as the render gives
    process.stderr.write(`ci-stacks: ${(error as Error).message}\n`);
    process.exit(2);
  }
  process.stdout.write(`${matrix}\n`);
  if (process.env.GITHUB_OUTPUT) fs.appendFileSync(process.env.GITHUB_OUTPUT, `matrix=${matrix}\n`);
}
