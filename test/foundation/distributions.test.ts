/**
 * `kubernetes.distribution` presets (components/defaults.ts DISTRIBUTION_PRESETS): the network
 * ranges and the storage provisioner a cluster imposes, and the check that node and API-server
 * ranges never take in the pod CIDR. Addresses below are the distributions' defaults: a kind
 * node / control plane on docker's `kind` network (172.18.0.2), a kind pod (10.244.0.7), a
 * minikube node (192.168.49.2, API on 8443).
 */
import { describe, expect, it } from "vitest";
import { parseCidr } from "../../components/k8s/cidr";
import { ipInCidr } from "../../components/network-flows";
import { configOf, configProblems, findObject, objectsOf } from "../harness";

type Rule = {
  to?: { ipBlock?: { cidr: string } }[];
  from?: { ipBlock?: { cidr: string } }[];
  ports?: { port: number }[];
};
type Policy = { spec: { egress?: Rule[]; ingress?: Rule[] } };

/** Does an ipBlock of one of `rules` admit `ip` on `port`? */
function admits(rules: Rule[] | undefined, side: "to" | "from", ip: string, port: number): boolean {
  return (rules ?? []).some(
    (r) =>
      (r[side] ?? []).some((p) => p.ipBlock && ipInCidr(ip, p.ipBlock.cidr)) &&
      (r.ports === undefined || r.ports.some((x) => x.port === port)),
  );
}

describe("dev renders a network that works on kind", () => {
  it("Postgres instances may reach kind's API server (control-plane container, 6443)", async () => {
    const objects = await objectsOf("dev");
    const pg = findObject(objects, "NetworkPolicy", "postgres", "octollm-dev") as unknown as Policy;
    expect(admits(pg.spec.egress, "to", "172.18.0.2", 6443)).toBe(true);
  });

  it("the orchestrator admits the host-network reflex layer from a kind node, and no pod by ipBlock", async () => {
    const objects = await objectsOf("dev");
    const orch = findObject(
      objects,
      "NetworkPolicy",
      "orchestrator",
      "octollm-dev",
    ) as unknown as Policy;
    expect(admits(orch.spec.ingress, "from", "172.18.0.2", 8000)).toBe(true);
    expect(admits(orch.spec.ingress, "from", "10.244.0.7", 8000)).toBe(false);
  });

  it("the dev StorageClass is kind's local-path provisioner without EBS parameters", async () => {
    const objects = await objectsOf("dev");
    const sc = findObject(objects, "StorageClass", "octollm-dev-local") as unknown as {
      provisioner: string;
      parameters?: Record<string, string>;
    };
    expect(sc.provisioner).toBe("rancher.io/local-path");
    expect(sc.parameters ?? {}).toEqual({});
  });
});

describe("presets", () => {
  it("each laptop distribution sets its ranges, API port and provisioner", () => {
    const of = (distribution: string) => {
      const c = configOf("dev", { "octollm:kubernetes": { distribution } });
      return {
        nodes: c.network.nodeCidrs,
        api: [c.network.apiServerCidrs, c.network.apiServerPorts],
        pods: c.network.podCidrs,
        provisioner: c.dataStores.storageClass.provisioner,
        parameters: c.dataStores.storageClass.parameters,
      };
    };
    expect(of("kind")).toEqual({
      nodes: ["172.16.0.0/12"],
      api: [["172.16.0.0/12"], [6443]],
      pods: ["10.244.0.0/16"],
      provisioner: "rancher.io/local-path",
      parameters: {},
    });
    expect(of("k3d")).toMatchObject({
      pods: ["10.42.0.0/16"],
      provisioner: "rancher.io/local-path",
    });
    expect(of("minikube")).toEqual({
      nodes: ["192.168.0.0/16"],
      api: [["192.168.0.0/16"], [8443]],
      pods: ["10.244.0.0/16"],
      provisioner: "k8s.io/minikube-hostpath",
      parameters: {},
    });
  });

  it("minikube: Postgres egress opens the API server's 8443 on the minikube network", async () => {
    const objects = await objectsOf("dev", { "octollm:kubernetes": { distribution: "minikube" } });
    const pg = findObject(objects, "NetworkPolicy", "postgres", "octollm-dev") as unknown as Policy;
    expect(admits(pg.spec.egress, "to", "192.168.49.2", 8443)).toBe(true);
    expect(admits(pg.spec.egress, "to", "192.168.49.2", 6443)).toBe(false);
  });

  it("production stays on EKS with encrypted gp3 EBS volumes", () => {
    const c = configOf("production");
    expect(c.kubernetes.distribution).toBe("eks");
    expect(c.dataStores.storageClass).toMatchObject({
      provisioner: "ebs.csi.aws.com",
      parameters: { type: "gp3", encrypted: "true" },
    });
  });

  it("explicit keys win over the preset; a provisioner of one's own drops the preset's parameters", () => {
    const c = configOf("dev", { "octollm:network": { nodeCidrs: ["172.18.0.0/16"] } });
    expect(c.network.nodeCidrs).toEqual(["172.18.0.0/16"]);
    expect(c.network.apiServerCidrs).toEqual(["172.16.0.0/12"]);
    // production's EKS preset carries EBS parameters; another provisioner does not inherit them
    const p = configOf("production", {
      "octollm:dataStores": { storageClass: { provisioner: "k8s.io/minikube-hostpath" } },
    });
    expect(p.dataStores.storageClass).toMatchObject({
      provisioner: "k8s.io/minikube-hostpath",
      parameters: {},
    });
    // and an unknown provisioner must still say it encrypts
    expect(
      configProblems(
        { "octollm:dataStores": { storageClass: { provisioner: "example.com/csi" } } },
        "production",
      ),
    ).toEqual([
      'octollm:dataStores.storageClass.parameters: got {}; must enable encryption at rest for this provisioner: encrypted: "true", kmsKeyId, disk-encryption-kms-key or diskEncryptionSetID',
    ]);
  });

  it("NodeLocal DNSCache: network.dnsCidrs joins every namespace's DNS egress", async () => {
    const objects = await objectsOf("dev", {
      "octollm:network": { dnsCidrs: ["169.254.20.10/32"] },
    });
    for (const ns of ["octollm-dev", "octollm-dev-system", "octollm-dev-reflex"]) {
      const p = findObject(objects, "NetworkPolicy", "allow-dns-egress", ns) as unknown as Policy;
      expect(admits(p.spec.egress, "to", "169.254.20.10", 53), ns).toBe(true);
    }
  });
});

describe("bad input: parse-time errors naming the key, the value and what is allowed", () => {
  it("node ranges that contain the pod CIDR (the old 10.0.0.0/8 default on kind)", () => {
    expect(configProblems({ "octollm:network": { nodeCidrs: ["10.0.0.0/8"] } }, "dev")).toEqual([
      'octollm:network.nodeCidrs[0]: got "10.0.0.0/8"; 10.0.0.0/8 contains the pod CIDR 10.244.0.0/16 (network.podCidrs): every pod would pass as a node; allowed: ranges disjoint from 10.244.0.0/16 (single /32 or /128 addresses excepted)',
    ]);
  });

  it("API-server ranges inside the pod CIDR, and explicit pod CIDRs on a cloud preset", () => {
    expect(
      configProblems({ "octollm:network": { apiServerCidrs: ["10.42.0.0/24"] } }, "dev").map((p) =>
        p.replace(/;.*/, ""),
      ),
    ).toEqual([]);
    expect(
      configProblems({ "octollm:network": { apiServerCidrs: ["10.244.3.0/24"] } }, "dev"),
    ).toEqual([
      'octollm:network.apiServerCidrs[0]: got "10.244.3.0/24"; 10.244.3.0/24 overlaps the pod CIDR 10.244.0.0/16 (network.podCidrs): every pod would pass as the API server; allowed: ranges disjoint from 10.244.0.0/16 (single /32 or /128 addresses excepted)',
    ]);
    // production (EKS) leaves the pod CIDR unknown; once given, the VPC-wide default is refused
    expect(
      configProblems({ "octollm:network": { podCidrs: ["10.100.0.0/16"] } }, "production"),
    ).toHaveLength(2);
  });

  it("a single node address on the pod network is allowed (a node's bridge gateway)", () => {
    expect(
      configProblems(
        { "octollm:network": { nodeCidrs: ["172.18.0.0/16", "10.244.0.1/32"] } },
        "dev",
      ),
    ).toEqual([]);
  });

  it("EBS parameters on a local provisioner, an unknown distribution, a malformed CIDR", () => {
    expect(
      configProblems(
        { "octollm:dataStores": { storageClass: { parameters: { iops: "3000" } } } },
        "dev",
      ),
    ).toEqual([
      'octollm:dataStores.storageClass.parameters: got {"iops":"3000"}; rancher.io/local-path does not read "iops" (EBS parameters such as type, iops and encrypted are ignored, not applied): allowed: nodePath, pathPattern, volumeType',
    ]);
    expect(configProblems({ "octollm:kubernetes": { distribution: "docker-desktop" } })).toEqual([
      'octollm:kubernetes.distribution: got "docker-desktop"; must be one of kind, k3d, minikube, eks, gke, aks, generic',
    ]);
    expect(configProblems({ "octollm:network": { nodeCidrs: ["300.0.0.0/8"] } })).toEqual([
      'octollm:network.nodeCidrs[0]: got "300.0.0.0/8"; must be a CIDR like 10.0.0.0/8 or fd00::/8',
    ]);
  });
});

describe("CIDR arithmetic", () => {
  it("parses IPv4 and IPv6 and masks host bits", () => {
    expect(parseCidr("10.244.1.7/16")).toMatchObject({ family: 4, prefix: 16 });
    expect(parseCidr("fd00:10:244::/56")).toMatchObject({ family: 6, prefix: 56 });
    expect(parseCidr("10.0.0.0/33")).toBeUndefined();
    expect(parseCidr("fd00::1::2/64")).toBeUndefined();
  });
});
