/**
 * Vendors the openAPIV3Schema of Envoy Gateway's CRDs at the pinned tag into
 * schemas/envoy-gateway.json, for scripts/validate.ts. The published model package
 * (@kubernetes-models/envoy-gateway) lags the release we pin, so we validate against the CRDs the
 * chart installs. Descriptions are dropped (they are most of the bytes and validate nothing).
 *
 *   git -C <envoyproxy/gateway clone> show v1.9.0:charts/gateway-helm/charts/crds/crds/generated/gateway.envoyproxy.io_envoyproxies.yaml > /tmp/ep.yaml
 *   npx tsx scripts/vendor-crd-schemas.ts v1.9.0 /tmp/ep.yaml /tmp/ctp.yaml /tmp/btp.yaml
 *   npm run crd-validators   # then: the precompiled validators scripts/validate.ts loads
 */
import { readFileSync, writeFileSync } from "node:fs";
import { parse } from "yaml";

interface Crd {
  spec: {
    group: string;
    names: { kind: string };
    versions: { name: string; served: boolean; schema: { openAPIV3Schema: unknown } }[];
  };
}

function strip(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(strip);
  if (node && typeof node === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node)) {
      if (k === "description") continue;
      out[k] =
        k === "properties"
          ? Object.fromEntries(Object.entries(v as object).map(([p, s]) => [p, strip(s)]))
          : strip(v);
    }
    return out;
  }
  return node;
}

const [tag, ...files] = process.argv.slice(2);
if (!tag || files.length === 0) throw new Error("usage: vendor-crd-schemas.ts <tag> <crd.yaml>...");
const kinds: Record<string, Record<string, unknown>> = {};
let group = "";
for (const file of files) {
  const crd = parse(readFileSync(file, "utf8")) as Crd;
  group = crd.spec.group;
  for (const v of crd.spec.versions.filter((x) => x.served))
    (kinds[crd.spec.names.kind] ??= {})[v.name] = strip(v.schema.openAPIV3Schema);
}
const out = {
  source: `github.com/envoyproxy/gateway@${tag} charts/gateway-helm/charts/crds`,
  group,
  kinds,
};
writeFileSync("schemas/envoy-gateway.json", JSON.stringify(out) + "\n");
console.log(`wrote schemas/envoy-gateway.json: ${Object.keys(kinds).join(", ")}`);
