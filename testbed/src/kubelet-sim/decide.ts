// What the kubelet would do with a scheduled pod whose Secrets and ConfigMaps are as found: start
// it (kwok then plays the running containers), or hold it with the status and Events a real
// kubelet shows. A missing volume source keeps every container in ContainerCreating (FailedMount);
// a missing env source fails that container with CreateContainerConfigError. The kubelet keeps
// retrying, so a held pod starts once what it reads appears.
//
// One simplification: while any container cannot be configured, the whole pod is held, and its
// containers without a problem show ContainerCreating. A real kubelet would start those; kwok only
// starts whole pods.
import type { ConfigKind, ConfigRef, PodNeeds } from "./references.ts";

/** What a lookup found: the keys of the object, or undefined when it does not exist. */
export type Found = ReadonlyMap<string, readonly string[] | undefined>;

export const foundKey = (kind: ConfigKind, name: string) => `${kind}/${name}`;

export interface PodCondition {
  readonly type: string;
  readonly status: string;
  readonly reason?: string;
  readonly message?: string;
  readonly lastTransitionTime?: string;
}

export interface ContainerStatus {
  readonly name: string;
  readonly image: string;
  readonly ready: false;
  readonly started: false;
  readonly restartCount: 0;
  readonly state:
    | { readonly waiting: { readonly reason: string; readonly message?: string } }
    | {
        readonly terminated: {
          readonly exitCode: 0;
          readonly reason: "Completed";
          readonly startedAt: string;
          readonly finishedAt: string;
        };
      };
}

export interface HeldStatus {
  readonly phase: "Pending";
  readonly conditions: PodCondition[];
  readonly initContainerStatuses: ContainerStatus[];
  readonly containerStatuses: ContainerStatus[];
}

export interface PodEvent {
  readonly reason: "FailedMount" | "Failed";
  readonly message: string;
}

export type Decision =
  | { readonly kind: "start" }
  | { readonly kind: "hold"; readonly status: HeldStatus; readonly events: PodEvent[] };

export interface DecideInput {
  readonly namespace: string;
  readonly needs: PodNeeds;
  readonly found: Found;
  readonly images: ReadonlyMap<string, string>;
  readonly conditions: readonly PodCondition[];
  readonly now: string;
}

const lower = (kind: ConfigKind) => (kind === "Secret" ? "secret" : "configmap");

/** The kubelet's words for a missing object or key, read as env; undefined when all is there. */
function envProblem(ref: ConfigRef, namespace: string, found: Found): string | undefined {
  const keys = found.get(foundKey(ref.kind, ref.name));
  if (keys === undefined) return `${lower(ref.kind)} "${ref.name}" not found`;
  const missing = ref.keys.find((k) => !keys.includes(k));
  return missing === undefined
    ? undefined
    : `couldn't find key ${missing} in ${ref.kind} ${namespace}/${ref.name}`;
}

function volumeProblem(ref: ConfigRef & { volume: string }, found: Found): string | undefined {
  const keys = found.get(foundKey(ref.kind, ref.name));
  const prefix = `MountVolume.SetUp failed for volume "${ref.volume}" : `;
  if (keys === undefined) return `${prefix}${lower(ref.kind)} "${ref.name}" not found`;
  const missing = ref.keys.find((k) => !keys.includes(k));
  if (missing === undefined) return undefined;
  return ref.kind === "Secret"
    ? `${prefix}secret references non-existent secret key: ${missing}`
    : `${prefix}configmap references non-existent config key: ${missing}`;
}

function condition(
  input: DecideInput,
  type: string,
  status: "True" | "False",
  reason?: string,
  message?: string,
): PodCondition {
  const before = input.conditions.find((c) => c.type === type);
  return {
    type,
    status,
    ...(reason ? { reason } : {}),
    ...(message ? { message } : {}),
    // A condition keeps its transition time while its status stays.
    lastTransitionTime:
      before?.status === status && before.lastTransitionTime
        ? before.lastTransitionTime
        : input.now,
  };
}

export function decidePod(input: DecideInput): Decision {
  const { needs, found, namespace } = input;
  const mountFailures = needs.volumes
    .map((v) => volumeProblem(v, found))
    .filter((m): m is string => m !== undefined);
  const envFailures = new Map<string, string>();
  for (const c of needs.containers) {
    const problem = c.refs.map((r) => envProblem(r, namespace, found)).find((p) => p);
    if (problem) envFailures.set(c.name, problem);
  }
  if (mountFailures.length === 0 && envFailures.size === 0) return { kind: "start" };

  const inits = needs.containers.filter((c) => c.init);
  const apps = needs.containers.filter((c) => !c.init);
  const image = (name: string) => input.images.get(name) ?? "";
  const waiting = (name: string, reason: string, message?: string): ContainerStatus => ({
    name,
    image: image(name),
    ready: false,
    started: false,
    restartCount: 0,
    state: { waiting: { reason, ...(message ? { message } : {}) } },
  });
  const completed = (name: string): ContainerStatus => ({
    name,
    image: image(name),
    ready: false,
    started: false,
    restartCount: 0,
    state: {
      terminated: {
        exitCode: 0,
        reason: "Completed",
        startedAt: input.now,
        finishedAt: input.now,
      },
    },
  });

  let initStatuses: ContainerStatus[];
  let appStatuses: ContainerStatus[];
  let initialized: boolean;
  const events: PodEvent[] = [];
  // The first init container that cannot be configured stops the ones after it.
  const blockingInit = inits.findIndex((c) => envFailures.has(c.name));
  if (mountFailures.length > 0) {
    // Nothing is created before the volumes are mounted.
    const pending = inits.length > 0 ? "PodInitializing" : "ContainerCreating";
    initStatuses = inits.map((c) => waiting(c.name, "PodInitializing"));
    appStatuses = apps.map((c) => waiting(c.name, pending));
    initialized = inits.length === 0;
    for (const message of mountFailures) events.push({ reason: "FailedMount", message });
  } else if (blockingInit >= 0) {
    initStatuses = inits.map((c, i) =>
      i < blockingInit
        ? completed(c.name)
        : i === blockingInit
          ? waiting(c.name, "CreateContainerConfigError", envFailures.get(c.name))
          : waiting(c.name, "PodInitializing"),
    );
    appStatuses = apps.map((c) => waiting(c.name, "PodInitializing"));
    initialized = false;
    events.push({
      reason: "Failed",
      message: `Error: ${envFailures.get(inits[blockingInit]?.name ?? "") ?? ""}`,
    });
  } else {
    initStatuses = inits.map((c) => completed(c.name));
    appStatuses = apps.map((c) => {
      const problem = envFailures.get(c.name);
      return problem
        ? waiting(c.name, "CreateContainerConfigError", problem)
        : waiting(c.name, "ContainerCreating");
    });
    initialized = true;
    for (const c of apps) {
      const problem = envFailures.get(c.name);
      if (problem) events.push({ reason: "Failed", message: `Error: ${problem}` });
    }
  }

  const unready = (list: ContainerStatus[]) => list.map((s) => s.name).join(" ");
  const scheduled = input.conditions.find((c) => c.type === "PodScheduled");
  const conditions: PodCondition[] = [
    ...(scheduled ? [scheduled] : []),
    condition(input, "PodReadyToStartContainers", mountFailures.length > 0 ? "False" : "True"),
    initialized
      ? condition(input, "Initialized", "True")
      : condition(
          input,
          "Initialized",
          "False",
          "ContainersNotInitialized",
          `containers with incomplete status: [${unready(
            initStatuses.filter((s) => !("terminated" in s.state)),
          )}]`,
        ),
    condition(
      input,
      "Ready",
      "False",
      "ContainersNotReady",
      `containers with unready status: [${unready(appStatuses)}]`,
    ),
    condition(
      input,
      "ContainersReady",
      "False",
      "ContainersNotReady",
      `containers with unready status: [${unready(appStatuses)}]`,
    ),
  ];
  return {
    kind: "hold",
    status: {
      phase: "Pending",
      conditions,
      initContainerStatuses: initStatuses,
      containerStatuses: appStatuses,
    },
    events,
  };
}

/** What a held status says, without times: equal signatures need no new write. */
export function heldSignature(status: {
  phase?: string | undefined;
  conditions?:
    readonly { type: string; status: string; message?: string | undefined }[] | null | undefined;
  initContainerStatuses?: readonly { name: string; state?: unknown }[] | null | undefined;
  containerStatuses?: readonly { name: string; state?: unknown }[] | null | undefined;
}): string {
  const state = (s: { state?: unknown }) => {
    const st = s.state as { waiting?: { reason?: string; message?: string } } | undefined;
    return st?.waiting ? `waiting:${st.waiting.reason ?? ""}:${st.waiting.message ?? ""}` : "other";
  };
  return JSON.stringify([
    status.phase ?? "",
    (status.conditions ?? [])
      .filter((c) => c.type !== "PodScheduled")
      .map((c) => `${c.type}=${c.status}:${c.message ?? ""}`)
      .sort(),
    (status.initContainerStatuses ?? []).map((s) => `${s.name}:${state(s)}`),
    (status.containerStatuses ?? []).map((s) => `${s.name}:${state(s)}`),
  ]);
}
