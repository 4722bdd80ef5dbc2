// The answers to our own writes of Flux objects stand in for the informer's copy while it lags
// behind them, and only then.
import { describe, expect, it } from "vitest";
import type { UpgradeRequest } from "../../../../src/api/index.ts";
import { FLUX_API, REQUESTED_AT } from "../../../../src/controllers/request/flux.ts";
import { resumeStep } from "../../../../src/controllers/request/steps/resume.ts";
import { scaleDownStep } from "../../../../src/controllers/request/steps/scale-down.ts";
import { snapshotStep } from "../../../../src/controllers/upgrade/steps/snapshot.ts";
import { World } from "../../../../src/controllers/request/world.ts";
import { echoingClient, WriteEchoes } from "../../../../src/controllers/request/write-echoes.ts";
import type { KubeObject } from "../../../../src/kube/client.ts";
import type { InformerFactory } from "../../../../src/runtime/informer-factory.ts";
import { objectKey } from "../../../../src/runtime/keys.ts";
import { NAMESPACE_INDEX } from "../../../../src/runtime/store.ts";
import { FakeObjectApi } from "../../../fakes/object-api.ts";
import {
  NS,
  planWith,
  seedApp,
  seedFlux,
  seedUpgrade,
  seedWorkload,
  testStepDeps,
} from "../../../fakes/requests.ts";
import { stepContext } from "../../../fakes/step-context.ts";

const obj = (rv: string, suspend: boolean): KubeObject => ({
  apiVersion: FLUX_API.Kustomization,
  kind: "Kustomization",
  metadata: { name: "apps", namespace: NS, resourceVersion: rv, managedFields: [{ manager: "x" }] },
  spec: { suspend },
});

describe("WriteEchoes", () => {
  it("answers with our write while the copy is the version it was held against", () => {
    const echoes = new WriteEchoes();
    echoes.wrote("k", ["1"], obj("2", false));
    const answer = echoes.current("k", obj("1", true));
    expect(answer?.metadata.resourceVersion).toBe("2");
    expect(answer?.metadata["managedFields"]).toBeUndefined();
    // An event with a version from before the write changes nothing; the write's own ends it.
    echoes.seen("k", "1");
    expect(echoes.current("k", obj("1", true))?.metadata.resourceVersion).toBe("2");
    echoes.seen("k", "2");
    expect(echoes.size).toBe(0);
    expect(echoes.current("k", obj("1", true))?.metadata.resourceVersion).toBe("1");
  });

  it("leaves any other version to the informer: someone else's write, or nothing known", () => {
    const echoes = new WriteEchoes();
    echoes.wrote("k", ["1"], obj("2", false));
    expect(echoes.current("k", obj("7", true))?.metadata.resourceVersion).toBe("7");
    expect(echoes.current("other", obj("1", true))?.metadata.resourceVersion).toBe("1");
    // Gone from the informer: a patched object is not brought back.
    expect(echoes.current("k", undefined)).toBeUndefined();
    // A write held against nothing the informer showed: only its own version is known.
    echoes.wrote("j", [undefined], obj("5", false));
    expect(echoes.current("j", obj("4", true))?.metadata.resourceVersion).toBe("4");
  });

  it("answers with an object we created until the informer says anything about it", () => {
    const echoes = new WriteEchoes();
    echoes.wrote("s", [], obj("3", false));
    expect(echoes.current("s", undefined)?.metadata.resourceVersion).toBe("3");
    // Deleted before the informer ever showed it: the deletion ends the echo too.
    echoes.seen("s", undefined);
    expect(echoes.current("s", undefined)).toBeUndefined();
    echoes.wrote("t", [], obj("4", false));
    echoes.seen("t", "5");
    expect(echoes.current("t", undefined)).toBeUndefined();
  });

  it("keeps the versions of consecutive writes, and forgets them after someone else's", () => {
    const echoes = new WriteEchoes();
    echoes.wrote("k", ["1"], obj("2", false));
    echoes.wrote("k", ["2"], obj("3", true));
    expect(echoes.current("k", obj("1", true))?.metadata.resourceVersion).toBe("3");
    expect(echoes.current("k", obj("2", false))?.metadata.resourceVersion).toBe("3");
    // Held against a version that is not ours: the earlier ones say nothing any more.
    echoes.wrote("k", ["8"], obj("9", false));
    expect(echoes.current("k", obj("1", true))?.metadata.resourceVersion).toBe("1");
    expect(echoes.current("k", obj("8", true))?.metadata.resourceVersion).toBe("9");
  });
});

/** A World whose informers never see anything after they were made: the worst lag. */
function frozenWorld(api: FakeObjectApi): World {
  const view = (apiVersion: string, kind: string) => {
    const items = api.objects(apiVersion, kind);
    return {
      apiVersion,
      kind,
      get: (key: string) => items.find((o) => objectKey(o.metadata) === key),
      list: () => items,
      byIndex: (name: string, value: string) => {
        if (name !== NAMESPACE_INDEX) throw new Error(`no index ${name}`);
        return items.filter((o) => (o.metadata.namespace ?? "") === value);
      },
      onChange: () => () => undefined,
      addIndex: () => undefined,
    };
  };
  return new World({ for: view } as unknown as InformerFactory);
}

/** Step dependencies over a frozen World, writing through the echoing client as deployed. */
function echoingDeps(api: FakeObjectApi) {
  const world = frozenWorld(api);
  const deps = {
    ...testStepDeps<UpgradeRequest>(api),
    world,
    client: echoingClient(
      api,
      world.echoes,
      (ref) => World.echoKey(ref),
      (key) => world.informed(key),
    ),
  };
  return { world, deps };
}

describe("Resume on informers that have not seen its writes yet", () => {
  it("decides the next pass on the answers to its writes: nothing is written or read again", async () => {
    const api = new FakeObjectApi();
    seedApp(api);
    seedFlux(api, "GitRepository", "repo");
    seedFlux(api, "Kustomization", "apps", { suspend: true });
    seedFlux(api, "HelmRelease", "db", { suspend: true });
    const up = seedUpgrade(api);
    const { deps } = echoingDeps(api);
    const status = {
      plan: planWith({ source: { namespace: NS, name: "repo" } }),
      commit: { sha: "c".repeat(40), adopted: false },
      suspended: [
        { kind: "Kustomization" as const, namespace: NS, name: "apps" },
        { kind: "HelmRelease" as const, namespace: NS, name: "db" },
      ],
    };
    const resume = resumeStep(deps);
    expect((await resume(stepContext(up, status))).kind).toBe("waiting");
    const k = api.peek({
      apiVersion: FLUX_API.Kustomization,
      kind: "Kustomization",
      namespace: NS,
      name: "apps",
    });
    expect((k?.["spec"] as { suspend?: boolean }).suspend).toBe(false);
    expect(k?.metadata.annotations?.[REQUESTED_AT]).toBe(`${up.metadata.uid ?? ""}-resume`);
    const calls = api.calls.length;
    // The informers still show the Kustomization suspended and the source not asked.
    expect((await resume(stepContext(up, status))).kind).toBe("waiting");
    expect(api.calls.slice(calls).map((c) => `${c.op} ${c.key}`)).toEqual([]);
  });
});

describe("Snapshot on informers that have not seen its creates yet", () => {
  it("finds the snapshots it created: the next pass checks no cut and creates nothing", async () => {
    const api = new FakeObjectApi();
    const up = seedUpgrade(api);
    const { deps } = echoingDeps(api);
    const ctx = stepContext(up, {
      plan: planWith({
        volumes: [{ namespace: NS, name: "data-db-0", snapshot: "data-db-0-abc" }],
        volumeSnapshotClassName: "csi",
      }),
    });
    const step = snapshotStep(deps);
    expect((await step(ctx)).kind).toBe("waiting");
    expect(api.callsOf("create")).toHaveLength(1);
    const calls = api.calls.length;
    expect((await step(ctx)).kind).toBe("waiting");
    expect(api.calls.slice(calls).map((c) => `${c.op} ${c.key}`)).toEqual([]);
  });
});

describe("ScaleDown on informers that have not seen its scales yet", () => {
  it("takes the workloads for stopped: a pass right after scales nothing again", async () => {
    const api = new FakeObjectApi();
    seedWorkload(api, "StatefulSet", "db", 3);
    seedWorkload(api, "Deployment", "web", 2);
    const up = seedUpgrade(api);
    const { world, deps } = echoingDeps(api);
    const ctx = stepContext(up, {
      plan: planWith({
        workloads: [
          { kind: "StatefulSet", namespace: NS, name: "db", replicas: 3 },
          { kind: "Deployment", namespace: NS, name: "web", replicas: 2 },
        ],
        volumes: [{ namespace: NS, name: "data-db-0" }],
      }),
    });
    const step = scaleDownStep(deps);
    expect((await step(ctx)).kind).toBe("succeeded");
    expect(api.callsOf("patchScale")).toHaveLength(2);
    expect(world.workload("StatefulSet", NS, "db")?.["spec"]).toMatchObject({ replicas: 0 });
    expect((await step(ctx)).kind).toBe("succeeded");
    expect(api.callsOf("patchScale")).toHaveLength(2);
    // What the informer itself shows is untouched.
    expect(world.informed(`StatefulSet/${NS}/db`)?.["spec"]).toMatchObject({ replicas: 3 });
  });
});
