// Leader election on a coordination.k8s.io/v1 Lease, with client-go's rules, so that of several
// replicas exactly one runs the controllers.
//
// - A candidate takes the Lease by creating it, or by updating it once it is free (no holder) or
//   expired. Every update carries the resourceVersion it read as a precondition, so of two
//   candidates racing for one Lease exactly one wins; the other gets a Conflict.
// - Expiry is judged by this process's own clock: the Lease counts as expired when its record
//   (holder, times, duration) has not changed for the record's leaseDurationSeconds since we
//   first saw it in its current state. The holder's renewTime is never compared with our clock,
//   so clock skew between hosts cannot make a live leader look dead.
// - The leader renews every retry period. If it cannot renew for the renew deadline (counted from
//   the start of its last successful renewal), it stops leading: the leader signal aborts and the
//   caller is expected to exit. The deadline is shorter than the lease duration, so a leader that
//   is cut off stops before any other candidate can judge its Lease expired.
// - On graceful shutdown the leader first lets its work drain (still renewing meanwhile), then
//   releases the Lease: empty holderIdentity and leaseDurationSeconds 1, so the next candidate
//   takes over at its next attempt instead of waiting out the lease.
// - A candidate that finds its own identity in the Lease (a container restarted in the same pod)
//   takes it back at once, as client-go does: identities must be unique per process.
import type { KubeObject, ObjectRef } from "../kube/client.ts";
import { isKubeError } from "../kube/errors.ts";
import { wait, type Cancel, type Clock } from "./clock.ts";
import { silentLog, type LogFn } from "./log.ts";
import { toError } from "./outcome.ts";

/** What the elector needs from the API; KubeClient satisfies it as it is. */
export interface LeaseClient {
  get(ref: ObjectRef): Promise<KubeObject>;
  create(obj: KubeObject): Promise<KubeObject>;
  mergePatch(ref: ObjectRef, patch: Record<string, unknown>): Promise<KubeObject>;
}

export interface LeaderElectorOptions {
  readonly client: LeaseClient;
  readonly clock: Clock;
  /** The Lease's name and namespace. */
  readonly name: string;
  readonly namespace: string;
  /** Unique per replica: the pod name, say. */
  readonly identity: string;
  /** How long others wait for a silent leader. Default 35 s (as Flux). */
  readonly leaseDurationMs?: number;
  /** How long the leader keeps trying to renew before it gives up. Default 30 s. */
  readonly renewDeadlineMs?: number;
  /** Time between attempts to acquire or renew. Default 5 s. */
  readonly retryPeriodMs?: number;
  /** Up to this fraction of the retry period is added at random between acquire attempts. */
  readonly jitter?: number;
  readonly random?: () => number;
  readonly log?: LogFn;
}

export type StopReason = "lost" | "shutdown";

export interface LeaderCallbacks {
  /**
   * Called once the Lease is ours. Start the work here and stop it when `leaderSignal` aborts.
   * Return a promise that settles when the work has stopped: on shutdown the Lease is released
   * only after it settles (renewals go on meanwhile, so bound the drain yourself). A promise
   * that settles while the signal is still live means the work ended by itself: the elector then
   * steps down and releases the Lease.
   */
  onStartedLeading(leaderSignal: AbortSignal): Promise<void> | void;
  /**
   * Leadership ended: "lost" when renewal failed past the renew deadline or another holder
   * appeared (the caller should exit non-zero at once, the work may not be drained), "shutdown"
   * after a graceful stop and release.
   */
  onStoppedLeading?(reason: StopReason): void;
  /** The holder of the Lease as last observed changed (an empty string: nobody holds it). */
  onNewLeader?(identity: string): void;
}

/** How run() ended: never led before the signal aborted, stepped down cleanly, or lost. */
export type LeaderExit = "aborted" | "released" | "lost";

/** The leader-election fields of a Lease spec. */
export interface LeaseRecord {
  readonly holderIdentity: string;
  readonly leaseDurationSeconds: number | undefined;
  readonly acquireTime: string | undefined;
  readonly renewTime: string | undefined;
  readonly leaseTransitions: number;
}

interface Observation {
  readonly record: LeaseRecord;
  readonly fingerprint: string;
  /** Our clock, when we first saw the record in this state. */
  readonly at: number;
}

const DEFAULTS = { leaseDurationMs: 35_000, renewDeadlineMs: 30_000, retryPeriodMs: 5_000 };

export class LeaderElector {
  readonly #client: LeaseClient;
  readonly #clock: Clock;
  readonly #ref: ObjectRef;
  readonly #identity: string;
  readonly #leaseDurationMs: number;
  readonly #renewDeadlineMs: number;
  readonly #retryPeriodMs: number;
  readonly #jitter: number;
  readonly #random: () => number;
  readonly #log: LogFn;

  #observed: Observation | undefined;
  #leading = false;
  /** While leading: our clock's time by which the next renewal must have started. */
  #renewBy = 0;
  /** While leading: ends the term as lost (the renew deadline passed). */
  #declareLost: (() => void) | undefined;
  #running = false;
  #onNewLeader: ((identity: string) => void) | undefined;

  constructor(opts: LeaderElectorOptions) {
    this.#client = opts.client;
    this.#clock = opts.clock;
    this.#ref = {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      namespace: opts.namespace,
      name: opts.name,
    };
    this.#identity = opts.identity;
    this.#leaseDurationMs = opts.leaseDurationMs ?? DEFAULTS.leaseDurationMs;
    this.#renewDeadlineMs = opts.renewDeadlineMs ?? DEFAULTS.renewDeadlineMs;
    this.#retryPeriodMs = opts.retryPeriodMs ?? DEFAULTS.retryPeriodMs;
    this.#jitter = opts.jitter ?? 0.2;
    this.#random = opts.random ?? Math.random;
    this.#log = opts.log ?? silentLog;
    if (opts.identity === "") throw new RangeError("leader election needs a non-empty identity");
    if (
      !(this.#retryPeriodMs > 0) ||
      !(this.#renewDeadlineMs > this.#retryPeriodMs) ||
      !(this.#leaseDurationMs > this.#renewDeadlineMs)
    ) {
      throw new RangeError(
        "leader election needs lease duration > renew deadline > retry period > 0",
      );
    }
  }

  get identity(): string {
    return this.#identity;
  }

  isLeader(): boolean {
    return this.#leading;
  }

  /**
   * The fence every write of the leader's work asks first: true while this replica leads and,
   * by its own clock, its last successful renewal started less than the renew deadline ago.
   * Unlike the deadline timer, this cannot be late: a process that was stopped (SIGSTOP, a
   * frozen VM) past its lease may run I/O callbacks before any timer when it wakes, and the
   * first write they attempt finds the deadline passed here. That ends the term as lost at once
   * (the leader signal aborts, onStoppedLeading("lost") follows), and the write is not sent.
   * Since the renew deadline is shorter than the lease duration, a replica that answers true
   * here still holds the lease by every other candidate's clock.
   */
  holds(): boolean {
    if (!this.#leading) return false;
    if (this.#now() < this.#renewBy) return true;
    this.#declareLost?.();
    return false;
  }

  /** The holder as last observed; undefined before the first read. */
  observedLeader(): string | undefined {
    return this.#observed?.record.holderIdentity;
  }

  /**
   * Campaigns until the Lease is ours, leads until `signal` aborts or leadership is lost, and
   * resolves how it ended. Never rejects on API errors: they are logged and retried.
   */
  async run(signal: AbortSignal, callbacks: LeaderCallbacks): Promise<LeaderExit> {
    if (this.#running) throw new Error("this leader elector is already running");
    this.#running = true;
    this.#onNewLeader = (identity) => callbacks.onNewLeader?.(identity);
    try {
      for (;;) {
        if (signal.aborted) return "aborted";
        const attemptAt = this.#now();
        // A function, so the compiler does not take the flag for a constant across awaits.
        const stopping = () => signal.aborted;
        if (await this.#tryAcquireOrRenew(() => !stopping())) {
          if (stopping()) {
            // Won just as the shutdown came: hand it straight back, without starting work.
            await this.#release();
            return "aborted";
          }
          return await this.#lead(signal, callbacks, attemptAt);
        }
        const jitterMs = this.#retryPeriodMs * this.#jitter * this.#random();
        await wait(this.#clock, this.#retryPeriodMs + jitterMs, signal);
      }
    } finally {
      this.#leading = false;
      this.#running = false;
    }
  }

  async #lead(
    signal: AbortSignal,
    callbacks: LeaderCallbacks,
    acquiredAt: number,
  ): Promise<LeaderExit> {
    this.#leading = true;
    this.#log("info", "became the leader", this.#fields({}));
    const leaderAbort = new AbortController();
    const stopRenewing = new AbortController();
    const lost = latch();
    const stepDown = latch();

    // The renew deadline is a timer of its own, so a renewal request that hangs cannot keep
    // us leading past it.
    let cancelDeadline: Cancel = () => undefined;
    const armDeadline = (renewedAt: number) => {
      this.#renewBy = renewedAt + this.#renewDeadlineMs;
      cancelDeadline();
      cancelDeadline = this.#clock.setTimeout(
        () => {
          this.#log(
            "error",
            "could not renew the lease within the renew deadline",
            this.#fields({ renewDeadlineMs: this.#renewDeadlineMs }),
          );
          lost.open();
        },
        renewedAt + this.#renewDeadlineMs - this.#now(),
      );
    };
    armDeadline(acquiredAt);
    this.#declareLost = () => {
      if (lost.isOpen) return;
      this.#log(
        "error",
        "the renew deadline passed before the lease was renewed",
        this.#fields({ renewDeadlineMs: this.#renewDeadlineMs }),
      );
      lost.open();
    };

    // A function, so the compiler does not take the flags for constants across awaits.
    const over = () => stopRenewing.signal.aborted || lost.isOpen;
    const renewing = (async () => {
      while (!over()) {
        await wait(this.#clock, this.#retryPeriodMs, stopRenewing.signal);
        if (over()) return;
        const attemptAt = this.#now();
        const renewed = await this.#tryAcquireOrRenew(() => !over());
        if (over()) return;
        if (renewed) {
          armDeadline(attemptAt);
          continue;
        }
        const holder = this.#observed?.record.holderIdentity ?? "";
        if (holder !== "" && holder !== this.#identity) {
          this.#log("error", "another candidate holds the lease", this.#fields({ holder }));
          lost.open();
          return;
        }
      }
    })();

    const onAbort = () => stepDown.open();
    signal.addEventListener("abort", onAbort, { once: true });
    if (signal.aborted) stepDown.open();

    let work: Promise<void> | undefined;
    try {
      const started = callbacks.onStartedLeading(leaderAbort.signal);
      if (started) {
        work = started.then(
          () => undefined,
          (err: unknown) =>
            this.#log("error", "the leader's work failed", this.#fields({ err: toError(err) })),
        );
        void work.then(() => stepDown.open());
      }
    } catch (err) {
      this.#log("error", "the leader's work failed to start", this.#fields({ err: toError(err) }));
      stepDown.open();
    }

    await Promise.race([lost.promise, stepDown.promise]);
    signal.removeEventListener("abort", onAbort);
    if (lost.isOpen) {
      // Nothing of the work may act any more, not even while it winds down.
      this.#leading = false;
      this.#renewBy = 0;
    }
    leaderAbort.abort();
    // Keep renewing while the work drains, so nobody else starts on the same keys meanwhile;
    // the deadline may still pass, and then leadership is lost after all.
    if (!lost.isOpen && work) await Promise.race([work, lost.promise]);
    stopRenewing.abort();
    cancelDeadline();
    this.#leading = false;
    this.#renewBy = 0;
    this.#declareLost = undefined;
    if (lost.isOpen) {
      this.#safely(() => callbacks.onStoppedLeading?.("lost"));
      return "lost";
    }
    await this.#settle(renewing);
    await this.#release();
    this.#safely(() => callbacks.onStoppedLeading?.("shutdown"));
    return "released";
  }

  /** Waits for an in-flight renewal to finish, for at most one retry period. */
  async #settle(renewing: Promise<void>): Promise<void> {
    const bound = new AbortController();
    await Promise.race([
      renewing.then(() => bound.abort()),
      wait(this.#clock, this.#retryPeriodMs, bound.signal),
    ]);
    bound.abort();
  }

  /**
   * Hands the Lease back: no holder, and a lease of one second for candidates that judge by
   * duration. Conditional on the version read, retried once on a Conflict (a renewal that was
   * still in flight); skipped if the Lease is no longer ours.
   */
  async #release(): Promise<void> {
    for (let attempt = 1; attempt <= 3; attempt++) {
      try {
        const lease = await this.#client.get(this.#ref);
        const record = parseLeaseRecord(lease);
        this.#observe(record);
        if (record.holderIdentity !== this.#identity) return;
        const now = microTime(this.#clock.now());
        await this.#client.mergePatch(this.#ref, {
          metadata: { resourceVersion: lease.metadata.resourceVersion },
          spec: {
            holderIdentity: "",
            leaseDurationSeconds: 1,
            acquireTime: now,
            renewTime: now,
            leaseTransitions: record.leaseTransitions,
          },
        });
        this.#log("info", "released the lease", this.#fields({}));
        return;
      } catch (err) {
        if (isKubeError(err, "Conflict") && attempt < 3) continue;
        this.#log("warn", "could not release the lease", this.#fields({ err: toError(err) }));
        return;
      }
    }
  }

  /**
   * One attempt: true when the Lease is ours afterwards. API failures count as "not ours".
   * `proceed` is asked again after the read, so that an answer arriving after leadership ended
   * (a request that hung past the deadline) does not renew a lease we no longer act on.
   */
  async #tryAcquireOrRenew(proceed: () => boolean = () => true): Promise<boolean> {
    const durationSeconds = Math.ceil(this.#leaseDurationMs / 1000);
    let lease: KubeObject;
    try {
      lease = await this.#client.get(this.#ref);
    } catch (err) {
      if (!isKubeError(err, "NotFound")) {
        this.#log("warn", "could not read the lease", this.#fields({ err: toError(err) }));
        return false;
      }
      if (!proceed()) return false;
      const now = microTime(this.#clock.now());
      try {
        const created = await this.#client.create({
          apiVersion: this.#ref.apiVersion,
          kind: this.#ref.kind,
          metadata: { name: this.#ref.name, namespace: this.#ref.namespace },
          spec: {
            holderIdentity: this.#identity,
            leaseDurationSeconds: durationSeconds,
            acquireTime: now,
            renewTime: now,
            leaseTransitions: 0,
          },
        });
        this.#observe(parseLeaseRecord(created));
        return true;
      } catch (createErr) {
        // AlreadyExists: another candidate created it first; we will see it on the next read.
        this.#log("debug", "could not create the lease", this.#fields({ err: toError(createErr) }));
        return false;
      }
    }

    const record = parseLeaseRecord(lease);
    this.#observe(record);
    if (!proceed()) return false;
    const holder = record.holderIdentity;
    const ours = holder === this.#identity;
    if (!ours && holder !== "" && !this.#expired()) return false;

    const now = microTime(this.#clock.now());
    const spec = ours
      ? {
          holderIdentity: this.#identity,
          leaseDurationSeconds: durationSeconds,
          acquireTime: record.acquireTime ?? now,
          renewTime: now,
          leaseTransitions: record.leaseTransitions,
        }
      : {
          holderIdentity: this.#identity,
          leaseDurationSeconds: durationSeconds,
          acquireTime: now,
          renewTime: now,
          leaseTransitions: record.leaseTransitions + 1,
        };
    try {
      const updated = await this.#client.mergePatch(this.#ref, {
        metadata: { resourceVersion: lease.metadata.resourceVersion },
        spec,
      });
      this.#observe(parseLeaseRecord(updated));
      if (!ours) this.#log("info", "took over the lease", this.#fields({ from: holder }));
      return true;
    } catch (err) {
      // Conflict: someone else wrote the Lease between our read and our write.
      this.#log(
        isKubeError(err, "Conflict") ? "debug" : "warn",
        ours ? "could not renew the lease" : "could not take the lease",
        this.#fields({ err: toError(err) }),
      );
      return false;
    }
  }

  /** Notes the record; the observation time moves only when the record changed. */
  #observe(record: LeaseRecord): void {
    const fingerprint = JSON.stringify(record);
    const previous = this.#observed;
    if (previous?.fingerprint === fingerprint) return;
    this.#observed = { record, fingerprint, at: this.#now() };
    if (previous?.record.holderIdentity !== record.holderIdentity) {
      this.#log("info", "observed a new leader", this.#fields({ holder: record.holderIdentity }));
      this.#safely(() => this.#onNewLeader?.(record.holderIdentity));
    }
  }

  /** By our clock: the record has not changed for its lease duration since we first saw it. */
  #expired(): boolean {
    const observed = this.#observed;
    if (!observed) return false;
    const seconds = observed.record.leaseDurationSeconds;
    const durationMs =
      seconds !== undefined && seconds > 0 ? seconds * 1000 : this.#leaseDurationMs;
    return this.#now() - observed.at >= durationMs;
  }

  #now(): number {
    return this.#clock.now().getTime();
  }

  #safely(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#log("error", "a leader election callback failed", this.#fields({ err: toError(err) }));
    }
  }

  #fields(extra: Record<string, unknown>): Record<string, unknown> {
    return {
      lease: `${this.#ref.namespace ?? ""}/${this.#ref.name}`,
      identity: this.#identity,
      ...extra,
    };
  }
}

interface Latch {
  readonly promise: Promise<void>;
  readonly isOpen: boolean;
  open(): void;
}

/** A one-way switch with a promise that resolves when it is opened. */
function latch(): Latch {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  let isOpen = false;
  return {
    promise,
    get isOpen() {
      return isOpen;
    },
    open() {
      isOpen = true;
      resolve();
    },
  };
}

/** Reads the leader-election fields of a Lease; missing or mistyped fields read as unset. */
export function parseLeaseRecord(lease: KubeObject): LeaseRecord {
  const spec = lease["spec"];
  const s = typeof spec === "object" && spec !== null ? (spec as Record<string, unknown>) : {};
  const str = (v: unknown) => (typeof v === "string" ? v : undefined);
  const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : undefined);
  return {
    holderIdentity: str(s["holderIdentity"]) ?? "",
    leaseDurationSeconds: num(s["leaseDurationSeconds"]),
    acquireTime: str(s["acquireTime"]),
    renewTime: str(s["renewTime"]),
    leaseTransitions: num(s["leaseTransitions"]) ?? 0,
  };
}

/** metav1.MicroTime, as Lease times are written: RFC 3339 with six fractional digits. */
function microTime(date: Date): string {
  return date.toISOString().replace(/Z$/, "000Z");
}
