/**
 * Images family: every image names a pinned version (a tag other than `latest`, and a digest
 * where the stack requires one) from a registry the stack allows.
 */
import { TYPES, containerLabel, containersOf } from "./lib/k8s";
import type { OctoPolicy } from "./lib/policy";
import { validateType, validateWorkload } from "./lib/policy";

export interface ImageRef {
  /** registry host, docker.io for Docker Hub short names */
  registry: string;
  /** repository path without registry */
  repository: string;
  tag?: string;
  digest?: string;
}

/** Splits an image reference the way container runtimes resolve it. */
export function parseImage(image: string): ImageRef {
  let rest = image.trim();
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf("/");
  const colon = rest.lastIndexOf(":");
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  const first = rest.split("/")[0];
  const explicit =
    rest.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost");
  let registry = explicit ? first : "docker.io";
  let repository = explicit ? rest.slice(first.length + 1) : rest;
  if (registry === "index.docker.io" || registry === "registry-1.docker.io") registry = "docker.io";
  if (registry === "docker.io" && !repository.includes("/")) repository = `library/${repository}`;
  return { registry, repository, tag, digest };
}

interface PinConfig {
  requireDigest?: boolean;
}

function pinFindings(image: string | undefined, cfg: PinConfig): string[] {
  if (!image) return ["has no image"];
  const ref = parseImage(image);
  const out: string[] = [];
  if (!ref.tag && !ref.digest) out.push(`image ${image} has no tag (resolves to latest)`);
  else if (ref.tag === "latest") out.push(`image ${image} uses the mutable tag latest`);
  if (cfg.requireDigest && !ref.digest)
    out.push(`image ${image} is not pinned by digest (@sha256:…)`);
  else if (ref.digest && !/^sha256:[a-f0-9]{64}$/.test(ref.digest))
    out.push(`image ${image} has a malformed digest (expected sha256:<64 hex>)`);
  return out;
}

export const imageTagPinned: OctoPolicy = {
  name: "image-tag-pinned",
  description:
    "Images carry a version tag other than `latest` (and, where configured, a sha256 digest) so a restart never changes what runs.",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      requireDigest: {
        type: "boolean",
        default: false,
        description: "require image@sha256:<digest> on every image",
      },
    },
  },
  validateResource: [
    validateWorkload(
      (w, report) => {
        const cfg = w.args.getConfig<PinConfig>();
        for (const ref of containersOf(w.spec))
          for (const f of pinFindings(ref.container.image, cfg))
            report(`${w.label}: ${containerLabel(ref)} ${f}`);
      },
      "image-tag-pinned",
      true,
    ),
    validateType(TYPES.cnpgCluster, (props, label, args, report) => {
      const image = (props.spec as { imageName?: string } | undefined)?.imageName;
      // Without imageName the operator picks its own default image for its version: pinned by the chart.
      if (!image) return;
      for (const f of pinFindings(image, args.getConfig<PinConfig>()))
        report(`${label}: postgres ${f}`);
    }),
  ],
};

interface RegistryConfig {
  allowedRegistries?: string[];
}

export const DEFAULT_REGISTRIES = ["docker.io", "ghcr.io", "quay.io", "registry.k8s.io"];

function registryFinding(image: string | undefined, cfg: RegistryConfig): string | undefined {
  if (!image) return undefined;
  const allowed = cfg.allowedRegistries ?? DEFAULT_REGISTRIES;
  const ref = parseImage(image);
  if (allowed.includes(ref.registry)) return undefined;
  return `image ${image} comes from ${ref.registry}, which is not an allowed registry (${allowed.join(", ")})`;
}

export const imageRegistryAllowed: OctoPolicy = {
  name: "image-registry-allowed",
  description:
    "Images come only from the registries the stack allows (Docker Hub short names count as docker.io).",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      allowedRegistries: {
        type: "array",
        items: { type: "string" },
        default: DEFAULT_REGISTRIES,
        description: "registry hosts images may come from",
      },
    },
  },
  validateResource: [
    validateWorkload(
      (w, report) => {
        const cfg = w.args.getConfig<RegistryConfig>();
        for (const ref of containersOf(w.spec)) {
          const f = registryFinding(ref.container.image, cfg);
          if (f) report(`${w.label}: ${containerLabel(ref)} ${f}`);
        }
      },
      "image-registry-allowed",
      true,
    ),
    validateType(TYPES.cnpgCluster, (props, label, args, report) => {
      const f = registryFinding(
        (props.spec as { imageName?: string } | undefined)?.imageName,
        args.getConfig<RegistryConfig>(),
      );
      if (f) report(`${label}: postgres ${f}`);
    }),
  ],
};

export const imagePolicies: OctoPolicy[] = [imageTagPinned, imageRegistryAllowed];
