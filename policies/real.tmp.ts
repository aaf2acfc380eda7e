import { renderStack } from "../test/harness";
import { evaluatePolicies, loadPolicyConfig, formatCapacityTable } from "./evaluate";
(async () => {
  for (const stack of (process.argv[2] ?? "production,staging,dev").split(",")) {
    const run = await renderStack(stack);
    const resources = run.resources.map((r) => ({
      type: r.type,
      name: r.name,
      urn: r.urn,
      props: r.inputs,
      parent: r.parent,
    }));
    const t = Date.now();
    const report = await evaluatePolicies(resources, loadPolicyConfig(stack));
    console.log(`== ${stack}: ${resources.length} resources, ${Date.now() - t}ms`);
    for (const v of report.violations)
      console.log(`${v.enforcementLevel} ${v.policy}: ${v.message}`);
    console.log(report.exemptions);
    console.log(formatCapacityTable(report.capacity));
  }
})();
