// The kubeconfig rules of kubectl: which files, how they merge, which context and namespace.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { CliError } from "../../../src/cli/errors.ts";
import { connect, kubeconfigFiles } from "../../../src/cli/kubeconfig.ts";
import { KubeClient, KubeconfigError } from "../../../src/kube/client.ts";

describe("kubeconfigFiles", () => {
  const exists = (path: string) => !path.includes("missing");

  it("takes --kubeconfig alone, even over KUBECONFIG", () => {
    expect(
      kubeconfigFiles({ flag: "/a", env: "/b:/c", home: "/home/u", exists, pathDelimiter: ":" }),
    ).toEqual(["/a"]);
  });

  it("takes the KUBECONFIG list in order, skipping missing files, empty entries and repeats", () => {
    expect(
      kubeconfigFiles({ env: "/b::/missing:/c:/b", home: "/home/u", exists, pathDelimiter: ":" }),
    ).toEqual(["/b", "/c"]);
    expect(() =>
      kubeconfigFiles({ env: "/missing", home: "/home/u", exists, pathDelimiter: ":" }),
    ).toThrow("none of the files in KUBECONFIG exists: /missing");
  });

  it("falls back to ~/.kube/config", () => {
    expect(kubeconfigFiles({ home: "/home/u", exists })).toEqual(["/home/u/.kube/config"]);
    expect(() => kubeconfigFiles({ env: "", home: "/missing", exists })).toThrow(CliError);
  });
});

describe("KubeClient.fromKubeconfig and connect", () => {
  const dir = mkdtempSync(join(tmpdir(), "cairn-cli-kubeconfig-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function kubeconfig(
    file: string,
    doc: {
      current?: string;
      clusters: [string, string][];
      contexts: { name: string; cluster: string; namespace?: string }[];
    },
  ): string {
    const path = join(dir, file);
    writeFileSync(
      path,
      stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: doc.clusters.map(([name, server]) => ({ name, cluster: { server } })),
        users: [{ name: "u", user: { token: "t" } }],
        contexts: doc.contexts.map((c) => ({
          name: c.name,
          context: {
            cluster: c.cluster,
            user: "u",
            ...(c.namespace ? { namespace: c.namespace } : {}),
          },
        })),
        ...(doc.current ? { "current-context": doc.current } : {}),
      }),
    );
    return path;
  }

  const first = kubeconfig("first", {
    current: "dev",
    clusters: [["dev", "https://dev:6443"]],
    contexts: [{ name: "dev", cluster: "dev", namespace: "team-a" }],
  });
  const second = kubeconfig("second", {
    current: "prod",
    clusters: [
      ["dev", "https://shadowed:6443"],
      ["prod", "https://prod:6443"],
    ],
    contexts: [
      { name: "dev", cluster: "prod" },
      { name: "prod", cluster: "prod" },
    ],
  });

  it("merges like kubectl: the first current-context and the first definition of a name win", () => {
    const client = KubeClient.fromKubeconfig({ files: [first, second] });
    expect(client.server).toBe("https://dev:6443");
    expect(client.namespace).toBe("team-a");
  });

  it("switches context, whose namespace may be unset", () => {
    const client = KubeClient.fromKubeconfig({ files: [first, second], context: "prod" });
    expect(client.server).toBe("https://prod:6443");
    expect(client.namespace).toBeUndefined();
  });

  it("refuses an unknown context, a context without cluster and an unreadable file", () => {
    expect(() => KubeClient.fromKubeconfig({ files: [first], context: "staging" })).toThrow(
      new KubeconfigError('context "staging" not found in the kubeconfig'),
    );
    const dangling = kubeconfig("dangling", {
      current: "x",
      clusters: [],
      contexts: [{ name: "x", cluster: "nowhere" }],
    });
    expect(() => KubeClient.fromKubeconfig({ files: [dangling] })).toThrow(
      'context "x" names cluster "nowhere", which the kubeconfig does not define',
    );
    const noCurrent = kubeconfig("no-current", {
      clusters: [["a", "https://a"]],
      contexts: [{ name: "a", cluster: "a" }],
    });
    expect(() => KubeClient.fromKubeconfig({ files: [noCurrent] })).toThrow(
      "the kubeconfig sets no current-context",
    );
    expect(() => KubeClient.fromKubeconfig({ files: [join(dir, "absent")] })).toThrow(
      KubeconfigError,
    );
  });

  it("takes the namespace from the flag, else the context, else default", () => {
    const env = { KUBECONFIG: `${first}:${second}` };
    expect(connect({ env, home: dir }).namespace).toBe("team-a");
    expect(connect({ env, home: dir, namespace: "shop" }).namespace).toBe("shop");
    expect(connect({ env, home: dir, context: "prod" }).namespace).toBe("default");
    expect(connect({ env: {}, home: dir, kubeconfig: second }).client.server).toBe(
      "https://prod:6443",
    );
  });
});
