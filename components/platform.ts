/**
 * OctoLLMPlatform wires the tiers in dependency order: foundation (provider, namespaces,
 * storage) → secrets → data stores → services → ingress → observability → backups.
 * Each tier is a ComponentResource of its own; this file only connects them.
 */
import * as pulumi from "@pulumi/pulumi";
import type { PlatformConfig } from "./config";
import { Foundation } from "./foundation";
import type { NamespaceRole } from "./foundation";
import { PlatformSecrets } from "./secrets";

export interface OctoLLMPlatformArgs {
  config: PlatformConfig;
}

export class OctoLLMPlatform extends pulumi.ComponentResource {
  public readonly namespaces: Record<NamespaceRole, pulumi.Output<string>>;
  public readonly storageClassName: pulumi.Output<string>;
  public readonly caCertificate: pulumi.Output<string> | undefined;
  public readonly missingLlmKeys: string[];

  constructor(name: string, args: OctoLLMPlatformArgs, opts?: pulumi.ComponentResourceOptions) {
    super("octollm:platform:OctoLLMPlatform", name, {}, opts);
    const { config } = args;

    const foundation = new Foundation(`${name}-foundation`, { config }, { parent: this });
    // Every tier below inherits the stack's one Kubernetes provider through `providers`.
    const tierOpts = { parent: this, providers: [foundation.provider] };
    const secrets = new PlatformSecrets(
      `${name}-secrets`,
      { config, namespaces: foundation.namespaces },
      tierOpts,
    );

    this.namespaces = foundation.namespaces;
    this.storageClassName = foundation.storageClassName;
    this.caCertificate = secrets.caCertificate;
    this.missingLlmKeys = secrets.missingLlmKeys;
    this.registerOutputs({
      namespaces: this.namespaces,
      storageClassName: this.storageClassName,
      caCertificate: this.caCertificate,
    });
  }
}
