// A suspension shared by requests of two apps (the same parent Kustomization): Suspend joins it,
// Resume and compensation let go, and only the last holder out resumes the object; a rollback
// takes over its upgrade's hold. On the fake API, with its resourceVersion preconditions.
import { describe, expect, it } from "vitest";
import {
  Annotation,
  Kind,
  suspensionHoldersOf,
  type RollbackRequest,
  type UpgradeRequest,
} from "../../../../../src/api/index.ts";
import { FLUX_API } from "../../../../../src/controllers/request/flux.ts";
import { undoFreeze } from "../../../../../src/controllers/request/freeze.ts";
import { resumeStep } from "../../../../../src/controllers/request/steps/resume.ts";
import { suspendStep } from "../../../../../src/controllers/request/steps/suspend.ts";
import {
  holdSuspension,
  releaseAndReconcile,
  releaseSuspension,
  suspensionHolder,
} from "../../../../../src/controllers/request/suspension.ts";
import { FakeObjectApi } from "../../../../fakes/object-api.ts";
import {
  NS,
  planWith,
  seedApp,
  seedFlux,
  seedRollback,
  seedUpgrade,
  testStepDeps,
} from "../../../../fakes/requests.ts";
import { stepContext } from "../../../../fakes/step-context.ts";

const APPS = { kind: "Kustomization" as const, namespace: NS, name: "apps" };
const appsRef = { apiVersion: FLUX_API.Kustomization, ...APPS };
const plan = planWith({ flux: [APPS] });
const suspended = (api: FakeObjectApi) =>
  (api.peek(appsRef)?.["spec"] as { suspend?: boolean }).suspend === true;
const holders = (api: FakeObjectApi) =>
  suspensionHoldersOf(api.peek(appsRef) ?? { metadata: {} }).map((h) => h.name);

function twoRequests() {
  const api = new FakeObjectApi();
  seedApp(api);
  seedFlux(api, "Kustomization", "apps");
  const a = seedUpgrade(api, "up-a");
  const b = seedUpgrade(api, "up-b");
  const deps = testStepDeps<UpgradeRequest>(api);
  const ctxA = stepContext(a, { plan });
  const ctxB = stepContext(b, { plan });
  return { api, deps, ctxA, ctxB };
}

describe("a suspension shared by two requests", () => {
  it("the second joins naming the first, and only the last one out resumes", async () => {
    const { api, deps, ctxA, ctxB } = twoRequests();
    const suspend = suspendStep(deps);
    expect((await suspend(ctxA)).kind).toBe("succeeded");
    expect(suspended(api)).toBe(true);
    expect(holders(api)).toEqual(["up-a"]);
    expect(await suspend(ctxB)).toMatchObject({
      kind: "succeeded",
      message: expect.stringContaining(
        `Kustomization ${NS}/apps shared with UpgradeRequest ${NS}/up-a`,
      ) as unknown,
    });
    expect(holders(api)).toEqual(["up-a", "up-b"]);
    expect(ctxB.status().suspended).toEqual([APPS]);

    // A finishes first (here: its compensation): the object stays suspended for B.
    const meA = suspensionHolder(ctxA, deps.me(ctxA));
    expect(await undoFreeze(api, ctxA.status(), meA)).toContain(
      `left suspended for other requests: Kustomization ${NS}/apps (still held by UpgradeRequest ${NS}/up-b)`,
    );
    expect(suspended(api)).toBe(true);
    expect(holders(api)).toEqual(["up-b"]);
    // Again (a pass after a crash): nothing changes.
    expect((await releaseSuspension(api, APPS, meA)).kind).toBe("kept");
    expect(holders(api)).toEqual(["up-b"]);

    // B is the last holder: its release resumes the object and takes the list off.
    const meB = suspensionHolder(ctxB, deps.me(ctxB));
    expect(await releaseSuspension(api, APPS, meB)).toEqual({ kind: "resumed" });
    expect(suspended(api)).toBe(false);
    expect(api.peek(appsRef)?.metadata.annotations?.[Annotation.SuspendedBy]).toBeUndefined();
    expect((await releaseSuspension(api, APPS, meB)).kind).toBe("none");
  });

  it("Resume of the first leaves the shared object suspended and says who holds it", async () => {
    const { api, deps, ctxA, ctxB } = twoRequests();
    await suspendStep(deps)(ctxA);
    await suspendStep(deps)(ctxB);
    const resume = resumeStep(deps);
    const status = { plan, commit: { sha: "c".repeat(40), adopted: false }, suspended: [APPS] };
    expect(await resume(stepContext(ctxA.request, status))).toMatchObject({
      kind: "succeeded",
      message: expect.stringContaining(
        `Kustomization ${NS}/apps stays suspended for UpgradeRequest ${NS}/up-b`,
      ) as unknown,
    });
    expect(suspended(api)).toBe(true);
    expect(await resume(stepContext(ctxB.request, status))).toMatchObject({
      kind: "succeeded",
      message: `resumed Kustomization ${NS}/apps`,
    });
    expect(suspended(api)).toBe(false);
  });

  it("a holder that joins between another's read and write is kept (resourceVersion precondition)", async () => {
    const { api, deps, ctxA, ctxB } = twoRequests();
    await suspendStep(deps)(ctxA);
    const meA = suspensionHolder(ctxA, deps.me(ctxA));
    const meB = suspensionHolder(ctxB, deps.me(ctxB));
    // B joins right after A's read: A's write conflicts, and A decides again on a fresh read.
    api.beforeNext("mergePatch", () => {
      api.write(appsRef, {
        metadata: { annotations: { [Annotation.SuspendedBy]: JSON.stringify([meA, meB]) } },
      });
    });
    expect(await releaseSuspension(api, APPS, meA)).toMatchObject({ kind: "kept" });
    expect(suspended(api)).toBe(true);
    expect(holders(api)).toEqual(["up-b"]);
  });

  it("Resume releases from the informer's copy under its version: one write, no read", async () => {
    const { api, deps, ctxA } = twoRequests();
    await suspendStep(deps)(ctxA);
    const meA = suspensionHolder(ctxA, deps.me(ctxA));
    const cached = structuredClone(api.peek(appsRef));
    if (!cached) throw new Error("no Kustomization");
    const gets = api.callsOf("get").length;
    const writes = api.callsOf("mergePatch").length;
    expect(await releaseAndReconcile(api, APPS, meA, "tok", { obj: cached, fresh: false })).toEqual(
      { kind: "resumed" },
    );
    expect(api.callsOf("get").length).toBe(gets);
    expect(api.callsOf("mergePatch").length).toBe(writes + 1);
    expect(suspended(api)).toBe(false);
  });

  it("an informer's copy that is behind costs a re-read: its write conflicts, and a copy that says there is nothing to write is not believed", async () => {
    const { api, deps, ctxA, ctxB } = twoRequests();
    await suspendStep(deps)(ctxA);
    await suspendStep(deps)(ctxB);
    const meA = suspensionHolder(ctxA, deps.me(ctxA));
    const meB = suspensionHolder(ctxB, deps.me(ctxB));
    // A copy from while only B held it: by it, A has nothing to let go of.
    const live = api.peek(appsRef);
    if (!live) throw new Error("no Kustomization");
    const behind = {
      ...structuredClone(live),
      metadata: {
        ...structuredClone(live.metadata),
        annotations: {
          ...live.metadata.annotations,
          [Annotation.SuspendedBy]: JSON.stringify([meB]),
        },
      },
    };
    await releaseSuspension(api, APPS, meB);
    expect(holders(api)).toEqual(["up-a"]);
    // The API holds A alone: A, deciding on a fresh read, resumes.
    expect(await releaseAndReconcile(api, APPS, meA, "tok", { obj: behind, fresh: false })).toEqual(
      { kind: "resumed" },
    );
    expect(suspended(api)).toBe(false);

    // A copy whose version is gone: its write conflicts and the release is decided again.
    await suspendStep(deps)(ctxA);
    const old = structuredClone(api.peek(appsRef));
    if (!old) throw new Error("no Kustomization");
    await suspendStep(deps)(ctxB);
    expect(holders(api)).toEqual(["up-a", "up-b"]);
    expect(await releaseAndReconcile(api, APPS, meA, "tok", { obj: old, fresh: false })).toEqual({
      kind: "kept",
      by: [meB],
    });
    expect(suspended(api)).toBe(true);
    expect(holders(api)).toEqual(["up-b"]);
  });

  it("Suspend reads each object once; a holder that joins before its write is kept", async () => {
    const { api, deps, ctxA, ctxB } = twoRequests();
    const reads = () =>
      api
        .callsOf("get")
        .filter((c) => c.key === `${FLUX_API.Kustomization}/Kustomization/${NS}/apps`).length;
    expect((await suspendStep(deps)(ctxA)).kind).toBe("succeeded");
    expect(reads()).toBe(1);
    expect(holders(api)).toEqual(["up-a"]);

    // B's own read is followed by A taking the object back over (a stand-in for any writer
    // between B's read and B's write): B's write conflicts, and B decides on a fresh read.
    const meA = suspensionHolder(ctxA, deps.me(ctxA));
    await releaseSuspension(api, APPS, meA);
    api.beforeNext("mergePatch", () => {
      api.write(appsRef, {
        metadata: { annotations: { [Annotation.SuspendedBy]: JSON.stringify([meA]) } },
        spec: { suspend: true },
      });
    });
    const before = reads();
    expect((await suspendStep(deps)(ctxB)).kind).toBe("succeeded");
    expect(reads()).toBe(before + 2);
    expect(holders(api)).toEqual(["up-a", "up-b"]);
  });

  it("a new suspension replaces holders a hand resume left behind", async () => {
    const { api, deps, ctxA } = twoRequests();
    api.write(appsRef, {
      metadata: {
        annotations: {
          [Annotation.SuspendedBy]: JSON.stringify([
            { kind: "UpgradeRequest", namespace: NS, name: "gone", uid: "x", upgrade: "gone" },
          ]),
        },
      },
    });
    const me = suspensionHolder(ctxA, deps.me(ctxA));
    expect(await holdSuspension(api, APPS, me, false)).toEqual({ kind: "held", sharedWith: [] });
    expect(holders(api)).toEqual(["up-a"]);
  });
});

describe("a rollback and its upgrade's hold", () => {
  it("Suspend takes over the hold of the upgrade it rolls back, keeping another app's", async () => {
    const api = new FakeObjectApi();
    seedApp(api);
    seedFlux(api, "Kustomization", "apps");
    const up = seedUpgrade(api, "up-1");
    const other = seedUpgrade(api, "other-app-up");
    const rb = seedRollback(api, "up-1-rollback", "up-1");
    const upDeps = testStepDeps<UpgradeRequest>(api);
    await suspendStep(upDeps)(stepContext(up, { plan }));
    await suspendStep(upDeps)(stepContext(other, { plan }));
    expect(holders(api)).toEqual(["up-1", "other-app-up"]);
    const rbDeps = testStepDeps<RollbackRequest>(api);
    // The rollback's Plan adopted the object (status.suspended), as it does for a handed freeze.
    const ctx = stepContext(rb, { plan, suspended: [APPS] });
    expect((await suspendStep(rbDeps)(ctx)).kind).toBe("succeeded");
    expect(holders(api)).toEqual(["other-app-up", "up-1-rollback"]);
    expect(suspensionHoldersOf(api.peek(appsRef) ?? { metadata: {} })[1]).toMatchObject({
      kind: Kind.RollbackRequest,
      upgrade: "up-1",
    });
    expect(suspended(api)).toBe(true);
  });
});
