import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { renderKubeconfig } from "../../src/kubeconfig.ts";

describe("renderKubeconfig", () => {
  it("renders one cluster, user and context that point at the PKI files", () => {
    const doc = parse(
      renderKubeconfig({
        clusterName: "tb",
        server: "https://127.0.0.1:6443",
        caFile: "/d/ca.crt",
        certFile: "/d/admin.crt",
        keyFile: "/d/admin.key",
        user: "admin",
      }),
    ) as Record<string, unknown>;
    expect(doc).toEqual({
      apiVersion: "v1",
      kind: "Config",
      clusters: [
        {
          name: "tb",
          cluster: { server: "https://127.0.0.1:6443", "certificate-authority": "/d/ca.crt" },
        },
      ],
      users: [
        {
          name: "admin",
          user: { "client-certificate": "/d/admin.crt", "client-key": "/d/admin.key" },
        },
      ],
      contexts: [{ name: "tb", context: { cluster: "tb", user: "admin" } }],
      "current-context": "tb",
    });
  });
});
