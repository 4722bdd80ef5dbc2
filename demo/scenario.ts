// The whole story on a running test bed (full profile): Cairn installed from deploy/ under its
// own ServiceAccount, a Flux-managed demo app with data in its StatefulSet's volume, then, with
// the kubectl plugin's own commands and live display: a dry-run plan with its diff, an upgrade to
// 1.1.0, an upgrade to the broken 2.0.0 that fails its health check and is rolled back by Cairn
// (the volume's bytes checked against the pre-upgrade snapshot), and a summary of every request.
// `npm run demo` (demo/main.ts) starts a bed and runs this; test/e2e/demo.test.ts runs it on the
// test tier's bed.
import { execFile } from "node:child_process";
import { homedir } from "node:os";
import { promisify } from "node:util";
import { setTimeout as delay } from "node:timers/promises";
import { ConditionType } from "../src/api/conditions.ts";
import { API_VERSION, Kind, Label } from "../src/api/group.ts";
import { listRollbacks, listUpgrades } from "../src/cli/cluster.ts";
import type { CommandContext } from "../src/cli/context.ts";
import { ExitCode } from "../src/cli/errors.ts";
import { renderOutcome } from "../src/cli/format/progress.ts";
import type { Writer } from "../src/cli/live.ts";
import { main as kubectlCairn } from "../src/cli/main.ts";
import { outcomeOf, requestsOfApp, type AnyRequest } from "../src/cli/requests.ts";
import { parseRequest, watchRequest } from "../src/cli/watch-request.ts";
import { KubeClient, type KubeObject } from "../src/kube/client.ts";
import { isKubeError } from "../src/kube/errors.ts";
import { LocalCairn } from "../testbed/src/cairn.ts";
import type { GitAccess } from "../testbed/src/cluster.ts";
import {
  chartVersionInGit,
  createNamespace,
  DEMO_RELEASE_PATH,
  installManagedDemo,
} from "../testbed/src/demo-app.ts";
import { fixtureGitEnv, repoPath } from "../testbed/src/git-fixtures.ts";
import { eventually } from "../testbed/src/poll.ts";
import { isAlive } from "../testbed/src/process.ts";
import { volumeFolder } from "../testbed/src/volumes.ts";
import { appendFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { demoBytes, differences, digestFolder, fingerprint, type VolumeDigest } from "./data.ts";
import { Display } from "./display.ts";
import { renderSummary, summaryRows, type SummaryRow } from "./summary.ts";
import { Teardown } from "./teardown.ts";

export const APP = "demo";
/** The StatefulSet's volume (volumeClaimTemplate `data` of StatefulSet demo-db). */
export const DB_PVC = "data-demo-db-0";
export const FROM = "1.0.0";
export const GOOD = "1.1.0";
export const BROKEN = "2.0.0";

/** The plugin commands the demo runs, as a reader types them (the demo adds -n <namespace>). */
export const COMMANDS = {
  status: `kubectl cairn status ${APP}`,
  plan: `kubectl cairn plan ${APP} --to ${GOOD}`,
  upgrade: `kubectl cairn upgrade ${APP} --to ${GOOD} --watch`,
  broken: `kubectl cairn upgrade ${APP} --to ${BROKEN} --watch`,
  history: `kubectl cairn history ${APP}`,
} as const;

export const INTRO =
  "Cairn demo: a Flux-managed app with data, planned, upgraded, broken and rolled back, data included.";

/** Cairn's controller running already, e.g. under the supervisor of a kept cluster. */
export interface RunningCairn {
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly pid: number;
  readonly logFile: string;
}

export interface DemoOptions {
  /** The cluster's admin kubeconfig; the plugin acts as this user. */
  readonly kubeconfig: string;
  readonly git: GitAccess;
  readonly helmRepoUrl: string;
  readonly out: Writer;
  /** Stage numbering and timing shared with the caller's own stages; default a fresh one on out. */
  readonly display?: Display;
  /** Leave the demo app (and the Cairn that runDemo installed) in the cluster at the end. */
  readonly keep?: boolean;
  /** Use this controller instead of installing deploy/ and running one for the demo's length. */
  readonly cairn?: RunningCairn;
  /** Suffix for Cairn's namespace and cluster-scoped RBAC ("-demo": cairn-demo); default none. */
  readonly suffix?: string;
  /** The demo app's namespace; default "demo". */
  readonly namespace?: string;
  /** Where runDemo registers what it started; run by runDemo at the end unless keep is set. */
  readonly teardown?: Teardown;
  /** The longest wait for one request; default 5 minutes. */
  readonly requestTimeoutMs?: number;
}

export interface DemoResult {
  readonly namespace: string;
  readonly cairnNamespace: string;
  /** Every request of the app, oldest first. */
  readonly rows: readonly SummaryRow[];
  readonly plan: SummaryRow;
  readonly upgrade: SummaryRow;
  readonly broken: SummaryRow;
  readonly rollback: SummaryRow;
  readonly data: {
    /** Fingerprints of the database volume: before 2.0.0, after its "migration", after the rollback. */
    readonly beforeBroken: string;
    readonly migrated: string;
    readonly afterRollback: string;
  };
  readonly chartInGit: string | undefined;
  readonly summary: string;
}

/** A step of the story did not turn out as it must; the message says which and why. */
export class DemoError extends Error {
  override readonly name = "DemoError";
}

interface Controller {
  readonly describe: string;
  readonly namespace: string;
  /** Throws (with the log's last lines) when the controller is gone. */
  check(): void;
  /** Resolves when the controller dies. */
  readonly died: Promise<string>;
}

const NEVER = new Promise<never>(() => undefined);

export async function runDemo(opts: DemoOptions): Promise<DemoResult> {
  const teardown = opts.teardown ?? new Teardown();
  const show = opts.display ?? new Display(opts.out);
  const admin = KubeClient.fromKubeconfigFile(opts.kubeconfig);
  const ns = opts.namespace ?? APP;
  const requestTimeoutMs = opts.requestTimeoutMs ?? 5 * 60_000;
  const ctx: CommandContext = {
    client: admin,
    namespace: ns,
    output: "table",
    stdout: opts.out,
    stderr: opts.out,
    now: () => new Date(),
  };
  let controller: Controller | undefined;
  let failed = false;

  /** Bounds a wait: the request's timeout, and the controller dying. */
  async function guarded<T>(what: string, work: Promise<T>, timeoutMs = requestTimeoutMs) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new DemoError(`${what} did not finish within ${timeoutMs / 1000} s`)),
        timeoutMs,
      );
    });
    const died = (controller?.died ?? NEVER).then((why) => {
      throw new DemoError(`Cairn's controller stopped while waiting for ${what}: ${why}`);
    });
    try {
      return await Promise.race([work, timeout, died]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Runs the plugin as `kubectl cairn <command> -n <ns>` would, printing what it prints. */
  async function plugin(command: string): Promise<ExitCode> {
    const argv = [...command.replace(/^kubectl cairn /, "").split(" "), "-n", ns];
    show.command(`kubectl cairn ${argv.join(" ")}`);
    return guarded(
      command,
      kubectlCairn(argv, {
        stdout: opts.out,
        stderr: opts.out,
        env: { KUBECONFIG: opts.kubeconfig },
        home: homedir(),
        now: () => new Date(),
      }),
    );
  }

  async function requests(): Promise<AnyRequest[]> {
    const [upgrades, rollbacks] = await Promise.all([
      listUpgrades(admin, ns),
      listRollbacks(admin, ns),
    ]);
    return requestsOfApp(APP, upgrades, rollbacks);
  }

  /** The one UpgradeRequest created since `before` was taken (a rollback it started aside). */
  async function newUpgrade(before: ReadonlySet<string>, what: string): Promise<AnyRequest> {
    const created = (await requests()).filter(
      (r) => r.kind === Kind.UpgradeRequest && !before.has(r.metadata.name),
    );
    const [one, ...more] = created;
    if (!one || more.length > 0) {
      throw new DemoError(`expected one new request for ${what}, found ${created.length}`);
    }
    return one;
  }

  const names = async () => new Set((await requests()).map((r) => r.metadata.name));
  const dbFolder = () => volumeFolder(admin, ns, DB_PVC);

  try {
    if (!opts.display) show.line(INTRO);

    // ── 1. Cairn ──────────────────────────────────────────────────────────────────────────
    show.stage("Install Cairn");
    controller = await startController(opts, admin, teardown, show);

    // ── 2. The demo app ───────────────────────────────────────────────────────────────────
    show.stage(`Create the demo app (chart demo ${FROM}, managed by Flux from Git)`);
    const app = await createApp(opts, admin, ns, teardown, show, controller);
    const db = await dbFolder();
    await writeFile(join(db, "orders.db"), demoBytes(`orders at ${FROM}`, 192 * 1024));
    await writeFile(join(db, "schema_version"), "1\n");
    show.line(
      `wrote 192 KiB into PVC ${DB_PVC} (orders.db, schema_version 1): ` +
        `fingerprint ${short(fingerprint(await digestFolder(db)))}`,
    );
    await plugin(COMMANDS.status);

    // ── 3. Plan ───────────────────────────────────────────────────────────────────────────
    show.stage(`Plan ${FROM} → ${GOOD} (a dry run: nothing changes)`);
    let before = await names();
    const planExit = await plugin(COMMANDS.plan);
    const plan = await newUpgrade(before, "the plan");
    expectOutcome(plan, "DryRunSucceeded", "the dry run");
    if (planExit !== ExitCode.Ok) throw new DemoError(`kubectl cairn plan exited ${planExit}`);

    // ── 4. Upgrade ────────────────────────────────────────────────────────────────────────
    show.stage(`Upgrade ${FROM} → ${GOOD}`);
    before = await names();
    const upgradeExit = await plugin(COMMANDS.upgrade);
    const upgrade = await newUpgrade(before, `the upgrade to ${GOOD}`);
    expectOutcome(upgrade, "Succeeded", `the upgrade to ${GOOD}`);
    if (upgradeExit !== ExitCode.Ok)
      throw new DemoError(`kubectl cairn upgrade exited ${upgradeExit}`);
    // The app goes on writing at 1.1.0: the next snapshot must hold these bytes too.
    await appendFile(
      join(await dbFolder(), "orders.db"),
      demoBytes(`orders at ${GOOD}`, 64 * 1024),
    );
    const beforeBroken = await digestFolder(await dbFolder());
    show.line(
      `the app wrote 64 KiB more at ${GOOD}: PVC ${DB_PVC} fingerprint ${short(fingerprint(beforeBroken))}`,
    );

    // ── 5. The broken upgrade and the automatic rollback ──────────────────────────────────
    show.stage(`Upgrade ${GOOD} → ${BROKEN} (broken: its pods never schedule)`);
    show.line(
      `The ManagedApp has autoRollback: true. Once Cairn has committed ${BROKEN}, the demo rewrites ` +
        `the database volume (standing in for the schema migration the new version would run).`,
    );
    before = await names();
    const stopMigration = new AbortController();
    const migration = migrateAfterCommit(admin, ns, before, stopMigration.signal, async () => {
      const folder = await dbFolder();
      await writeFile(
        join(folder, "orders.db"),
        demoBytes(`orders migrated to ${BROKEN}`, 300 * 1024),
      );
      await writeFile(join(folder, "schema_version"), "2\n");
      const digest = await digestFolder(folder);
      show.interject(
        `  ⚙ ${BROKEN} is committed: migrated PVC ${DB_PVC} (orders.db rewritten, schema_version 2), ` +
          `fingerprint ${short(fingerprint(digest))}`,
      );
      return digest;
    });
    // Settled at once either way, so a failed write is reported here rather than unhandled.
    const migrationResult = migration.then(
      (digest) => ({ digest, error: undefined }),
      (error: unknown) => ({ digest: undefined, error }),
    );
    let brokenExit: ExitCode;
    try {
      brokenExit = await plugin(COMMANDS.broken);
    } finally {
      stopMigration.abort();
    }
    const { digest: migrated, error: migrationError } = await migrationResult;
    if (migrationError !== undefined) {
      throw migrationError instanceof Error
        ? migrationError
        : new Error(`migration failed: ${JSON.stringify(migrationError)}`);
    }
    const broken = await newUpgrade(before, `the upgrade to ${BROKEN}`);
    expectOutcome(broken, "RollbackTriggered", `the upgrade to ${BROKEN}`);
    if (brokenExit !== ExitCode.Failure) {
      throw new DemoError(`kubectl cairn upgrade to ${BROKEN} exited ${brokenExit}, not 1`);
    }
    if (!migrated) throw new DemoError(`the upgrade to ${BROKEN} never reported its commit`);
    const rollbackName = broken.status?.rollbackRef?.name;
    if (!rollbackName) throw new DemoError(`the upgrade to ${BROKEN} names no rollback`);
    show.line();
    show.line(`Following rollbackrequest/${rollbackName}, which Cairn created:`);
    const rollbackObj = await admin.get({
      apiVersion: API_VERSION,
      kind: Kind.RollbackRequest,
      namespace: ns,
      name: rollbackName,
    });
    const { request: rollback } = await guarded(
      `rollbackrequest ${rollbackName}`,
      watchRequest(ctx, rollbackObj, { timeoutMs: 0, steps: true }),
    );
    for (const line of renderOutcome(rollback)) show.line(line);
    expectOutcome(rollback, "Succeeded", `rollbackrequest ${rollbackName}`);

    // ── 6. Check ──────────────────────────────────────────────────────────────────────────
    show.stage("Check: data, Git and the running version");
    const afterRollback = await digestFolder(await dbFolder());
    const diff = differences(beforeBroken, afterRollback);
    if (diff.length > 0) {
      throw new DemoError(
        `PVC ${DB_PVC} after the rollback differs from its pre-upgrade snapshot: ${diff.join(", ")}`,
      );
    }
    show.line(
      `✓ PVC ${DB_PVC} holds exactly the bytes of the pre-upgrade snapshot ` +
        `(${describeDigest(afterRollback)}; fingerprint ${short(fingerprint(afterRollback))}), ` +
        `the migration's writes (${short(fingerprint(migrated))}) are gone`,
    );
    const chartInGit = await chartVersionInGit(opts.git, app.repo);
    if (chartInGit !== GOOD) {
      throw new DemoError(`${DEMO_RELEASE_PATH} holds ${chartInGit ?? "no version"}, not ${GOOD}`);
    }
    show.line(`✓ Git: ${DEMO_RELEASE_PATH} is back at ${GOOD}; the repository's history:`);
    for (const line of await gitLog(opts.git.root, app.repo, 3)) show.line(`    ${line}`);
    const release = await admin.get({
      apiVersion: "helm.toolkit.fluxcd.io/v2",
      kind: "HelmRelease",
      namespace: ns,
      name: APP,
    });
    const deployed = (release["status"] as { history?: { chartVersion?: string }[] } | undefined)
      ?.history?.[0]?.chartVersion;
    if (deployed !== GOOD) {
      throw new DemoError(`HelmRelease ${APP} runs chart ${deployed ?? "?"}, not ${GOOD}`);
    }
    show.line(`✓ Flux: HelmRelease ${APP} runs chart ${GOOD} again`);
    controller.check();
    await plugin(COMMANDS.history);

    // ── Summary ───────────────────────────────────────────────────────────────────────────
    show.stage("Summary");
    const rows = summaryRows(await requests());
    const summary = renderSummary(rows);
    show.out.write(summary);
    const row = (name: string) => rows.find((r) => r.name === name) as SummaryRow;
    return {
      namespace: ns,
      cairnNamespace: controller.namespace,
      rows,
      plan: row(plan.metadata.name),
      upgrade: row(upgrade.metadata.name),
      broken: row(broken.metadata.name),
      rollback: row(rollback.metadata.name),
      data: {
        beforeBroken: fingerprint(beforeBroken),
        migrated: fingerprint(migrated),
        afterRollback: fingerprint(afterRollback),
      },
      chartInGit,
      summary,
    };
  } catch (err) {
    failed = true;
    // Interrupted (Ctrl-C): the caller is stopping everything; what broke is only that.
    if (teardown.started) throw err;
    show.endStage();
    show.line();
    show.line(`✗ the demo failed: ${err instanceof Error ? err.message : String(err)}`);
    const sofar = await requests().catch(() => []);
    if (sofar.length > 0) {
      show.line("Requests so far:");
      show.out.write(renderSummary(summaryRows(sofar)));
    }
    const log = controller ? controllerLogHint(controller) : "";
    if (log) show.line(log);
    throw err;
  } finally {
    if (!failed) show.endStage();
    if (!opts.keep) await teardown.run((line) => show.line(`warning: ${line}`));
  }
}

/**
 * On a shared cluster (a suffix given) the demo's controller acts only on the demo's app, as
 * every test's controller does on its own (test/support/controller.ts); alone, on every app.
 */
function demoLabels(opts: DemoOptions): Record<string, string> {
  return opts.suffix && !opts.cairn ? { "cairn.dev/test": `cairn${opts.suffix}` } : {};
}

function short(hex: string): string {
  return hex.slice(0, 12);
}

function describeDigest(digest: VolumeDigest): string {
  return Object.entries(digest)
    .map(([path, f]) => `${path} ${f.bytes} B`)
    .join(", ");
}

function controllerLogHint(controller: Controller): string {
  return `Cairn's controller: ${controller.describe}`;
}

function expectOutcome(request: AnyRequest, reason: string, what: string): void {
  const outcome = outcomeOf(request.status);
  if (outcome.state !== "succeeded" && outcome.state !== "failed") {
    throw new DemoError(`${what} has not finished (${outcome.state})`);
  }
  if (outcome.reason !== reason) {
    throw new DemoError(
      `${what} ended with ${outcome.reason}${outcome.message ? ` (${outcome.message})` : ""}, not ${reason}`,
    );
  }
}

async function startController(
  opts: DemoOptions,
  admin: KubeClient,
  teardown: Teardown,
  show: Display,
): Promise<Controller> {
  if (opts.cairn) {
    const running = opts.cairn;
    show.line(
      `Cairn was installed from deploy/ with the cluster: namespace ${running.namespace}, ` +
        `ServiceAccount ${running.serviceAccount} (its token and RBAC); controller pid ${running.pid}, ` +
        `log ${running.logFile}`,
    );
    const died = (async () => {
      while (isAlive(running.pid)) await delay(1000);
      return `pid ${running.pid} is gone; see ${running.logFile}`;
    })();
    return {
      describe: `pid ${running.pid}, log ${running.logFile}`,
      namespace: running.namespace,
      check: () => {
        if (!isAlive(running.pid)) throw new DemoError(`Cairn (pid ${running.pid}) is not running`);
      },
      died,
    };
  }
  const cairn = await show.waiting("installing Cairn from deploy/", async () => {
    const prepared = await LocalCairn.prepare({
      admin,
      clusterKubeconfig: opts.kubeconfig,
      ...(opts.suffix ? { suffix: opts.suffix } : {}),
      labels: demoLabels(opts),
    });
    teardown.add("uninstall Cairn", () => (opts.keep ? prepared.stop() : prepared.cleanup()));
    await prepared.start();
    return prepared;
  });
  const proc = cairn.process;
  if (!proc?.running) {
    throw new DemoError(
      `Cairn's controller ${proc?.describeExit() ?? "did not start"}:\n${cairn.logTail()}`,
    );
  }
  show.line(
    `applied deploy/'s Namespace, ServiceAccount and RBAC: Cairn runs in namespace ${cairn.namespace} ` +
      `as ServiceAccount ${cairn.serviceAccount}, with that account's token`,
  );
  show.line(`controller pid ${proc.pid}, log ${cairn.logFile}`);
  return {
    describe: `${proc.describeExit()}; last lines of ${cairn.logFile}:\n${cairn.logTail(15)}`,
    namespace: cairn.namespace,
    check: () => {
      if (!proc.running) {
        throw new DemoError(`Cairn's controller ${proc.describeExit()}:\n${cairn.logTail(15)}`);
      }
    },
    died: proc.exited.then(() => `it ${proc.describeExit()}:\n${cairn.logTail(15)}`),
  };
}

async function createApp(
  opts: DemoOptions,
  admin: KubeClient,
  ns: string,
  teardown: Teardown,
  show: Display,
  controller: Controller,
) {
  await createNamespace(admin, ns);
  teardown.add(`delete namespace ${ns}`, async () => {
    try {
      await admin.delete({ apiVersion: "v1", kind: "Namespace", name: ns });
    } catch (err) {
      if (!isKubeError(err, "NotFound")) throw err;
    }
  });
  const app = await installManagedDemo(admin, opts.git, opts.helmRepoUrl, {
    namespace: ns,
    repo: `${ns}-config`,
    // Helm gives up on the broken release after 15 s and Cairn's health check after 30 s, so
    // the failure shows in well under a minute.
    helmTimeout: "15s",
    labels: demoLabels(opts),
    spec: {
      autoRollback: true,
      timeouts: { health: "30s" },
    },
  });
  show.line(
    `Git repository ${app.repoUrl}: ${DEMO_RELEASE_PATH} (HelmRelease ${APP}, chart ${FROM})`,
  );
  show.line(
    `namespace ${ns}: GitRepository config → Kustomization apps → HelmRelease ${APP}; ` +
      `ManagedApp ${APP} (snapshots on, autoRollback, health timeout 30s)`,
  );
  let phase = "Flux";
  await show.waiting(
    `Flux installing chart ${FROM} and Cairn reading the app`,
    () =>
      eventually(
        "the demo app running and Ready",
        async () => {
          controller.check();
          const managed = await admin.get({
            apiVersion: API_VERSION,
            kind: Kind.ManagedApp,
            namespace: ns,
            name: APP,
          });
          phase = "the ManagedApp Ready";
          if (!readyNow(managed)) return undefined;
          phase = `PVC ${DB_PVC} bound`;
          const pvc = await admin.get({
            apiVersion: "v1",
            kind: "PersistentVolumeClaim",
            namespace: ns,
            name: DB_PVC,
          });
          return (pvc["status"] as { phase?: string } | undefined)?.phase === "Bound"
            ? true
            : undefined;
        },
        { timeoutMs: 4 * 60_000, intervalMs: 500 },
      ),
    () => `waiting for ${phase}`,
  );
  show.line(
    `✓ StatefulSet demo-db (PVC ${DB_PVC}) and Deployment demo-web (PVC demo-uploads) run chart ${FROM}; ManagedApp ${APP} is Ready`,
  );
  return app;
}

function readyNow(obj: KubeObject): boolean {
  const status = obj["status"] as
    | {
        observedGeneration?: number;
        conditions?: { type: string; status: string; observedGeneration?: number }[];
      }
    | undefined;
  const ready = status?.conditions?.find((c) => c.type === ConditionType.Ready);
  return ready?.status === "True" && status?.observedGeneration === obj.metadata.generation;
}

/**
 * Waits (in the background) for a new UpgradeRequest of the app to report Committed=True, then
 * runs migrate; resolves with its result, or undefined when stopped first.
 */
async function migrateAfterCommit<T>(
  admin: KubeClient,
  ns: string,
  before: ReadonlySet<string>,
  signal: AbortSignal,
  migrate: () => Promise<T>,
): Promise<T | undefined> {
  while (!signal.aborted) {
    try {
      const { items } = await admin.list(API_VERSION, Kind.UpgradeRequest, {
        namespace: ns,
        labelSelector: `${Label.ManagedApp}=${APP}`,
      });
      const committed = items.find(
        (r) =>
          !before.has(r.metadata.name ?? "") &&
          parseRequest(r).status?.conditions?.some(
            (c) => c.type === ConditionType.Committed && c.status === "True",
          ),
      );
      if (committed) return await migrate();
    } catch (err) {
      if (err instanceof DemoError) throw err;
      // A failed read is retried; the upgrade's own wait reports real trouble.
    }
    await delay(250, undefined, { signal }).catch(() => undefined);
  }
  return undefined;
}

/** The newest commits of a bare repository on the Git server, one line each. */
async function gitLog(root: string, repo: string, count: number): Promise<string[]> {
  const { stdout } = await promisify(execFile)(
    "git",
    ["--git-dir", repoPath(root, repo), "log", "--format=%h %s", `-${count}`, "main"],
    { env: fixtureGitEnv() },
  );
  return stdout.trimEnd().split("\n");
}
