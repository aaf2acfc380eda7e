/**
 * Secrets family: sensitive values never sit in clear text in a pod spec or a ConfigMap. The
 * program reads every credential through secretKeyRef; these policies keep it that way.
 */
import { isSensitiveName } from "../components/k8s/sensitive";
import { TYPES, asArray, containerLabel, containersOf } from "./lib/k8s";
import { UNKNOWN, entriesOf, knownValue } from "./lib/known";
import type { OctoPolicy } from "./lib/policy";
import { validateType, validateWorkload } from "./lib/policy";

/** Names that say "credential" (components/k8s/sensitive.ts: by word, not by substring). */
export { isSensitiveName };

/** scheme://user:password@host — a connection string that embeds its credentials. */
export const CREDENTIAL_URL = /[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:[^/\s@]+@/i;

/** Value shapes that are secrets whatever their key: private keys, well-known token formats. */
const SECRET_VALUES: [RegExp, string][] = [
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----/, "a PEM private key"],
  [/\bAKIA[0-9A-Z]{16}\b/, "an AWS access key id"],
  [/\bsk-(ant-|proj-)?[A-Za-z0-9_-]{20,}/, "an LLM provider API key"],
  [/\bgh[pousr]_[A-Za-z0-9]{36,}\b/, "a GitHub token"],
  [/^\s*(requirepass|masterauth)\s+\S+/m, "a Redis password directive"],
  [CREDENTIAL_URL, "a URL with embedded credentials"],
];

/**
 * A URL whose password is a Kubernetes dependent variable, `scheme://user:$(PASSWORD)@host`: the
 * kubelet expands it from a variable read from a Secret, so nothing secret is in the spec.
 */
const REFERENCED_PASSWORD_URL =
  /^[a-z][a-z0-9+.-]*:\/\/[^/\s:@]*:\$\(([A-Za-z_][A-Za-z0-9_]*)\)@[^@\s]*$/i;

/** Literal values that are not secrets even under a sensitive name: file paths, empty. */
function harmlessLiteral(value: string): boolean {
  return value.trim() === "" || /^\/[\w./-]*$/.test(value.trim());
}

export const noSecretLiteralsInEnv: OctoPolicy = {
  name: "no-secret-literals-in-env",
  description:
    "Environment variables that look sensitive (PASSWORD, SECRET, TOKEN, KEY, credential URLs) come from secretKeyRef, never a literal value.",
  enforcementLevel: "mandatory",
  validateResource: validateWorkload((w, report) => {
    for (const ref of containersOf(w.spec)) {
      const fromSecrets = new Set<string>();
      for (const env of asArray(ref.container.env)) {
        if (env.valueFrom?.secretKeyRef) fromSecrets.add(env.name);
        const value = knownValue(env, "value");
        if (value === UNKNOWN) {
          // Computed at deploy time (a generated password, a derived URL): a literal all the same.
          if (isSensitiveName(env.name))
            report(
              `${w.label}: ${containerLabel(ref)} env ${env.name} looks sensitive but has a literal value (computed at deploy time); read it from a Secret (secretKeyRef)`,
            );
          continue;
        }
        if (typeof value !== "string") continue;
        const who = `${w.label}: ${containerLabel(ref)} env ${env.name}`;
        // Only a variable defined above from a Secret expands into the URL (Kubernetes order).
        const variable = REFERENCED_PASSWORD_URL.exec(value)?.[1];
        const referenced = variable !== undefined && fromSecrets.has(variable);
        if (CREDENTIAL_URL.test(value) && !referenced) {
          report(
            `${who} is a literal URL with embedded credentials; read it from a Secret (secretKeyRef)`,
          );
        } else if (isSensitiveName(env.name) && !harmlessLiteral(value)) {
          report(
            `${who} looks sensitive but has a literal value; read it from a Secret (secretKeyRef)`,
          );
        } else {
          const shape = SECRET_VALUES.find(
            ([re]) => re.test(value) && !(referenced && re === CREDENTIAL_URL),
          );
          if (shape)
            report(`${who} has a literal value that looks like ${shape[1]}; read it from a Secret`);
        }
      }
    }
  }, "no-secret-literals-in-env"),
};

export const noSecretsInConfigMaps: OctoPolicy = {
  name: "no-secrets-in-configmaps",
  description:
    "ConfigMaps carry no sensitive keys (password, token, secret, api key) and no values shaped like credentials (private keys, credential URLs, provider keys).",
  enforcementLevel: "mandatory",
  validateResource: validateType(TYPES.configMap, (props, label, _args, report) => {
    // Key by key: a value the first preview cannot know (a generated CA certificate) skips only
    // the shape check of that one value; its name is still judged, and every other key fully.
    for (const [key, raw] of entriesOf(knownValue(props, "data"))) {
      const value = typeof raw === "string" ? raw : "";
      const shape = SECRET_VALUES.find(([re]) => re.test(value));
      if (shape) report(`${label}: key "${key}" holds ${shape[1]}; put it in a Secret`);
      else if (isSensitiveName(key) && (raw === UNKNOWN || !harmlessLiteral(value)))
        report(`${label}: key "${key}" looks sensitive; put it in a Secret`);
    }
    // binaryData is opaque: only its keys can be judged.
    for (const [key] of entriesOf(knownValue(props, "binaryData")))
      if (isSensitiveName(key))
        report(`${label}: binaryData key "${key}" looks sensitive; put it in a Secret`);
  }),
};

export const secretPolicies: OctoPolicy[] = [noSecretLiteralsInEnv, noSecretsInConfigMaps];
