/**
 * Pod options a chart user expects (issue 14, item 11): image pull secrets, node selection,
 * tolerations, affinity additions, priority class, extra pod labels and annotations, and — for
 * the app tier (orchestrator, arms, reflex layer) — extra volumes and mounts.
 *
 * They are set platform-wide (`octollm:podDefaults`) and per workload (`pod` under
 * `orchestrator`, each arm, `reflexLayer`, `dataStores.{postgres,redis,qdrant}`, `backups`,
 * `observability.tracing`). `resolvePodOptions` merges the two (the workload wins; see there) and
 * the one pod builder (pod.ts) applies the result, so no workload can apply them differently.
 *
 * What the schema refuses, and why:
 * - labels under `app.kubernetes.io/` (ours; name/instance/component are the immutable selector
 *   labels every Service, PDB and NetworkPolicy relies on) and `cnpg.io/` (the CloudNativePG
 *   operator's: a pod carrying `cnpg.io/cluster` would be selected as a database instance);
 * - annotations and labels under `octollm.io/` (they steer the policy pack: an exemption or an
 *   "external Secret" declaration must come from the code that justifies it, not from config);
 * - volume types outside the Pod Security Standards' restricted list, hostPath first of all.
 *
 * Affinity and volumes are validated here with strict schemas but documented as one key each
 * (the Kubernetes shapes are large and have their own reference).
 */
import { z } from "zod";

const QUALIFIED_NAME =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Label keys the platform owns; config cannot set them on a pod. */
export const RESERVED_LABEL_PREFIXES = ["app.kubernetes.io/", "cnpg.io/", "octollm.io/"] as const;
/** Annotation keys the platform owns (the policy pack reads them). */
export const RESERVED_ANNOTATION_PREFIXES = ["octollm.io/"] as const;

const qualifiedName = z
  .string()
  .max(316)
  .regex(
    QUALIFIED_NAME,
    "must be a Kubernetes label/annotation key: [prefix/]name, name ≤ 63 characters of letters, digits, '-', '_', '.'",
  )
  .meta({ title: "label key" });
const labelValue = z
  .string()
  .regex(LABEL_VALUE, "must be a label value: ≤ 63 letters, digits, '-', '_', '.'")
  .meta({ title: "label value" });
const objectName = z
  .string()
  .regex(DNS_SUBDOMAIN, "must be a Kubernetes object name (lowercase DNS subdomain)")
  .meta({ title: "object name" });

function reserved(prefixes: readonly string[], what: string, why: string) {
  return (map: Record<string, string>, ctx: z.RefinementCtx) => {
    for (const key of Object.keys(map)) {
      const prefix = prefixes.find((p) => key.startsWith(p));
      if (prefix) {
        ctx.addIssue({
          code: "custom",
          path: [key],
          message: `${what} "${key}" is reserved (${prefix}*): ${why}`,
        });
      }
    }
  };
}

const podLabels = z
  .record(qualifiedName, labelValue)
  .superRefine(
    reserved(
      RESERVED_LABEL_PREFIXES,
      "label",
      "app.kubernetes.io/name, instance and component select the pods (Services, PDBs, NetworkPolicies), cnpg.io/* is the CloudNativePG operator's, octollm.io/* steers the policy pack",
    ),
  )
  .meta({ title: "map of label key → label value" })
  .describe("extra labels on the pods (never on selectors)");

const podAnnotations = z
  .record(qualifiedName, z.string())
  .superRefine(
    reserved(
      RESERVED_ANNOTATION_PREFIXES,
      "annotation",
      "octollm.io/* annotations steer the policy pack (exemptions, external Secrets) and are written by the code that justifies them",
    ),
  )
  .meta({ title: "map of annotation key → string" })
  .describe("extra annotations on the pods");

const toleration = z
  .strictObject({
    key: qualifiedName.optional().describe("taint key; empty with operator Exists matches all"),
    operator: z.enum(["Equal", "Exists"]).optional().describe("default Equal"),
    value: z.string().optional(),
    effect: z.enum(["NoSchedule", "PreferNoSchedule", "NoExecute"]).optional(),
    tolerationSeconds: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe("NoExecute only: how long the pod stays after the taint appears"),
  })
  .superRefine((t, ctx) => {
    if (t.operator === "Exists" && t.value !== undefined && t.value !== "") {
      ctx.addIssue({ code: "custom", path: ["value"], message: "operator Exists takes no value" });
    }
    if (t.tolerationSeconds !== undefined && t.effect !== "NoExecute") {
      ctx.addIssue({
        code: "custom",
        path: ["tolerationSeconds"],
        message: "tolerationSeconds applies only to effect NoExecute",
      });
    }
  });
export type Toleration = z.infer<typeof toleration>;

// --- affinity (validated strictly, documented as one key) --------------------------------------

const labelSelector = z.strictObject({
  matchLabels: z.record(qualifiedName, labelValue).optional(),
  matchExpressions: z
    .array(
      z.strictObject({
        key: qualifiedName,
        operator: z.enum(["In", "NotIn", "Exists", "DoesNotExist"]),
        values: z.array(z.string()).optional(),
      }),
    )
    .optional(),
});
const nodeSelectorTerm = z.strictObject({
  matchExpressions: z
    .array(
      z.strictObject({
        key: z.string().min(1),
        operator: z.enum(["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"]),
        values: z.array(z.string()).optional(),
      }),
    )
    .optional(),
  matchFields: z
    .array(
      z.strictObject({
        key: z.string().min(1),
        operator: z.enum(["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"]),
        values: z.array(z.string()).optional(),
      }),
    )
    .optional(),
});
const weight = z.number().int().min(1).max(100);
const podAffinityTerm = z.strictObject({
  labelSelector: labelSelector.optional(),
  namespaceSelector: labelSelector.optional(),
  namespaces: z.array(z.string()).optional(),
  topologyKey: z.string().min(1),
  matchLabelKeys: z.array(z.string()).optional(),
  mismatchLabelKeys: z.array(z.string()).optional(),
});
const podAffinityRules = z.strictObject({
  requiredDuringSchedulingIgnoredDuringExecution: z.array(podAffinityTerm).optional(),
  preferredDuringSchedulingIgnoredDuringExecution: z
    .array(z.strictObject({ weight, podAffinityTerm }))
    .optional(),
});
export const affinityShape = z.strictObject({
  nodeAffinity: z
    .strictObject({
      requiredDuringSchedulingIgnoredDuringExecution: z
        .strictObject({ nodeSelectorTerms: z.array(nodeSelectorTerm).min(1) })
        .optional(),
      preferredDuringSchedulingIgnoredDuringExecution: z
        .array(z.strictObject({ weight, preference: nodeSelectorTerm }))
        .optional(),
    })
    .optional(),
  podAffinity: podAffinityRules.optional(),
  podAntiAffinity: podAffinityRules.optional(),
});
export type AffinityAdditions = z.infer<typeof affinityShape>;

/** Report the issues of an inner strict schema at the right path of the outer one. */
function validatedBy<T extends z.ZodType>(inner: T, prefix: PropertyKey[] = []) {
  return (value: unknown, ctx: z.RefinementCtx) => {
    const result = inner.safeParse(value);
    if (result.success) return;
    for (const issue of result.error.issues) {
      const message =
        issue.code === "unrecognized_keys"
          ? `unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `"${k}"`).join(", ")}`
          : issue.message
              .replace(/^Invalid input: /, "")
              .replace(/^expected (.+), received undefined$/, "required ($1)");
      ctx.addIssue({ code: "custom", path: [...prefix, ...issue.path], message });
    }
  };
}

const affinity = z
  .record(z.string(), z.unknown())
  .superRefine(validatedBy(affinityShape))
  .transform((v) => v as AffinityAdditions)
  .meta({ title: "Kubernetes Affinity (nodeAffinity, podAffinity, podAntiAffinity)" })
  .describe(
    "added to the platform's own affinity: node affinity as given, pod (anti-)affinity terms appended to ours",
  );

// --- volumes (app tier only) ---------------------------------------------------------------------

/** Volume sources the Pod Security Standards' restricted profile admits. */
export const ALLOWED_VOLUME_SOURCES = [
  "configMap",
  "secret",
  "emptyDir",
  "persistentVolumeClaim",
  "projected",
  "downwardAPI",
  "csi",
  "ephemeral",
] as const;

const keyToPath = z.array(
  z.strictObject({
    key: z.string().min(1),
    path: z.string().min(1),
    mode: z.number().int().min(0).max(0o777).optional(),
  }),
);
const volumeSources = {
  configMap: z.strictObject({
    name: objectName,
    items: keyToPath.optional(),
    defaultMode: z.number().int().min(0).max(0o777).optional(),
    optional: z.boolean().optional(),
  }),
  secret: z.strictObject({
    secretName: objectName,
    items: keyToPath.optional(),
    defaultMode: z.number().int().min(0).max(0o777).optional(),
    optional: z.boolean().optional(),
  }),
  emptyDir: z.strictObject({
    medium: z.enum(["", "Memory"]).optional(),
    sizeLimit: z.string().optional(),
  }),
  persistentVolumeClaim: z.strictObject({
    claimName: objectName,
    readOnly: z.boolean().optional(),
  }),
  projected: z.record(z.string(), z.unknown()),
  downwardAPI: z.record(z.string(), z.unknown()),
  csi: z.record(z.string(), z.unknown()),
  ephemeral: z.record(z.string(), z.unknown()),
};
const volumeShape = z
  .looseObject({ name: z.string().regex(DNS_LABEL, "must be a DNS label") })
  .superRefine((v, ctx) => {
    const sources = Object.keys(v).filter((k) => k !== "name");
    if (typeof v.name === "string" && v.name.startsWith("scratch-")) {
      ctx.addIssue({
        code: "custom",
        path: ["name"],
        message: `"${v.name}": scratch-* names belong to the builder's writable emptyDirs`,
      });
    }
    for (const key of sources) {
      if (key === "hostPath") {
        ctx.addIssue({
          code: "custom",
          path: [key],
          message:
            "hostPath volumes are not allowed: they break Pod Security Standards restricted and the isolation of the node (the policy pack refuses them too); use a PersistentVolumeClaim, csi or ephemeral volume",
        });
      } else if (!(ALLOWED_VOLUME_SOURCES as readonly string[]).includes(key)) {
        ctx.addIssue({
          code: "custom",
          path: [key],
          message: `volume type "${key}" is not allowed under Pod Security Standards restricted; allowed: ${ALLOWED_VOLUME_SOURCES.join(", ")}`,
        });
      } else {
        validatedBy(volumeSources[key as keyof typeof volumeSources], [key])(v[key], ctx);
      }
    }
    if (sources.length !== 1) {
      ctx.addIssue({
        code: "custom",
        path: [],
        message: `volume "${v.name}" needs exactly one source (${ALLOWED_VOLUME_SOURCES.join(", ")}), got ${sources.length}`,
      });
    }
  });
export interface ExtraVolume {
  name: string;
  [source: string]: unknown;
}

const volumeMount = z.strictObject({
  name: z
    .string()
    .regex(DNS_LABEL, "must name a volume of extraVolumes")
    .meta({ title: "volume name" }),
  mountPath: z
    .string()
    .regex(/^\/[^:]*$/, "must be an absolute path without ':'")
    .meta({ title: "absolute path" })
    .refine((p) => p !== "/" && p !== "/tmp", {
      message: "must not be / or /tmp (the root filesystem is read-only; /tmp is the builder's)",
    }),
  subPath: z.string().optional(),
  readOnly: z.boolean().optional().describe("default true: mounts are read-only unless you say"),
});
export type ExtraVolumeMount = z.infer<typeof volumeMount>;

// --- the options ---------------------------------------------------------------------------------

const baseShape = {
  imagePullSecrets: z
    .array(objectName)
    .optional()
    .describe(
      "Secrets (type kubernetes.io/dockerconfigjson, made outside the stack, in the pod's namespace) for private registries",
    ),
  nodeSelector: z
    .record(qualifiedName, labelValue)
    .optional()
    .describe("node labels the pods require"),
  tolerations: z
    .array(toleration)
    .optional()
    .describe("taints the pods tolerate (a workload's list replaces the default's)"),
  affinity: affinity.optional(),
  priorityClassName: objectName
    .optional()
    .describe("PriorityClass of the pods (made outside the stack)"),
  podAnnotations: podAnnotations.optional(),
  podLabels: podLabels.optional(),
};

/** Options every workload (and the platform-wide default) takes. */
export const podOptions = z
  .strictObject(baseShape)
  .describe("pod scheduling and metadata; merged over octollm:podDefaults");

/** App-tier options: the base plus extra volumes and mounts. */
export const appPodOptions = z
  .strictObject({
    ...baseShape,
    extraVolumes: z
      .array(
        z
          .record(z.string(), z.unknown())
          .superRefine(validatedBy(volumeShape))
          .transform((v) => v as ExtraVolume),
      )
      .optional()
      .meta({
        title: `list of Kubernetes Volumes (${ALLOWED_VOLUME_SOURCES.join(", ")}; no hostPath)`,
      })
      .describe("extra volumes; Secrets and ConfigMaps they name are made outside the stack"),
    extraVolumeMounts: z
      .array(volumeMount)
      .optional()
      .describe("mounts of extraVolumes into the workload's container (read-only by default)"),
  })
  .superRefine((o, ctx) => {
    const names = (o.extraVolumes ?? []).map((v) => v.name);
    const seen = new Set<unknown>();
    names.forEach((n, i) => {
      if (seen.has(n))
        ctx.addIssue({
          code: "custom",
          path: ["extraVolumes", i, "name"],
          message: `duplicate volume name ${JSON.stringify(n)}`,
        });
      seen.add(n);
    });
    const paths = new Set<string>();
    (o.extraVolumeMounts ?? []).forEach((m, i) => {
      if (!names.includes(m.name)) {
        ctx.addIssue({
          code: "custom",
          path: ["extraVolumeMounts", i, "name"],
          message: `no volume "${m.name}" in extraVolumes (have: ${names.join(", ") || "none"})`,
        });
      }
      if (paths.has(m.mountPath)) {
        ctx.addIssue({
          code: "custom",
          path: ["extraVolumeMounts", i, "mountPath"],
          message: `${m.mountPath} is mounted twice`,
        });
      }
      paths.add(m.mountPath);
    });
  })
  .describe(
    "pod scheduling and metadata, extra volumes and mounts; merged over octollm:podDefaults",
  );

export type PodOptionsConfig = z.infer<typeof podOptions>;
export type AppPodOptionsConfig = z.infer<typeof appPodOptions>;

/** What the pod builder applies: platform defaults and the workload's own options, merged. */
export interface ResolvedPodOptions {
  imagePullSecrets: string[];
  nodeSelector: Record<string, string>;
  tolerations: Toleration[];
  affinity: AffinityAdditions;
  priorityClassName?: string;
  annotations: Record<string, string>;
  labels: Record<string, string>;
  volumes: ExtraVolume[];
  volumeMounts: ExtraVolumeMount[];
  /** Secrets made outside the stack (existingSecret): declared external where a pod reads them */
  externalSecrets: string[];
}

/**
 * Workload options over the platform defaults, with the config's merge rules: maps
 * (nodeSelector, annotations, labels) merge key by key and the workload wins; lists
 * (imagePullSecrets, tolerations) and each affinity kind replace when the workload sets them;
 * scalars (priorityClassName) replace.
 */
export function resolvePodOptions(
  defaults: PodOptionsConfig | undefined,
  workload: AppPodOptionsConfig | PodOptionsConfig | undefined,
  externalSecrets: string[] = [],
): ResolvedPodOptions {
  const d = defaults ?? {};
  const w: AppPodOptionsConfig = workload ?? {};
  const priorityClassName = w.priorityClassName ?? d.priorityClassName;
  return {
    imagePullSecrets: [...(w.imagePullSecrets ?? d.imagePullSecrets ?? [])],
    nodeSelector: { ...d.nodeSelector, ...w.nodeSelector },
    tolerations: [...(w.tolerations ?? d.tolerations ?? [])],
    affinity: { ...d.affinity, ...w.affinity },
    ...(priorityClassName ? { priorityClassName } : {}),
    annotations: { ...d.podAnnotations, ...w.podAnnotations },
    labels: { ...d.podLabels, ...w.podLabels },
    volumes: (w.extraVolumes ?? []).map((v) => ({ ...v })),
    volumeMounts: (w.extraVolumeMounts ?? []).map((m) => ({ ...m })),
    externalSecrets: [...externalSecrets],
  };
}
