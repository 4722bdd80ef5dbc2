// The phase machine's imperative shell (docs/architecture.md): one pass reads the request (fresh
// from the API, unless the informer shows that nobody but us wrote it since:
// src/runtime/own-versions.ts), keeps the finalizer right, and runs idempotent handlers (or fails
// the step at once when someone asked to abort the request): one, or several chained ones until
// one waits (step-table.ts). A step's start and deadline, and what the steps before it in the
// pass reported, are written before it acts (its first save, or before its handler when it is not
// chained) and by the pass's last write. Both request controllers run their handlers through
// this one function.
import { z } from "zod";
import {
  Annotation,
  API_VERSION,
  ConditionReason,
  ConditionType,
  parseWithMessage,
  REQUEST_FINALIZER,
  type RequestStatus,
} from "../../api/index.ts";
import type { KubeApi, KubeObject, ObjectRef } from "../../kube/client.ts";
import { isKubeError } from "../../kube/errors.ts";
import type { Clock } from "../../runtime/clock.ts";
import { getCondition, setCondition, type Condition } from "../../runtime/conditions.ts";
import type { EventRecorder, EventRegarding } from "../../runtime/events.ts";
import { ensureFinalizer, hasFinalizer, removeFinalizer } from "../../runtime/finalizers.ts";
import type { LogFn } from "../../runtime/log.ts";
import { done, requeueAfter, retry, toError, type Outcome } from "../../runtime/outcome.ts";
import { StatusPatcher } from "../../runtime/status-patcher.ts";
import { isPast } from "./deadlines.ts";
import { applyResult, requestTime, type Facts, type StepResult } from "./result.ts";
import {
  isChained,
  isMilestone,
  nextStep,
  phaseOf,
  type NextStep,
  type StepDef,
  type StepName,
} from "./step-table.ts";
import type { OwnVersions } from "../../runtime/own-versions.ts";
import { onlyProgressChanged, type ProgressWrites } from "./progress-writes.ts";

/** The parts of a request every step reads. */
export interface RequestObject<Spec> {
  readonly metadata: {
    readonly name?: string | undefined;
    readonly namespace?: string | undefined;
    readonly uid?: string | undefined;
    readonly generation?: number | undefined;
    readonly deletionTimestamp?: string | undefined;
    readonly labels?: Record<string, string> | undefined;
    readonly resourceVersion?: string | undefined;
    readonly finalizers?: unknown;
    readonly [key: string]: unknown;
  };
  readonly spec: Spec & { readonly dryRun: boolean };
  readonly status?: RequestStatus | undefined;
}

export interface StepContext<R> {
  readonly request: R;
  /** The status as written so far in this pass (facts saved with `save` included). */
  readonly status: () => RequestStatus;
  /** Persists facts now, before the caller acts on the world (crash safety). */
  readonly save: (facts: Facts) => Promise<void>;
  readonly now: () => Date;
  readonly log: LogFn;
  readonly signal: AbortSignal;
  /** The steps that succeeded earlier in this same pass (chained steps), in order. */
  readonly earlier: readonly string[];
}

export type StepHandler<R> = (ctx: StepContext<R>) => Promise<StepResult>;

export interface RequestMachine<R, N extends StepName> {
  readonly kind: "UpgradeRequest" | "RollbackRequest";
  readonly steps: readonly StepDef<N>[];
  readonly schema: z.ZodType<R>;
  readonly handlers: { readonly [K in N | "Compensate"]: StepHandler<R> };
  /** The step's timeout for this request (its app's settings or the defaults). */
  readonly timeoutMs: (step: N, ctx: StepContext<R>) => Promise<number | undefined>;
  /**
   * The request is being deleted while in flight: undo what a failure at this point would undo
   * (never Git). "waiting" keeps the finalizer; "succeeded" lets it go.
   */
  readonly onDelete: StepHandler<R>;
  /**
   * Lets the app's lock go. Called only once the request's final status is written (and again
   * on a later pass while the finalizer is still there, after a crash in between): a request
   * whose last write failed keeps the app, so the next request cannot start beside it.
   */
  readonly release?: (ctx: StepContext<R>) => Promise<void>;
  /**
   * Labels the request should carry (its app's, `cairn.dev/managed-app`): they go out with the
   * finalizer, so the step that would set them later finds them there and writes nothing.
   */
  readonly labelsOf?: (request: KubeObject) => Record<string, string> | undefined;
  /** Another object that should carry the request's outcome Event too (the ManagedApp). */
  readonly alsoRegarding?: (request: R) => EventRegarding | undefined;
}

export interface RunnerDeps {
  readonly client: KubeApi;
  readonly clock: Clock;
  readonly log: LogFn;
  readonly events: Pick<EventRecorder, "record">;
  /**
   * Called after a step's handler returned (its side effects done) and before its status write:
   * a crash here is the worst moment, which is where the crash-safety tests kill the process.
   */
  readonly afterEffect?: (step: string) => void;
  readonly onStepEnd?: (kind: string, step: string, reason: string, seconds: number) => void;
  readonly onFinished?: (
    kind: string,
    reason: string,
    status: RequestStatus,
    request: RequestObject<unknown>,
  ) => void;
  /** The request as the informer holds it (by `namespace/name`). */
  readonly cached?: (key: string) => KubeObject | undefined;
  /** What this process last read and wrote of each request: most passes need no GET. */
  readonly versions?: OwnVersions;
  /** When each request's status was last written: a waiting step's message alone may wait. */
  readonly progress?: ProgressWrites;
}

/**
 * Thrown by a step (or a helper it calls) that knows retrying cannot help: the step fails at once
 * with this reason instead of retrying until its deadline (a deleted ManagedApp, say).
 */
export class StepFailedError extends Error {
  override readonly name = "StepFailedError";
  readonly reason: string;
  constructor(reason: string, message: string) {
    super(message);
    this.reason = reason;
  }
}

/**
 * The API refused a status this pass built (422: a value the CRD does not allow). Retrying would
 * send the same status forever, so the request ends instead (see rejectedStatus).
 */
export class StatusRejectedError extends Error {
  override readonly name = "StatusRejectedError";
}

/**
 * The request changed since this pass read it: a status write held against the version read
 * (metadata.resourceVersion as a precondition) got a Conflict. Someone else wrote the request
 * (another replica that took over, a user), so nothing this pass built may land on it; the next
 * pass reads the request again and resumes from what the API holds.
 */
export class StatusConflictError extends Error {
  override readonly name = "StatusConflictError";
}

/**
 * Pure: the status that ends a request whose status write the API refused, built on the status
 * the API holds (which it accepted). Before Compensate, Aborting turns True and Compensate undoes
 * what was done and releases the app's lock; if Compensate's or Finish's own write was refused,
 * Complete turns False at once.
 */
export function rejectedStatus(
  stored: RequestStatus,
  steps: readonly StepDef[],
  message: string,
  now: Date,
  generation: number,
): RequestStatus {
  const list = stored.conditions as Condition[] | undefined;
  const over =
    getCondition(list, ConditionType.Aborting)?.status === "True" ||
    nextStep(steps, list ?? []).name === "Finish";
  const conditions = setCondition(
    list,
    {
      type: over ? ConditionType.Complete : ConditionType.Aborting,
      status: over ? "False" : "True",
      reason: ConditionReason.StatusRejected,
      message,
    },
    now,
    generation,
  );
  const next: RequestStatus = { ...stored, conditions, phase: phaseOf(steps, conditions) };
  delete next.step;
  return over ? { ...next, completedAt: requestTime(now) } : next;
}

function regardingOf(obj: KubeObject): EventRegarding {
  return {
    apiVersion: obj.apiVersion,
    kind: obj.kind,
    namespace: obj.metadata.namespace ?? "",
    name: obj.metadata.name ?? "",
    uid: obj.metadata.uid ?? "",
  };
}

/**
 * One pass over one request. A pass whose status write met a Conflict ends there, having written
 * nothing more, and the request is read again from the API at once.
 */
export async function runRequest<R extends RequestObject<unknown>, N extends StepName>(
  machine: RequestMachine<R, N>,
  deps: RunnerDeps,
  key: { namespace: string; name: string },
  signal: AbortSignal,
): Promise<Outcome> {
  try {
    return await runPass(machine, deps, key, signal);
  } catch (err) {
    if (!(err instanceof StatusConflictError)) throw err;
    deps.versions?.forget(`${key.namespace}/${key.name}`);
    deps.log("info", "the request changed since this pass read it; reading it again", {
      controller: machine.kind,
      key: `${key.namespace}/${key.name}`,
    });
    return requeueAfter(0);
  }
}

async function runPass<R extends RequestObject<unknown>, N extends StepName>(
  machine: RequestMachine<R, N>,
  deps: RunnerDeps,
  key: { namespace: string; name: string },
  signal: AbortSignal,
): Promise<Outcome> {
  const ref: ObjectRef = { apiVersion: API_VERSION, kind: machine.kind, ...key };
  const cacheKey = `${key.namespace}/${key.name}`;
  const versions = deps.versions;
  // Every write to the request goes through here, so the next pass knows what the API holds.
  const wrote = (obj: KubeObject | undefined) => versions?.wrote(cacheKey, obj);
  let raw: KubeObject;
  const known = versions?.startFrom(cacheKey, deps.cached?.(cacheKey));
  if (known) {
    // The informer holds a version we read or wrote ourselves, so nobody else changed the
    // request since, and our latest answer from the API holds every write of ours.
    raw = known;
  } else {
    try {
      // Fresh from the API otherwise: the status this pass builds on must include the previous
      // pass's write, or a lagging cache would write an older status back.
      raw = await deps.client.get(ref);
    } catch (err) {
      if (isKubeError(err, "NotFound")) {
        versions?.forget(cacheKey);
        deps.progress?.forget(cacheKey);
        return done();
      }
      return retry(err);
    }
    versions?.read(cacheKey, raw);
  }
  /** The request as the API last answered, to hold the finalizer removal against. */
  let latest: KubeObject = raw;
  const patchStatus = async (next: RequestStatus) => {
    const sent = await patcher.patch(deps.client, ref, next).catch((err: unknown) => {
      if (isKubeError(err, "Conflict")) {
        throw new StatusConflictError(
          `${machine.kind} ${key.namespace}/${key.name} changed since it was read: ${toError(err).message}`,
          { cause: err },
        );
      }
      if (isKubeError(err, "Invalid")) {
        throw new StatusRejectedError(
          `the API refused the request's status, so it cannot go on: ${toError(err).message}`.slice(
            0,
            4_000,
          ),
        );
      }
      throw err;
    });
    if (sent.object) {
      latest = sent.object;
      wrote(sent.object);
    }
    deps.progress?.wrote(cacheKey, deps.clock.now().getTime());
  };
  const log = (level: Parameters<LogFn>[0], msg: string, fields?: Record<string, unknown>) =>
    deps.log(level, msg, {
      controller: machine.kind,
      key: `${key.namespace}/${key.name}`,
      ...fields,
    });
  // Fencing: every status write is held against the version this pass read (or its own last
  // write), so a write built on an old read never lands. A replica that lost its lease while it
  // was stopped mid-step, say, cannot overwrite what the new leader wrote since: its write gets a
  // Conflict (StatusConflictError above) and the pass ends. Only when the status is still the
  // one this pass read (Plan labelled the request, a user edited its metadata or spec) does the
  // write go again, against the new version.
  const patcher = StatusPatcher.from(raw, { fenced: true });
  const generation = raw.metadata.generation ?? 0;
  const parsed = parseWithMessage(machine.schema, raw);
  if (!parsed.success) {
    // CEL and OpenAPI reject most bad specs; what gets through ends the request, naming the field.
    const status = (raw["status"] ?? {}) as RequestStatus;
    if (getCondition(status.conditions as Condition[] | undefined, ConditionType.Complete))
      return done();
    const conditions = setCondition(
      status.conditions as Condition[] | undefined,
      {
        type: ConditionType.Complete,
        status: "False",
        reason: ConditionReason.InvalidSpec,
        message: parsed.message,
      },
      deps.clock.now(),
      generation,
    );
    await patchStatus({ ...status, conditions, phase: "Failed" });
    await deps.events.record(
      regardingOf(raw),
      "Warning",
      ConditionReason.InvalidSpec,
      "Validate",
      parsed.message,
    );
    if (hasFinalizer(latest, REQUEST_FINALIZER))
      wrote(await removeFinalizer(deps.client, ref, latest, REQUEST_FINALIZER));
    return done();
  }
  let request = parsed.data;
  let status: RequestStatus = structuredClone(request.status ?? {});
  // The status holds what is not written yet: a chained step's start, or the end of the step
  // before it (step-table.ts). The next save or the pass's last write carries it.
  let unwritten = false;
  const earlier: string[] = [];
  const flush = async () => {
    if (!unwritten) return;
    await patchStatus(status);
    unwritten = false;
  };
  const conditions = () => status.conditions as Condition[] | undefined;
  const ctx: StepContext<R> = {
    // The latest metadata this pass knows (the finalizer write below adds the app's label).
    get request() {
      return request;
    },
    status: () => status,
    save: async (facts) => {
      status = { ...status, ...facts };
      await patchStatus(status);
      unwritten = false;
    },
    now: () => deps.clock.now(),
    log,
    signal,
    earlier,
  };
  // Events go out in the background: the recorder never rejects (it logs its own failures), and
  // Event writes would otherwise sit on the request's critical path. A request's Events (its
  // milestones, waits, failures and outcome: runStep below) go on the request; the ManagedApp
  // gets the outcome only (`outcome`), so an app's Events stay readable.
  const record = (
    type: "Normal" | "Warning",
    reason: string,
    action: string,
    note: string,
    outcome = false,
  ) => {
    void deps.events.record(regardingOf(raw), type, reason, action, note);
    const also = outcome ? machine.alsoRegarding?.(request) : undefined;
    if (also)
      void deps.events.record(also, type, reason, action, `${machine.kind} ${key.name}: ${note}`);
    return Promise.resolve();
  };

  const complete = getCondition(conditions(), ConditionType.Complete);
  const finished = complete !== undefined && complete.status !== "Unknown";
  if (raw.metadata.deletionTimestamp !== undefined) {
    if (!hasFinalizer(raw, REQUEST_FINALIZER)) return done();
    if (!finished) {
      const result = await machine.onDelete(ctx).catch((err: unknown) => {
        log("warn", "cleanup of a deleted request failed; retrying", { err: toError(err) });
        return undefined;
      });
      if (result === undefined) return retry(new Error("cleanup failed"));
      if (result.kind === "waiting") return requeueAfter(result.afterMs ?? 5_000);
      await record("Normal", "CleanedUp", "Delete", result.message, true);
    }
    wrote(await removeFinalizer(deps.client, ref, latest, REQUEST_FINALIZER));
    return done();
  }
  if (finished) {
    // Finish and Compensate let the lock and the finalizer go; after a crash in between, do it
    // here.
    if (hasFinalizer(raw, REQUEST_FINALIZER)) {
      await machine.release?.(ctx);
      wrote(await removeFinalizer(deps.client, ref, raw, REQUEST_FINALIZER));
    }
    return done();
  }
  if (!request.spec.dryRun && !hasFinalizer(raw, REQUEST_FINALIZER)) {
    latest = await ensureFinalizer(deps.client, ref, raw, REQUEST_FINALIZER, {
      labels: machine.labelsOf?.(raw),
    });
    wrote(latest);
    // Our own metadata write moved the version on; if the status moved too, someone else wrote
    // it since our read.
    if (!patcher.rebase(latest))
      throw new StatusConflictError(`${machine.kind} ${cacheKey} changed since it was read`);
    // The steps see the labels it sent (Plan would write the app's label again otherwise).
    const relabelled = machine.schema.safeParse(latest);
    if (relabelled.success) request = relabelled.data;
  }

  try {
    return await runStep();
  } catch (err) {
    if (!(err instanceof StatusRejectedError)) throw err;
    // The stored status is what the API accepted; the request ends on it.
    const stored = (latest["status"] ?? {}) as RequestStatus;
    const ending = rejectedStatus(stored, machine.steps, err.message, deps.clock.now(), generation);
    log("warn", "status refused by the API; ending the request", { err });
    await patcher.patch(deps.client, ref, ending).then((sent) => wrote(sent.object));
    await record("Warning", ConditionReason.StatusRejected, "WriteStatus", err.message, true);
    return requeueAfter(0);
  }

  async function runStep(): Promise<Outcome> {
    const stepStart = async (name: N | "Compensate", now: Date) => {
      const timeout = name === "Compensate" ? undefined : await machine.timeoutMs(name, ctx);
      return {
        name,
        startedAt: requestTime(now),
        ...(timeout !== undefined
          ? { deadline: requestTime(new Date(now.getTime() + timeout)) }
          : {}),
      };
    };
    const abort = abortRequested(raw);
    // One step after the other while they succeed at once and the next one is chained; the pass
    // ends at the first step that waits, fails or finishes, and before a step that is not chained.
    for (;;) {
      const step = nextStep(machine.steps, conditions());
      if (step.name === "Done") {
        await flush();
        return done();
      }
      if (status.step?.name !== step.name) {
        // A step's start and deadline go to status before its first side effect: a deadline
        // that lived only in memory would restart with every crash. Usually the previous step's
        // write carried them already (below); this is the first step, or a status written by a
        // version that did not.
        const now = deps.clock.now();
        status = {
          ...status,
          startedAt: status.startedAt ?? requestTime(now),
          step: await stepStart(step.name, now),
          phase: phaseOf(machine.steps, conditions()),
        };
        unwritten = true;
      }
      // A chained step's start goes out with its first save or the pass's last write.
      if (!isChained(step)) await flush();

      const handlers: Readonly<Record<string, StepHandler<R> | undefined>> = machine.handlers;
      const handler = handlers[step.name];
      if (!handler) throw new Error(`${machine.kind} has no handler for step ${step.name}`);
      let result: StepResult;
      try {
        // An abort someone asked for fails the step at work, before it acts again: Compensate
        // then undoes what a failure here would undo, and the request stays in history.
        result =
          abort !== undefined && step.name !== "Compensate"
            ? { kind: "failed", reason: ConditionReason.Aborted, message: abort(step.name) }
            : await handler(ctx);
      } catch (err) {
        // A refused status write is no failure of the step to retry: it ends the request. A
        // conflicting one is none either: the pass ends and the next one reads the request again.
        if (err instanceof StatusRejectedError || err instanceof StatusConflictError) throw err;
        const error = toError(err);
        // Retrying cannot help: fail now (Compensate itself has nothing to fail into).
        const failNow = err instanceof StepFailedError && step.name !== "Compensate";
        if (!failNow && !isPast(status.step?.deadline, deps.clock.now())) {
          // A failure, even one that is retried: operators filter on warn to see what went
          // wrong. What the chained steps before it did is written first, with its deadline.
          log("warn", "step failed; retrying", { step: step.name, err: error });
          await flush();
          return retry(error);
        }
        result =
          err instanceof StepFailedError && failNow
            ? { kind: "failed", reason: err.reason, message: `${step.name}: ${err.message}` }
            : {
                kind: "failed",
                reason: ConditionReason.DeadlineExceeded,
                message: `${step.name} kept failing until its deadline: ${error.message}`,
              };
      }
      deps.afterEffect?.(step.name);

      const timeoutMs =
        step.name === "Compensate" ? undefined : await machine.timeoutMs(step.name, ctx);
      const current = step as Exclude<NextStep<N>, { name: "Done" }>;
      const applied = applyResult({
        steps: machine.steps,
        status,
        step: current,
        result,
        now: deps.clock.now(),
        generation,
        timeoutMs,
      });
      const previousMessage = getCondition(conditions(), current.condition)?.message;
      status = applied.status;
      unwritten = true;
      let chain = false;
      if (applied.requeueMs === 0) {
        // This step is over: the next one's start and deadline go out in this same write, which
        // still lands before the next step's first side effect; a chained next step runs now.
        const next = nextStep(machine.steps, conditions());
        if (next.name !== "Done") {
          status = { ...status, step: await stepStart(next.name, deps.clock.now()) };
          chain = isChained(next) && !signal.aborted;
        }
      }
      const final = applied.result;
      // A waiting step whose progress alone changed, soon after the last write, writes nothing
      // now: a later pass writes it (progress-writes.ts).
      const quiet =
        final.kind === "waiting" &&
        (final.reason ?? ConditionReason.InProgress) === ConditionReason.InProgress &&
        deps.progress?.recent(cacheKey, deps.clock.now().getTime()) === true &&
        onlyProgressChanged(patcher.baseline, status, current.condition);
      if (quiet) unwritten = false;
      if (!chain) await flush();
      const failedStep =
        final.kind === "failed" || (final.kind === "finished" && final.complete === "False");
      log(failedStep ? "warn" : "info", "step", {
        step: step.name,
        result: final.kind,
        message: final.message,
      });

      const ended = status.history?.at(-1);
      if (final.kind !== "waiting" && ended?.name === step.name)
        deps.onStepEnd?.(
          machine.kind,
          step.name,
          ended.reason,
          (Date.parse(ended.completedAt) - Date.parse(ended.startedAt)) / 1000,
        );
      switch (final.kind) {
        case "succeeded": {
          // A milestone (the plan, the restore point, the commit) or a step's own Event; the
          // other steps' ends are in status.history and their conditions.
          if (final.event !== undefined || isMilestone(current))
            await record(
              final.event?.type ?? "Normal",
              final.event?.reason ?? step.name,
              step.name,
              final.event?.message ?? final.message,
            );
          // Its first side effect is where a request starts changing the app: worth an Event on
          // the app too (and so a notification, with --events-addr), once.
          const also = step.name === STARTING_STEP ? machine.alsoRegarding?.(request) : undefined;
          if (also) {
            const started = startedEvent(machine.kind, key.name, status.plan?.git);
            void deps.events.record(also, "Normal", started.reason, step.name, started.message);
          }
          break;
        }
        case "waiting":
          // A new kind of wait is worth one Event; the same message every 5 s is not.
          if (
            final.message !== previousMessage &&
            (final.reason === "Waiting" || final.reason === "AwaitingApproval")
          )
            await record("Normal", final.reason, step.name, final.message);
          break;
        case "failed":
          await record("Warning", final.reason, step.name, final.message);
          break;
        case "finished":
          await record(
            final.event?.type ?? (final.complete === "True" ? "Normal" : "Warning"),
            final.event?.reason ?? final.reason,
            step.name,
            final.event?.message ?? final.message,
            true,
          );
          deps.onFinished?.(machine.kind, final.reason, status, request);
          deps.progress?.forget(cacheKey);
          // The final status is written: only now may the next request take the app.
          if (!request.spec.dryRun) await machine.release?.(ctx);
          if (hasFinalizer(latest, REQUEST_FINALIZER) || !request.spec.dryRun)
            // The answer to our last write carries its resourceVersion as the precondition;
            // should anyone have changed the request since, the helper re-reads it on the
            // Conflict.
            wrote(await removeFinalizer(deps.client, ref, latest, REQUEST_FINALIZER));
          break;
      }
      if (chain) {
        earlier.push(step.name);
        continue;
      }
      return applied.requeueMs === undefined ? done() : requeueAfter(applied.requeueMs);
    }
  }
}

/** The step whose success means a request has begun to change its app (both kinds). */
export const STARTING_STEP = "Suspend";

/** The app's Event when a request starts changing it (pure). */
export function startedEvent(
  kind: "UpgradeRequest" | "RollbackRequest",
  name: string,
  git: { readonly from: string; readonly to: string } | undefined,
): { reason: string; message: string } {
  const what = kind === "UpgradeRequest" ? "upgrade" : "rollback";
  const versions = git ? ` ${git.from} → ${git.to}` : "";
  return {
    reason: kind === "UpgradeRequest" ? "UpgradeStarted" : "RollbackStarted",
    message: `${kind} ${name}: ${what}${versions} started`,
  };
}

/**
 * The message of an abort asked for with the cairn.dev/abort annotation (the value says who or
 * when: `kubectl cairn abort` writes its time), or undefined when nobody asked.
 */
export function abortRequested(obj: KubeObject): ((step: string) => string) | undefined {
  const value = obj.metadata.annotations?.[Annotation.Abort];
  if (value === undefined) return undefined;
  const by = value.trim() === "" ? "" : ` (${value.trim().slice(0, 200)})`;
  return (step) => `${step}: aborted on request${by}, annotation ${Annotation.Abort}`;
}
