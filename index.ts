import { buildPlatform } from "./components/program";

const outputs = buildPlatform();

export const environment = outputs.environment;
export const namespaces = outputs.namespaces;
export const storageClass = outputs.storageClass;
export const ingressHost = outputs.ingressHost;
export const caCertificate = outputs.caCertificate;
export const missingLlmKeys = outputs.missingLlmKeys;
