/**
 * License, changelog and release convention (issue 14 #4): the license the project states is
 * the one it ships, the changelog keeps the Keep a Changelog shape with an Unreleased section,
 * and the README's release tag convention is the one the changelog's versions follow.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(__dirname, "../..");
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), "utf8");

describe("license and releases", () => {
  it("ships the Apache-2.0 text that package.json states", () => {
    const pkg = JSON.parse(read("package.json")) as { license?: string };
    expect(pkg.license).toBe("Apache-2.0");
    const license = read("LICENSE");
    expect(license).toMatch(/^\s*Apache License\s+Version 2\.0, January 2004/);
    expect(license).toContain("END OF TERMS AND CONDITIONS");
  });

  it("keeps a changelog: Unreleased first, then versions with dates, known section names", () => {
    const changelog = read("CHANGELOG.md");
    const headings = [...changelog.matchAll(/^## \[(.+?)\](.*)$/gm)];
    expect(headings[0]?.[1]).toBe("Unreleased");
    for (const [, version, rest] of headings.slice(1)) {
      expect(version).toMatch(/^\d+\.\d+\.\d+$/);
      expect(rest).toMatch(/^ - \d{4}-\d{2}-\d{2}$/);
    }
    for (const [, kind] of changelog.matchAll(/^### (.+)$/gm))
      expect(["Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"]).toContain(kind);
    expect(changelog).toMatch(/^- /m);
  });

  it("the README states the tag convention the changelog's versions follow", () => {
    const readme = read("README.md");
    expect(readme).toContain("## License and releases");
    expect(readme).toMatch(/annotated tag `vMAJOR\.MINOR\.PATCH`/);
    const example = /git tag -a (v\d+\.\d+\.\d+) -m "(v\d+\.\d+\.\d+)"/.exec(readme);
    expect(example?.[1]).toBe(example?.[2]);
  });
});
