import { describe, expect, it } from "vitest";
import { findObject, objectsOf } from "../harness";

describe("tracing env in the services", () => {
  it("dev (tracing on, in-cluster Jaeger) points the orchestrator and every arm at the collector", async () => {
    const objects = await objectsOf("dev");
    for (const service of [
      "orchestrator",
      "coder-arm",
      "judge-arm",
      "executor-arm",
      "planner-arm",
      "retriever-arm",
    ]) {
      const data = findObject(objects, "ConfigMap", `${service}-env`, "octollm-dev").data as Record<
        string,
        string
      >;
      expect(data.OTEL_SERVICE_NAME).toBe(service);
      expect(data.OTEL_EXPORTER_OTLP_ENDPOINT).toMatch(
        /^http:\/\/[a-z-]+\.octollm-dev-system\.svc\.cluster\.local:4317$/,
      );
    }
  });

  it("production (tracing off by default) sets no OTEL variables", async () => {
    const data = findObject(await objectsOf("production"), "ConfigMap", "orchestrator-env")
      .data as Record<string, string>;
    expect(Object.keys(data).filter((k) => k.startsWith("OTEL_"))).toEqual([]);
  });

  it("production with an external OTLP endpoint sends through the in-cluster collector", async () => {
    const objects = await objectsOf("production", {
      "octollm:observability": {
        tracing: { enabled: true, mode: "otlp", endpoint: "https://otlp.example.com:4318" },
      },
    });
    const data = findObject(objects, "ConfigMap", "coder-arm-env").data as Record<string, string>;
    expect(data.OTEL_SERVICE_NAME).toBe("coder-arm");
    expect(data.OTEL_EXPORTER_OTLP_ENDPOINT).toContain("octollm-system.svc.cluster.local:4317");
  });
});
