/**
 * Standard labels (app.kubernetes.io/*). Selectors use only name, instance and component:
 * a Deployment's or StatefulSet's selector is immutable, so it must never carry a version.
 */

export const PART_OF = "octollm";
export const MANAGED_BY = "pulumi";

export interface Identity {
  /** what runs: orchestrator, coder-arm, redis, qdrant, reflex-layer */
  readonly name: string;
  /** the tier it belongs to: orchestrator, arm, data-store, reflex-layer, backup, monitoring */
  readonly component: string;
  /** the deployment of the platform, one per stack: octollm-<environment> */
  readonly instance: string;
}

export type Labels = Record<string, string>;

export function selectorLabels(id: Identity): Labels {
  return {
    "app.kubernetes.io/name": id.name,
    "app.kubernetes.io/instance": id.instance,
    "app.kubernetes.io/component": id.component,
  };
}

export function standardLabels(id: Identity, extra: Labels = {}): Labels {
  return {
    ...selectorLabels(id),
    "app.kubernetes.io/part-of": PART_OF,
    "app.kubernetes.io/managed-by": MANAGED_BY,
    ...extra,
  };
}

export function instanceName(environment: string): string {
  return `${PART_OF}-${environment}`;
}
