/**
 * gateway-references: the pack's reference rules on the Gateway API edge, both sides, on the
 * real production render (compliant) and on copies with one thing broken.
 */
import { describe, expect, it } from "vitest";
import type { RenderedResource } from "../../policies/evaluate";
import { renderStack, renderedResources } from "../harness";
import { clone, evaluate, messagesOf } from "./helpers";

async function production(overrides?: Record<string, unknown>): Promise<RenderedResource[]> {
  const run = await renderStack("production", overrides);
  return renderedResources(run);
}

function object(stack: RenderedResource[], kind: string, name: string): Record<string, any> {
  const found = stack.find(
    (r) => (r.props as any).kind === kind && (r.props as any).metadata?.name === name,
  );
  if (!found) throw new Error(`no ${kind} ${name}`);
  return found.props as Record<string, any>;
}

const RULE = "gateway-references";

describe("gateway-references", () => {
  it("passes the production Gateway edge (certificate from cert-manager, routes admitted, backends real)", async () => {
    expect(messagesOf(await evaluate(await production()), RULE)).toEqual([]);
  });

  it("passes with the private CA's Secret (staging shape) and fails when that Secret is missing", async () => {
    const stack = await production({ "octollm:ingress": { tls: { mode: "private-ca" } } });
    expect(messagesOf(await evaluate(stack), RULE)).toEqual([]);
    const without = clone(stack).filter(
      (r) =>
        !((r.props as any).kind === "Secret" && (r.props as any).metadata?.name === "octollm-tls"),
    );
    expect(messagesOf(await evaluate(without), RULE)).toEqual([
      "Gateway octollm-system/octollm: HTTPS listener https → Secret octollm-system/octollm-tls, which neither exists nor is made by a Certificate",
    ]);
  });

  it("reports an HTTPS listener without certificateRefs", async () => {
    const stack = clone(await production());
    delete object(stack, "Gateway", "octollm").spec.listeners[1].tls.certificateRefs;
    expect(messagesOf(await evaluate(stack), RULE)).toEqual([
      "Gateway octollm-system/octollm: HTTPS listener https has no certificateRefs",
    ]);
  });

  it("reports a parentRef to a missing Gateway or listener, and a listener that does not admit the route", async () => {
    const stack = clone(await production());
    object(stack, "HTTPRoute", "octollm-reflex").spec.parentRefs[0].name = "octolm";
    object(stack, "HTTPRoute", "octollm-orchestrator").spec.parentRefs[0].sectionName = "tls";
    const gw = object(stack, "Gateway", "octollm");
    gw.spec.listeners[1].allowedRoutes.namespaces.selector.matchExpressions[0].values = [
      "octollm-production",
    ];
    const messages = messagesOf(await evaluate(stack), RULE);
    expect(messages).toContain(
      "HTTPRoute octollm-production-reflex/octollm-reflex: parentRef Gateway octollm-system/octolm does not exist",
    );
    expect(messages).toContain(
      "HTTPRoute octollm-production/octollm-orchestrator: parentRef Gateway octollm-system/octollm has no listener tls",
    );
    object(stack, "HTTPRoute", "octollm-reflex").spec.parentRefs[0].name = "octollm";
    expect(messagesOf(await evaluate(stack), RULE)).toContain(
      "HTTPRoute octollm-production-reflex/octollm-reflex: listener https of Gateway octollm-system/octollm does not admit routes from namespace octollm-production-reflex (allowedRoutes)",
    );
  });

  it("reports a backendRef to a missing Service or port, and a cross-namespace one without a ReferenceGrant", async () => {
    const stack = clone(await production());
    const reflex = object(stack, "HTTPRoute", "octollm-reflex");
    reflex.spec.rules[0].backendRefs[0].port = 9999;
    const orch = object(stack, "HTTPRoute", "octollm-orchestrator");
    orch.spec.rules[0].backendRefs[0].name = "orchestrater";
    let messages = messagesOf(await evaluate(stack), RULE);
    expect(messages).toContain(
      "HTTPRoute octollm-production-reflex/octollm-reflex: backendRef Service octollm-production-reflex/reflex-layer port 9999, which the Service does not expose (ports: 8080)",
    );
    expect(messages).toContain(
      "HTTPRoute octollm-production/octollm-orchestrator: backendRef Service octollm-production/orchestrater does not exist",
    );
    // The reflex route pointing at the orchestrator across namespaces: needs a grant there.
    reflex.spec.rules[0].backendRefs[0] = {
      group: "",
      kind: "Service",
      name: "orchestrator",
      namespace: "octollm-production",
      port: 8000,
    };
    orch.spec.rules[0].backendRefs[0].name = "orchestrator";
    messages = messagesOf(await evaluate(stack), RULE);
    expect(messages).toEqual([
      "HTTPRoute octollm-production-reflex/octollm-reflex: backendRef Service octollm-production/orchestrator is in another namespace without a ReferenceGrant there",
    ]);
    stack.push({
      type: "kubernetes:gateway.networking.k8s.io/v1beta1:ReferenceGrant",
      name: "grant",
      urn: "urn:pulumi:production::octollm::grant",
      props: {
        apiVersion: "gateway.networking.k8s.io/v1beta1",
        kind: "ReferenceGrant",
        metadata: { name: "from-reflex", namespace: "octollm-production" },
        spec: {
          from: [
            {
              group: "gateway.networking.k8s.io",
              kind: "HTTPRoute",
              namespace: "octollm-production-reflex",
            },
          ],
          to: [{ group: "", kind: "Service", name: "orchestrator" }],
        },
      },
    });
    expect(messagesOf(await evaluate(stack), RULE)).toEqual([]);
  });

  it("reports a plain-HTTP listener that serves a backend instead of redirecting", async () => {
    const stack = clone(await production());
    const redirect = object(stack, "HTTPRoute", "octollm-https-redirect");
    redirect.spec.rules = [
      {
        backendRefs: [
          {
            group: "",
            kind: "Service",
            name: "orchestrator",
            namespace: "octollm-production",
            port: 8000,
          },
        ],
      },
    ];
    expect(messagesOf(await evaluate(stack), RULE)).toContain(
      "HTTPRoute octollm-system/octollm-https-redirect: attaches to plain-HTTP listener http of Gateway octollm-system/octollm and serves backends instead of redirecting to https",
    );
  });
});
