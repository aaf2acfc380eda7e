import { buildPlatform } from "./components/program";

// Read the stack's config, build the platform, export its outputs (components/program.ts).
export const {
  environment,
  namespaces,
  storageClass,
  ingressHost,
  ingressUrl,
  orchestratorUrl,
  orchestratorInternalUrl,
  armUrls,
  tlsMode,
  ingressKind,
  gateway,
  caCertificate,
  missingLlmKeys,
  dataStores,
  observability,
  backups,
} = buildPlatform();
