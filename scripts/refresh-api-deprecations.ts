/**
 * Refreshes policies/data/pluto-versions.yaml and its JSON twin pluto-versions.json (what the
 * `api-version-removed` and `api-version-deprecated` policies read): Fairwinds Pluto's `versions.yaml` (Apache-2.0), the
 * table Pluto itself embeds, maintained with every Kubernetes release. No npm package carries
 * such a table (checked when this was written), so the file is vendored, verbatim below a header
 * naming its source, tag and commit, and converted to JSON with the same source line.
 *
 *   npm run refresh-api-deprecations -- <tag>                  # downloads the tag's versions.yaml
 *   npm run refresh-api-deprecations -- <tag> --from <file>    # a file already at hand
 *        [--commit <sha>]                                      # recorded in the header
 *
 * The download goes to GitHub's raw file service; with no network, clone or fetch the repository
 * elsewhere and pass --from. The result is parsed with the same loader the policies use before it
 * is written, so a table the policies cannot read never lands. Review the diff: a new entry can
 * turn a stack's preview red (removed) or add an advisory (deprecated).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { DeprecationTableFile } from "../policies/lib/deprecations";
import { DEPRECATIONS_JSON, DEPRECATIONS_YAML } from "../policies/lib/deprecations";
import { parseDeprecationTable } from "../policies/lib/deprecation-table";

export const PLUTO_REPO = "FairwindsOps/pluto";

export function withHeader(body: string, tag: string, commit: string | undefined): string {
  const header = [
    `# Vendored from github.com/${PLUTO_REPO} at ${tag}${commit ? ` (commit ${commit})` : ""}, file versions.yaml.`,
    "# Apache-2.0 (Fairwinds). Do not edit by hand: scripts/refresh-api-deprecations.ts rewrites it.",
    "# Read by policies/lib/deprecations.ts (policies api-version-removed, api-version-deprecated).",
  ].join("\n");
  return `${header}\n${body.endsWith("\n") ? body : `${body}\n`}`;
}

export function sourceLine(tag: string, commit: string | undefined): string {
  return `github.com/${PLUTO_REPO} ${tag}${commit ? ` (commit ${commit})` : ""} versions.yaml`;
}

/** The two vendored files for Pluto's `body` at `tag`; throws if the table cannot be read. */
export function vendoredFiles(
  body: string,
  tag: string,
  commit: string | undefined,
  where: string,
): { yaml: string; json: string } {
  const file: DeprecationTableFile = {
    source: sourceLine(tag, commit),
    entries: parseDeprecationTable(body, where),
  };
  return { yaml: withHeader(body, tag, commit), json: `${JSON.stringify(file, null, 2)}\n` };
}

async function main(argv: string[]): Promise<void> {
  const tag = argv[0];
  if (!tag || tag.startsWith("--"))
    throw new Error(
      "usage: npm run refresh-api-deprecations -- <tag> [--from <file>] [--commit <sha>]",
    );
  const option = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const from = option("--from");
  let body: string;
  if (from) body = fs.readFileSync(from, "utf8");
  else {
    const url = `https://raw.githubusercontent.com/${PLUTO_REPO}/${encodeURIComponent(tag)}/versions.yaml`;
    const response = await fetch(url);
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
    body = await response.text();
  }
  const commit = option("--commit");
  const { yaml, json } = vendoredFiles(body, tag, commit, from ?? tag);
  fs.writeFileSync(DEPRECATIONS_YAML, yaml);
  fs.writeFileSync(DEPRECATIONS_JSON, json);
  const count = (JSON.parse(json) as DeprecationTableFile).entries.length;
  process.stdout.write(
    `wrote ${path.relative(process.cwd(), DEPRECATIONS_YAML)} and .json: ${count} entries from ${PLUTO_REPO} ${tag}\n`,
  );
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`refresh-api-deprecations: ${(error as Error).message}\n`);
    process.exit(1);
  });
}
