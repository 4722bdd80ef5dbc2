// The phase machine's shell on the fake API: one pass per call, a tiny two-step machine whose
// handlers the test scripts.
import { describe, expect, it } from "vitest";
import {
  Annotation,
  API_VERSION,
  ConditionType,
  Kind,
  REQUEST_FINALIZER,
  UpgradeRequest,
  type RequestStatus,
} from "../../../../src/api/index.ts";
import { acquireLock, lockHolder, releaseLock } from "../../../../src/controllers/request/lock.ts";
import type { StepResult } from "../../../../src/controllers/request/result.ts";
import {
  runRequest,
  type RequestMachine,
  type StepHandler,
} from "../../../../src/controllers/request/runner.ts";
import type { StepDef } from "../../../../src/controllers/request/step-table.ts";
import {
  PROGRESS_WRITE_INTERVAL_MS,
  ProgressWrites,
} from "../../../../src/controllers/request/progress-writes.ts";
import { KubeError } from "../../../../src/kube/errors.ts";
import { FakeClock } from "../../../fakes/clock.ts";
import { FakeObjectApi } from "../../../fakes/object-api.ts";
import { NS, seedUpgrade } from "../../../fakes/requests.ts";

// Suspend is in no STEPS table of this file's default machine; the Events test adds it.
type Name = "Plan" | "Admit" | "Suspend";
const STEPS: readonly StepDef<Name>[] = [
  { name: "Plan", condition: ConditionType.Planned },
  { name: "Admit", condition: ConditionType.Admitted },
];
const REF = { apiVersion: API_VERSION, kind: Kind.UpgradeRequest, namespace: NS, name: "up-1" };

function machine(handlers: Partial<Record<Name | "Compensate", StepHandler<UpgradeRequest>>>) {
  const never: StepHandler<UpgradeRequest> = () => Promise.reject(new Error("not expected"));
  const m: RequestMachine<UpgradeRequest, Name> = {
    kind: "UpgradeRequest",
    steps: STEPS,
    schema: UpgradeRequest,
    handlers: { Plan: never, Admit: never, Suspend: never, Compensate: never, ...handlers },
    timeoutMs: () => Promise.resolve(60_000),
    onDelete: () => Promise.resolve({ kind: "succeeded", message: "cleaned up" }),
  };
  return m;
}

function setUp() {
  const api = new FakeObjectApi();
  seedUpgrade(api);
  const clock = new FakeClock(new Date("2026-01-01T00:00:00Z"));
  const events: string[] = [];
  const logs: string[] = [];
  const deps = {
    client: api,
    clock,
    log: (level: string, msg: string) => {
      logs.push(`${level} ${msg}`);
    },
    events: {
      record: (r: { kind: string }, type: string, reason: string) => {
        events.push(r.kind === Kind.ManagedApp ? `app ${type}/${reason}` : `${type}/${reason}`);
        return Promise.resolve();
      },
    },
  };
  const pass = (m: RequestMachine<UpgradeRequest, Name>) =>
    runRequest(m, deps, { namespace: NS, name: "up-1" }, new AbortController().signal);
  const status = () => (api.peek(REF)?.["status"] ?? {}) as RequestStatus;
  const cond = (type: string) => status().conditions?.find((c) => c.type === type);
  return { api, clock, events, logs, pass, status, cond };
}

const ok = (message = "ok"): Promise<StepResult> => Promise.resolve({ kind: "succeeded", message });

describe("runRequest", () => {
  it("logs failures at warn, a retried one included, and progress at info", async () => {
    const { logs, pass } = setUp();
    await pass(machine({ Plan: () => Promise.reject(new Error("API hiccup")) }));
    expect(logs).toContain("warn step failed; retrying");
    await pass(machine({ Plan: () => ok() }));
    expect(logs).toContain("info step");
    await pass(
      machine({ Admit: () => Promise.resolve({ kind: "failed", reason: "Nope", message: "no" }) }),
    );
    expect(logs.at(-1)).toBe("warn step");
  });

  it("adds the finalizer and writes the step's start and deadline before its handler acts", async () => {
    const { api, pass, status } = setUp();
    let seen: RequestStatus | undefined;
    const outcome = await pass(
      machine({
        Plan: () => {
          seen = api.peek(REF)?.["status"] as RequestStatus;
          expect(api.peek(REF)?.metadata["finalizers"]).toEqual([REQUEST_FINALIZER]);
          return ok();
        },
      }),
    );
    expect(seen?.step).toEqual({
      name: "Plan",
      startedAt: "2026-01-01T00:00:00.000Z",
      deadline: "2026-01-01T00:01:00.000Z",
    });
    expect(outcome).toEqual({ kind: "requeue", afterMs: 0 });
    // The success's write already carries the next step's start and deadline.
    expect(status().step?.name).toBe("Admit");
    expect(status().phase).toBe("Pending");
  });

  it("sends the request's labels with the finalizer, in one write", async () => {
    const { api, pass } = setUp();
    await pass({
      ...machine({ Plan: () => ok() }),
      labelsOf: () => ({ "cairn.dev/managed-app": "pg" }),
    });
    const metadataPatches = api.callsOf("mergePatch");
    expect(metadataPatches).toHaveLength(1);
    expect(metadataPatches[0]?.body).toMatchObject({
      metadata: { finalizers: [REQUEST_FINALIZER], labels: { "cairn.dev/managed-app": "pg" } },
    });
    expect(api.peek(REF)?.metadata.labels?.["cairn.dev/managed-app"]).toBe("pg");
  });

  it("walks the steps by their conditions and records each in the history", async () => {
    const { pass, cond, status } = setUp();
    const m = machine({
      Plan: () => ok("planned"),
      Admit: () =>
        Promise.resolve({
          kind: "finished",
          complete: "True",
          reason: "Succeeded",
          message: "done",
        }),
    });
    await pass(m);
    expect(cond(ConditionType.Planned)).toMatchObject({ status: "True", message: "planned" });
    expect(status().history?.map((h) => [h.name, h.reason])).toEqual([["Plan", "Succeeded"]]);
    await pass(m);
    expect(cond(ConditionType.Complete)).toMatchObject({ status: "True", reason: "Succeeded" });
    expect(await pass(m)).toEqual({ kind: "done" });
  });

  it("a failed step sets Aborting and Compensate runs next, ending Complete=False", async () => {
    const { pass, cond, events } = setUp();
    const m = machine({
      Plan: () => Promise.resolve({ kind: "failed", reason: "PlanBroke", message: "no" }),
      Compensate: () =>
        Promise.resolve({
          kind: "finished",
          complete: "False",
          reason: "PlanBroke",
          message: "undone",
        }),
    });
    await pass(m);
    expect(cond(ConditionType.Aborting)).toMatchObject({ status: "True", reason: "PlanBroke" });
    await pass(m);
    expect(cond(ConditionType.Complete)).toMatchObject({ status: "False", reason: "PlanBroke" });
    expect(events).toContain("Warning/PlanBroke");
  });

  it("an abort asked for with the annotation fails the step at work without running it, and the request stays", async () => {
    const { api, pass, cond, status } = setUp();
    let plans = 0;
    let compensated: string | undefined;
    const m = machine({
      Plan: () => {
        plans += 1;
        return Promise.resolve({ kind: "waiting", message: "planning" });
      },
      Compensate: (ctx) => {
        compensated = cond(ConditionType.Aborting)?.message;
        return Promise.resolve({
          kind: "finished",
          complete: "False",
          reason: ctx.status().conditions?.find((c) => c.type === "Aborting")?.reason ?? "",
          message: "undone",
        });
      },
    });
    await pass(m);
    expect(plans).toBe(1);
    await api.mergePatch(REF, {
      metadata: {
        annotations: { [Annotation.Abort]: "kubectl cairn abort at 2026-01-01T00:00:05Z" },
      },
    });
    await pass(m);
    expect(plans).toBe(1);
    expect(cond(ConditionType.Aborting)).toMatchObject({ status: "True", reason: "Aborted" });
    expect(status().history?.map((h) => [h.name, h.reason])).toEqual([["Plan", "Aborted"]]);
    await pass(m);
    expect(compensated).toBe(
      "Plan: aborted on request (kubectl cairn abort at 2026-01-01T00:00:05Z), annotation cairn.dev/abort",
    );
    expect(cond(ConditionType.Complete)).toMatchObject({ status: "False", reason: "Aborted" });
    expect(plans).toBe(1);
    expect(api.peek(REF)?.metadata["finalizers"] ?? []).not.toContain(REQUEST_FINALIZER);
    expect(await pass(m)).toEqual({ kind: "done" });
    expect(api.peek(REF)).toBeDefined();
  });

  it("records a milestone's Event on the request, not every step's, and only the outcome on the ManagedApp", async () => {
    const { pass, events } = setUp();
    const m: RequestMachine<UpgradeRequest, Name> = {
      ...machine({}),
      steps: [
        { name: "Plan", condition: ConditionType.Planned, milestone: true },
        { name: "Suspend", condition: ConditionType.Suspended },
        { name: "Admit", condition: ConditionType.Admitted },
      ],
      handlers: {
        ...machine({}).handlers,
        Plan: () => ok("planned"),
        Suspend: () => ok("suspended"),
        Admit: () =>
          Promise.resolve({ kind: "finished", complete: "True", reason: "Succeeded", message: "" }),
      },
      timeoutMs: () => Promise.resolve(60_000),
      alsoRegarding: () => ({
        apiVersion: API_VERSION,
        kind: Kind.ManagedApp,
        namespace: NS,
        name: "web",
        uid: "u",
      }),
    };
    await pass(m);
    await pass(m);
    await pass(m);
    // Suspend's success is no milestone: no Event on the request, only the app's start.
    expect(events).toEqual([
      "Normal/Plan",
      "app Normal/UpgradeStarted",
      "Normal/Succeeded",
      "app Normal/Succeeded",
    ]);
  });

  it("a handler that throws is retried until its deadline, then fails DeadlineExceeded", async () => {
    const { pass, cond, clock } = setUp();
    const m = machine({ Plan: () => Promise.reject(new Error("API down")) });
    expect(await pass(m)).toMatchObject({ kind: "retry" });
    expect(cond(ConditionType.Aborting)).toBeUndefined();
    await clock.advance(61_000);
    await pass(m);
    expect(cond(ConditionType.Aborting)).toMatchObject({
      status: "True",
      reason: "DeadlineExceeded",
      message: "Plan kept failing until its deadline: API down",
    });
  });

  it("a waiting step requeues and, past its deadline, fails DeadlineExceeded", async () => {
    const { pass, cond, clock } = setUp();
    const m = machine({
      Plan: () => Promise.resolve({ kind: "waiting", message: "not yet", afterMs: 5_000 }),
    });
    expect(await pass(m)).toEqual({ kind: "requeue", afterMs: 5_000 });
    await clock.advance(61_000);
    await pass(m);
    expect(cond(ConditionType.Aborting)).toMatchObject({ reason: "DeadlineExceeded" });
  });

  it("re-reads and writes again when someone else changed the request (Conflict on the finalizer)", async () => {
    const { api, pass } = setUp();
    api.beforeNext("mergePatch", () => {
      api.write(REF, { metadata: { labels: { touched: "yes" } } });
    });
    await pass(machine({ Plan: () => ok() }));
    expect(api.peek(REF)?.metadata["finalizers"]).toEqual([REQUEST_FINALIZER]);
    expect(api.peek(REF)?.metadata.labels).toEqual({ touched: "yes" });
  });

  it("a request being deleted runs onDelete and lets the finalizer go", async () => {
    const { api, pass, events } = setUp();
    await pass(machine({ Plan: () => Promise.resolve({ kind: "waiting", message: "x" }) }));
    await api.delete(REF);
    expect(await pass(machine({}))).toEqual({ kind: "done" });
    expect(api.peek(REF)).toBeUndefined();
    expect(events).toContain("Normal/CleanedUp");
  });

  it("a step whose start cannot be written does not run", async () => {
    const { api, pass, cond } = setUp();
    let runs = 0;
    const m = machine({
      Plan: () => {
        runs++;
        return ok();
      },
    });
    api.failAlways("patchStatus", new KubeError("Transient", "etcd timeout", 503));
    await expect(pass(m)).rejects.toThrow("etcd timeout");
    expect(runs).toBe(0);
    api.clearFaults();
    await pass(m);
    expect(runs).toBe(1);
    expect(cond(ConditionType.Planned)).toMatchObject({ status: "True" });
  });
});

describe("fenced status writes (a replica that lost its lease writes nothing)", () => {
  // Another replica took over while this pass ran its handler, and wrote the request on: what
  // the new leader wrote must survive, and the stale pass must end without a write.
  let theirs: unknown;
  function takeOver(api: FakeObjectApi, status: RequestStatus) {
    theirs = api.write(REF, { status })["status"];
  }
  const admitted = (): RequestStatus => ({
    phase: "Admitted",
    step: { name: "Admit", startedAt: "2026-01-01T00:00:30.000Z" },
    conditions: [
      {
        type: ConditionType.Planned,
        status: "True",
        reason: "Succeeded",
        message: "planned by the new leader",
        lastTransitionTime: "2026-01-01T00:00:30Z",
        observedGeneration: 1,
      },
    ],
  });

  it("a pass whose status write conflicts with another writer's status writes nothing and re-reads", async () => {
    const { api, pass, status, logs, events } = setUp();
    let planRuns = 0;
    let admitRuns = 0;
    const m = machine({
      Plan: () => {
        planRuns++;
        takeOver(api, admitted());
        return ok("planned by the old leader");
      },
      Admit: () => {
        admitRuns++;
        return Promise.resolve({ kind: "waiting", message: "admitting" });
      },
    });
    const writesBefore = api.callsOf("patchStatus").length;
    expect(await pass(m)).toEqual({ kind: "requeue", afterMs: 0 });
    expect(status()).toEqual(theirs);
    expect(logs).toContain("info the request changed since this pass read it; reading it again");
    expect(logs).not.toContain("warn step failed; retrying");
    expect(events).toEqual([]);
    // The step's start went out before the handler; its result was refused (409), not retried.
    const writes = api.callsOf("patchStatus").slice(writesBefore);
    expect(writes).toHaveLength(2);
    // The next pass starts from what the API holds: Plan is done, so it does not run again.
    await pass(m);
    expect(planRuns).toBe(1);
    expect(admitRuns).toBe(1);
    expect(status().conditions?.find((c) => c.type === ConditionType.Planned)?.message).toBe(
      "planned by the new leader",
    );
  });

  it("a conflicting ctx.save is no step failure, even past the step's deadline", async () => {
    const { api, pass, status, clock, logs } = setUp();
    const m = machine({
      Plan: async (ctx) => {
        takeOver(api, admitted());
        await clock.advance(61_000);
        await ctx.save({ completedAt: "2026-01-01T00:01:01.000Z" });
        return ok();
      },
    });
    expect(await pass(m)).toEqual({ kind: "requeue", afterMs: 0 });
    expect(status()).toEqual(theirs);
    expect(logs.some((l) => l.startsWith("warn"))).toBe(false);
  });

  it("a handler failure past its deadline does not fail a request another replica moved on", async () => {
    const { api, pass, status, clock } = setUp();
    const m = machine({
      Plan: async () => {
        takeOver(api, admitted());
        await clock.advance(61_000);
        throw new Error("git push: connection reset");
      },
    });
    expect(await pass(m)).toEqual({ kind: "requeue", afterMs: 0 });
    expect(status()).toEqual(theirs);
  });

  it("writes on when only the request's metadata changed meanwhile (a label)", async () => {
    const { api, pass, cond } = setUp();
    const m = machine({
      Plan: () => {
        api.write(REF, { metadata: { labels: { "cairn.dev/app": "db" } } });
        return ok("planned");
      },
    });
    expect(await pass(m)).toEqual({ kind: "requeue", afterMs: 0 });
    expect(cond(ConditionType.Planned)).toMatchObject({ status: "True", message: "planned" });
    expect(api.peek(REF)?.metadata.labels).toMatchObject({ "cairn.dev/app": "db" });
  });

  it("every status write carries the version it builds on as a precondition", async () => {
    const { api, pass } = setUp();
    await pass(machine({ Plan: () => ok() }));
    const bodies = api.callsOf("patchStatus").map((c) => c.body as Record<string, unknown>);
    expect(bodies.length).toBeGreaterThan(0);
    for (const body of bodies)
      expect(body["metadata"]).toEqual({ resourceVersion: expect.any(String) as string });
  });
});

describe("the app lock at the end of a request", () => {
  it("is released only after the final status write; a failed write keeps it", async () => {
    const { api, pass, cond } = setUp();
    const up = api.peek(REF);
    const me = { kind: Kind.UpgradeRequest, name: "up-1", uid: up?.metadata.uid ?? "" };
    const NOW = new Date("2026-01-01T00:00:00Z");
    await acquireLock(api, NS, "app-uid", me, NOW);
    let finishing = false;
    const m: RequestMachine<UpgradeRequest, Name> = {
      ...machine({
        Plan: () =>
          Promise.resolve(
            finishing
              ? { kind: "finished", complete: "True", reason: "Succeeded", message: "done" }
              : { kind: "waiting", message: "not yet" },
          ),
      }),
      release: () => releaseLock(api, NS, "app-uid", me),
    };
    await pass(m);
    finishing = true;
    api.failNext("patchStatus", new KubeError("Transient", "etcd timeout", 503));
    await expect(pass(m)).rejects.toThrow("etcd timeout");
    expect(cond(ConditionType.Complete)).toBeUndefined();
    expect(await lockHolder(api, NS, "app-uid")).toEqual(me);
    // Another request cannot take the app meanwhile.
    const other = { kind: Kind.UpgradeRequest, name: "next", uid: "next-uid" };
    expect((await acquireLock(api, NS, "app-uid", other, NOW)).acquired).toBe(false);
    await pass(m);
    expect(cond(ConditionType.Complete)).toMatchObject({ status: "True" });
    expect(await lockHolder(api, NS, "app-uid")).toBeUndefined();
  });

  it("is released on a later pass when a crash came between the final write and the release", async () => {
    const { api, pass } = setUp();
    const up = api.peek(REF);
    const me = { kind: Kind.UpgradeRequest, name: "up-1", uid: up?.metadata.uid ?? "" };
    await acquireLock(api, NS, "app-uid", me, new Date("2026-01-01T00:00:00Z"));
    api.write(REF, {
      metadata: { finalizers: [REQUEST_FINALIZER] },
      status: {
        conditions: [
          {
            type: "Complete",
            status: "True",
            reason: "Succeeded",
            message: "",
            lastTransitionTime: "2026-01-01T00:00:00Z",
          },
        ],
      },
    });
    await pass({ ...machine({}), release: () => releaseLock(api, NS, "app-uid", me) });
    expect(await lockHolder(api, NS, "app-uid")).toBeUndefined();
    expect(api.peek(REF)?.metadata["finalizers"] ?? []).toEqual([]);
  });
});

describe("chained steps (one pass until a step waits)", () => {
  type Chain = "Admit" | "Plan" | "Suspend" | "ScaleDown";
  // Admit and Plan chained, Suspend not (it follows a point of no return), ScaleDown chained.
  const CHAIN: readonly StepDef<Chain>[] = [
    { name: "Admit", condition: ConditionType.Admitted, chained: true },
    { name: "Plan", condition: ConditionType.Planned, chained: true },
    { name: "Suspend", condition: ConditionType.Suspended },
    { name: "ScaleDown", condition: ConditionType.WorkloadsStopped, chained: true },
  ];
  function chain(handlers: Partial<Record<Chain, StepHandler<UpgradeRequest>>>) {
    const never: StepHandler<UpgradeRequest> = () => Promise.reject(new Error("not expected"));
    const m: RequestMachine<UpgradeRequest, Chain> = {
      kind: "UpgradeRequest",
      steps: CHAIN,
      schema: UpgradeRequest,
      handlers: {
        Admit: never,
        Plan: never,
        Suspend: never,
        ScaleDown: never,
        Compensate: never,
        ...handlers,
      },
      timeoutMs: () => Promise.resolve(60_000),
      onDelete: () => Promise.resolve({ kind: "succeeded", message: "" }),
    };
    return m;
  }
  const pass = (api: FakeObjectApi, clock: FakeClock, m: RequestMachine<UpgradeRequest, Chain>) =>
    runRequest(
      m,
      { client: api, clock, log: () => undefined, events: { record: () => Promise.resolve() } },
      { namespace: NS, name: "up-1" },
      new AbortController().signal,
    );

  it("runs chained steps in one pass and writes their ends once, with the next step's start", async () => {
    const { api, clock, status, cond } = setUp();
    const ran: string[] = [];
    const step = (name: string) => () => {
      ran.push(name);
      return ok(name);
    };
    const outcome = await pass(api, clock, chain({ Admit: step("Admit"), Plan: step("Plan") }));
    expect(ran).toEqual(["Admit", "Plan"]);
    expect(api.callsOf("patchStatus")).toHaveLength(1);
    expect(cond(ConditionType.Admitted)).toMatchObject({ status: "True" });
    expect(cond(ConditionType.Planned)).toMatchObject({ status: "True" });
    expect(status().history?.map((h) => h.name)).toEqual(["Admit", "Plan"]);
    expect(status().step).toMatchObject({ name: "Suspend", deadline: "2026-01-01T00:01:00.000Z" });
    // Suspend is not chained: it runs in the next pass, on the written status.
    expect(outcome).toEqual({ kind: "requeue", afterMs: 0 });
  });

  it("a chained step's save writes the step before's end and its own start before it acts", async () => {
    const { api, clock } = setUp();
    let stored: RequestStatus | undefined;
    await pass(
      api,
      clock,
      chain({
        Admit: () => ok(),
        Plan: async (ctx) => {
          await ctx.save({ replicas: [] });
          stored = api.peek(REF)?.["status"] as RequestStatus;
          return ok();
        },
      }),
    );
    expect(stored?.conditions?.find((c) => c.type === ConditionType.Admitted)?.status).toBe("True");
    expect(stored?.step).toMatchObject({ name: "Plan", deadline: "2026-01-01T00:01:00.000Z" });
    expect(stored?.replicas).toEqual([]);
  });

  it("a chained step that throws writes what the steps before it did, with its own deadline, and retries", async () => {
    const { api, clock, status, cond } = setUp();
    const outcome = await pass(
      api,
      clock,
      chain({ Admit: () => ok(), Plan: () => Promise.reject(new Error("git fetch failed")) }),
    );
    expect(outcome).toMatchObject({ kind: "retry" });
    expect(cond(ConditionType.Admitted)).toMatchObject({ status: "True" });
    expect(status().step).toMatchObject({ name: "Plan", deadline: "2026-01-01T00:01:00.000Z" });
  });

  it("a step that waits ends the pass with one write", async () => {
    const { api, clock, status, cond } = setUp();
    // Suspend's start was written by an earlier pass; ScaleDown is chained after it.
    api.write(REF, {
      status: {
        conditions: [ConditionType.Admitted, ConditionType.Planned].map((type) => ({
          type,
          status: "True",
          reason: "Succeeded",
          message: "",
          lastTransitionTime: "2026-01-01T00:00:00Z",
        })),
        step: { name: "Suspend", startedAt: "2026-01-01T00:00:00.000Z" },
      },
    });
    const outcome = await pass(
      api,
      clock,
      chain({
        Suspend: () => ok(),
        ScaleDown: () => Promise.resolve({ kind: "waiting", message: "pods", afterMs: 5_000 }),
      }),
    );
    expect(outcome).toEqual({ kind: "requeue", afterMs: 5_000 });
    expect(api.callsOf("patchStatus")).toHaveLength(1);
    expect(cond(ConditionType.Suspended)).toMatchObject({ status: "True" });
    expect(cond(ConditionType.WorkloadsStopped)).toMatchObject({
      status: "False",
      message: "pods",
    });
    expect(status().step?.name).toBe("ScaleDown");
  });

  it("a process that dies before the pass's write re-runs the chained steps from the last written one", async () => {
    const { api, clock, cond } = setUp();
    const ran: string[] = [];
    let crash = true;
    const m = chain({
      Admit: () => {
        ran.push("Admit");
        return ok();
      },
      Plan: () => {
        ran.push("Plan");
        return ok();
      },
    });
    const dying = runRequest(
      m,
      {
        client: api,
        clock,
        log: () => undefined,
        events: { record: () => Promise.resolve() },
        afterEffect: (step) => {
          if (crash && step === "Plan") throw new Error("killed");
        },
      },
      { namespace: NS, name: "up-1" },
      new AbortController().signal,
    );
    await expect(dying).rejects.toThrow("killed");
    expect(api.callsOf("patchStatus")).toHaveLength(0);
    crash = false;
    await pass(api, clock, m);
    expect(ran).toEqual(["Admit", "Plan", "Admit", "Plan"]);
    expect(cond(ConditionType.Planned)).toMatchObject({ status: "True" });
  });
});

/** A pass of the machine with its own progress-write memory, as the module wires it. */
function progressPass(
  m: RequestMachine<UpgradeRequest, Name>,
  api: FakeObjectApi,
  clock: FakeClock,
): () => ReturnType<typeof runRequest> {
  const progress = new ProgressWrites();
  return () =>
    runRequest(
      m,
      {
        client: api,
        clock,
        log: () => undefined,
        events: { record: () => Promise.resolve() },
        progress,
      },
      { namespace: NS, name: "up-1" },
      new AbortController().signal,
    );
}

describe("progress messages of a waiting step", () => {
  it("writes a message alone at most once per interval, and anything else at once", async () => {
    const { api, clock, cond } = setUp();
    let message = "waiting for 2 pod(s)";
    const m = machine({
      Plan: () => Promise.resolve({ kind: "waiting", message, afterMs: 1_000 }),
    });
    const pass = progressPass(m, api, clock);
    await pass();
    const writes = () => api.callsOf("patchStatus").length;
    const first = writes();
    expect(cond(ConditionType.Planned)?.message).toBe("waiting for 2 pod(s)");
    message = "waiting for 1 pod(s)";
    await clock.advance(1_000);
    expect(await pass()).toEqual({ kind: "requeue", afterMs: 1_000 });
    expect(writes()).toBe(first);
    expect(cond(ConditionType.Planned)?.message).toBe("waiting for 2 pod(s)");
    await clock.advance(PROGRESS_WRITE_INTERVAL_MS);
    await pass();
    expect(writes()).toBe(first + 1);
    expect(cond(ConditionType.Planned)?.message).toBe("waiting for 1 pod(s)");
  });

  it("writes a step's first wait after its save only once the interval is over", async () => {
    const { api, clock, cond, status } = setUp();
    const m = machine({
      Plan: () => Promise.resolve({ kind: "succeeded", message: "planned" }),
      Admit: async (ctx) => {
        // The save writes the step's start and deadline, as a step does before it acts.
        if (ctx.status().replicas === undefined) await ctx.save({ replicas: [] });
        return { kind: "waiting", message: "waiting for 2 pod(s)", afterMs: 1_000 };
      },
    });
    const pass = progressPass(m, api, clock);
    await pass();
    await pass();
    const writes = () => api.callsOf("patchStatus").length;
    const first = writes();
    expect(status().step?.name).toBe("Admit");
    expect(status().replicas).toEqual([]);
    expect(cond(ConditionType.Admitted)).toBeUndefined();
    await clock.advance(PROGRESS_WRITE_INTERVAL_MS);
    await pass();
    expect(writes()).toBe(first + 1);
    expect(cond(ConditionType.Admitted)).toMatchObject({
      status: "False",
      reason: "InProgress",
      message: "waiting for 2 pod(s)",
    });
  });
});
