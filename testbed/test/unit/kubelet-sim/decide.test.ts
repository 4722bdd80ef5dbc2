import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../../src/binaries.ts";
import { KWOK_POD_READY_STAGE } from "../../../src/flags.ts";
import { decidePod, foundKey, heldSignature, type Found } from "../../../src/kubelet-sim/decide.ts";
import { objectsNeeded, PodSpec, podNeeds } from "../../../src/kubelet-sim/references.ts";
import { CONFIG_RESOLVED_ANNOTATION } from "../../../src/kubelet-sim/simulator.ts";

const NOW = "2026-12-06T12:00:00.000Z";
const EARLIER = "2026-12-06T11:00:00.000Z";

function decide(
  spec: unknown,
  found: Found,
  conditions = [] as { type: string; status: string; lastTransitionTime?: string }[],
) {
  const parsed = PodSpec.parse(spec);
  return decidePod({
    namespace: "shop",
    needs: podNeeds(parsed),
    found,
    images: new Map(
      [...(parsed.initContainers ?? []), ...parsed.containers].map((c) => [
        c.name,
        `img/${c.name}`,
      ]),
    ),
    conditions,
    now: NOW,
  });
}

const webReadingCredentials = {
  containers: [
    {
      name: "web",
      envFrom: [
        { secretRef: { name: "web-credentials" } },
        { configMapRef: { name: "web-settings" } },
      ],
    },
  ],
};

describe("what a pod needs before it starts", () => {
  it("reads volumes, envFrom and env key references, and leaves out optional ones", () => {
    const needs = podNeeds(
      PodSpec.parse({
        initContainers: [
          {
            name: "migrate",
            env: [{ name: "URL", valueFrom: { secretKeyRef: { name: "db", key: "url" } } }],
          },
        ],
        containers: [
          {
            name: "app",
            envFrom: [
              { configMapRef: { name: "settings" } },
              { secretRef: { name: "extra", optional: true } },
            ],
            env: [
              { name: "PLAIN", value: "x" },
              { name: "MODE", valueFrom: { configMapKeyRef: { name: "settings", key: "mode" } } },
              { name: "POD", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
            ],
          },
        ],
        volumes: [
          { name: "certs", secret: { secretName: "tls", items: [{ key: "tls.crt", path: "c" }] } },
          { name: "maybe", configMap: { name: "opt", optional: true } },
          {
            name: "bundle",
            projected: {
              sources: [{ configMap: { name: "ca" } }, { serviceAccountToken: { path: "t" } }],
            },
          },
          { name: "scratch", emptyDir: {} },
        ],
      }),
    );
    expect(needs.volumes).toEqual([
      { volume: "certs", kind: "Secret", name: "tls", keys: ["tls.crt"] },
      { volume: "bundle", kind: "ConfigMap", name: "ca", keys: [] },
    ]);
    expect(needs.containers).toEqual([
      { name: "migrate", init: true, refs: [{ kind: "Secret", name: "db", keys: ["url"] }] },
      {
        name: "app",
        init: false,
        refs: [
          { kind: "ConfigMap", name: "settings", keys: [] },
          { kind: "ConfigMap", name: "settings", keys: ["mode"] },
        ],
      },
    ]);
    expect(objectsNeeded(needs)).toEqual([
      { kind: "Secret", name: "tls" },
      { kind: "ConfigMap", name: "ca" },
      { kind: "Secret", name: "db" },
      { kind: "ConfigMap", name: "settings" },
    ]);
  });
});

describe("the kubelet's verdict", () => {
  it("starts a pod whose Secrets and ConfigMaps all exist", () => {
    const found: Found = new Map([
      [foundKey("Secret", "web-credentials"), ["PASSWORD"]],
      [foundKey("ConfigMap", "web-settings"), []],
    ]);
    expect(decide(webReadingCredentials, found)).toEqual({ kind: "start" });
  });

  it("holds a pod whose envFrom Secret is gone: CreateContainerConfigError, as after the incident", () => {
    const found: Found = new Map([
      [foundKey("Secret", "web-credentials"), undefined],
      [foundKey("ConfigMap", "web-settings"), []],
    ]);
    const scheduled = { type: "PodScheduled", status: "True", lastTransitionTime: EARLIER };
    const d = decide(webReadingCredentials, found, [scheduled]);
    if (d.kind !== "hold") throw new Error("expected hold");
    expect(d.status.phase).toBe("Pending");
    expect(d.status.containerStatuses).toEqual([
      {
        name: "web",
        image: "img/web",
        ready: false,
        started: false,
        restartCount: 0,
        state: {
          waiting: {
            reason: "CreateContainerConfigError",
            message: 'secret "web-credentials" not found',
          },
        },
      },
    ]);
    expect(d.status.conditions.map((c) => [c.type, c.status])).toEqual([
      ["PodScheduled", "True"],
      ["PodReadyToStartContainers", "True"],
      ["Initialized", "True"],
      ["Ready", "False"],
      ["ContainersReady", "False"],
    ]);
    expect(d.status.conditions[0]).toEqual(scheduled);
    expect(d.status.conditions.find((c) => c.type === "Ready")?.message).toBe(
      "containers with unready status: [web]",
    );
    expect(d.events).toEqual([
      { reason: "Failed", message: 'Error: secret "web-credentials" not found' },
    ]);
  });

  it("names a missing key as the kubelet does", () => {
    const spec = {
      containers: [
        {
          name: "app",
          env: [{ name: "P", valueFrom: { secretKeyRef: { name: "db", key: "password" } } }],
        },
      ],
    };
    const d = decide(spec, new Map([[foundKey("Secret", "db"), ["user"]]]));
    if (d.kind !== "hold") throw new Error("expected hold");
    expect(d.status.containerStatuses[0]?.state).toEqual({
      waiting: {
        reason: "CreateContainerConfigError",
        message: "couldn't find key password in Secret shop/db",
      },
    });
  });

  it("keeps every container in ContainerCreating while a volume cannot be mounted", () => {
    const spec = {
      containers: [{ name: "app" }, { name: "sidecar" }],
      volumes: [{ name: "conf", configMap: { name: "app-conf" } }],
    };
    const d = decide(spec, new Map([[foundKey("ConfigMap", "app-conf"), undefined]]));
    if (d.kind !== "hold") throw new Error("expected hold");
    expect(d.status.containerStatuses.map((c) => c.state)).toEqual([
      { waiting: { reason: "ContainerCreating" } },
      { waiting: { reason: "ContainerCreating" } },
    ]);
    expect(d.status.conditions.find((c) => c.type === "PodReadyToStartContainers")?.status).toBe(
      "False",
    );
    expect(d.events).toEqual([
      {
        reason: "FailedMount",
        message: 'MountVolume.SetUp failed for volume "conf" : configmap "app-conf" not found',
      },
    ]);
  });

  it("stops at the first init container that cannot be configured", () => {
    const spec = {
      initContainers: [
        { name: "first" },
        { name: "migrate", envFrom: [{ secretRef: { name: "db" } }] },
        { name: "last" },
      ],
      containers: [{ name: "app" }],
    };
    const d = decide(spec, new Map([[foundKey("Secret", "db"), undefined]]));
    if (d.kind !== "hold") throw new Error("expected hold");
    expect(d.status.initContainerStatuses.map((c) => [c.name, Object.keys(c.state)[0]])).toEqual([
      ["first", "terminated"],
      ["migrate", "waiting"],
      ["last", "waiting"],
    ]);
    expect(d.status.initContainerStatuses[1]?.state).toEqual({
      waiting: { reason: "CreateContainerConfigError", message: 'secret "db" not found' },
    });
    expect(d.status.containerStatuses[0]?.state).toEqual({
      waiting: { reason: "PodInitializing" },
    });
    expect(d.status.conditions.find((c) => c.type === "Initialized")).toMatchObject({
      status: "False",
      message: "containers with incomplete status: [migrate last]",
    });
  });

  it("keeps a condition's transition time while its status stays, so a retry writes nothing new", () => {
    const found: Found = new Map([
      [foundKey("Secret", "web-credentials"), undefined],
      [foundKey("ConfigMap", "web-settings"), []],
    ]);
    const first = decide(webReadingCredentials, found);
    if (first.kind !== "hold") throw new Error("expected hold");
    const again = decide(
      webReadingCredentials,
      found,
      first.status.conditions.map((c) => ({ ...c, lastTransitionTime: EARLIER })),
    );
    if (again.kind !== "hold") throw new Error("expected hold");
    expect(again.status.conditions.every((c) => c.lastTransitionTime === EARLIER)).toBe(true);
    expect(heldSignature(again.status)).toBe(heldSignature(first.status));
    // What kwok writes once the pod runs differs, so the simulator would write again.
    expect(
      heldSignature({ phase: "Running", conditions: [{ type: "Ready", status: "True" }] }),
    ).not.toBe(heldSignature(first.status));
  });
});

describe("the gated kwok stage", () => {
  it("starts only pods carrying the simulator's annotation", () => {
    const stage = parse(readFileSync(join(REPO_ROOT, KWOK_POD_READY_STAGE), "utf8")) as {
      metadata: { name: string };
      spec: { selector: { matchExpressions: { key: string; operator: string }[] } };
    };
    expect(stage.metadata.name).toBe("pod-ready");
    expect(stage.spec.selector.matchExpressions).toContainEqual({
      key: `.metadata.annotations["${CONFIG_RESOLVED_ANNOTATION}"]`,
      operator: "Exists",
    });
  });
});
