// Notifications through Flux (--events-addr) end to end on the full test bed: the real controller
// under its shipped RBAC posts its Events on a ManagedApp to the bed's real notification-controller,
// and a user's ordinary Alert for the app's HelmRelease, with a generic-webhook Provider, delivers
// them to a webhook receiver on loopback, next to helm-controller's own events for that release.
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { KubeClient } from "../../src/kube/client.ts";
import { TestController } from "../support/controller.ts";
import { setUpDemoApp } from "../support/demo-app.ts";
import { deleteNamespace, eventually, testClient } from "../support/kube.ts";
import { isReadyNow } from "../support/objects.ts";
import { assertAlive, completeOf, requestFinished } from "../support/requests.ts";

const API = "cairn.dev/v1alpha1";
const NOTIFICATION_API = "notification.toolkit.fluxcd.io/v1beta3";

/** What the generic Provider posts: the event, its metadata without the group prefix. */
interface Delivered {
  readonly headers: IncomingHttpHeaders;
  readonly body: {
    involvedObject: { apiVersion?: string; kind: string; namespace: string; name: string };
    severity: string;
    reason: string;
    message: string;
    metadata?: Record<string, string>;
    reportingController: string;
  };
}

describe("notifications through Flux's notification-controller", () => {
  const admin: KubeClient = testClient();
  const git = inject("git");
  const eventsUrl = inject("eventsUrl");
  let controller: TestController;
  let ns = "";
  let sink: Server;
  const delivered: Delivered[] = [];

  const requestRef = (kind: string, name: string) => ({
    apiVersion: API,
    kind,
    namespace: ns,
    name,
  });
  const complete = completeOf;

  const alive = () => assertAlive(controller);

  const finished = (kind: string, name: string) =>
    requestFinished(admin, requestRef(kind, name), { alive, released: true });

  /** Cairn's notifications, in the order the webhook got them. */
  const fromCairn = () => delivered.filter((d) => d.body.reportingController === "cairn");

  beforeAll(async () => {
    if (!git || !eventsUrl) throw new Error("the e2e tier needs the full test bed");
    // The webhook receiver: a Slack-style endpoint that takes JSON posts.
    sink = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        try {
          delivered.push({
            headers: req.headers,
            body: JSON.parse(Buffer.concat(chunks).toString("utf8")) as Delivered["body"],
          });
          res.writeHead(200).end("ok");
        } catch {
          res.writeHead(400).end();
        }
      });
    });
    await new Promise<void>((resolve) => sink.listen(0, "127.0.0.1", resolve));
    const port = (sink.address() as AddressInfo).port;

    controller = await TestController.prepare({
      admin,
      clusterKubeconfig: inject("kubeconfig"),
      suffix: "-notify",
      extraArgs: [`--events-addr=${eventsUrl}`],
    });
    const app = await setUpDemoApp(admin, git, inject("helmRepoUrl"), {
      prefix: "notify",
      helmTimeout: "20s",
      labels: controller.labels,
      spec: { autoRollback: true },
    });
    ns = app.namespace;
    // What a team already has for its release: a webhook Provider and an Alert on the HelmRelease.
    await admin.create({
      apiVersion: NOTIFICATION_API,
      kind: "Provider",
      metadata: { name: "webhook", namespace: ns },
      spec: { type: "generic", address: `http://127.0.0.1:${port}/hooks/team` },
    });
    await admin.create({
      apiVersion: NOTIFICATION_API,
      kind: "Alert",
      metadata: { name: "demo", namespace: ns },
      spec: {
        providerRef: { name: "webhook" },
        eventSeverity: "info",
        eventSources: [{ kind: "HelmRelease", name: "demo" }],
      },
    });
    await controller.start();
    await eventually(
      "the ManagedApp Ready",
      async () =>
        isReadyNow(
          await admin.get({ apiVersion: API, kind: "ManagedApp", namespace: ns, name: "demo" }),
        )
          ? true
          : undefined,
      240_000,
    );
  }, 400_000);

  afterAll(async () => {
    await controller.cleanup();
    if (ns) await deleteNamespace(admin, ns);
    await new Promise((resolve) => sink.close(resolve));
  });

  it("delivers an upgrade's start and success, and a failed upgrade's rollback, to the team's webhook", async () => {
    await admin.create({
      apiVersion: API,
      kind: "UpgradeRequest",
      metadata: { name: "good", namespace: ns },
      spec: { managedAppRef: { name: "demo" }, targetVersion: { chart: "1.1.0" } },
    });
    expect(complete(await finished("UpgradeRequest", "good"))?.reason).toBe("Succeeded");
    await eventually("the success notification", () =>
      Promise.resolve(fromCairn().some((d) => d.body.reason === "Upgraded") ? true : undefined),
    );
    const good = fromCairn().filter((d) => d.body.message.includes("UpgradeRequest good"));
    expect(good.map((d) => d.body.reason)).toEqual(["UpgradeStarted", "Upgraded"]);
    for (const d of good) {
      // About the HelmRelease the Alert names, as Flux's own events are, with Cairn's metadata
      // stripped of its group prefix by notification-controller.
      expect(d.body.involvedObject).toMatchObject({
        kind: "HelmRelease",
        namespace: ns,
        name: "demo",
      });
      expect(d.body.severity).toBe("info");
      expect(d.body.metadata?.["managedapp"]).toBe(`${ns}/demo`);
      expect(d.headers["gotk-component"]).toBe("cairn");
    }
    expect(good[0]?.body.message).toBe(
      "ManagedApp demo: UpgradeRequest good: upgrade 1.0.0 → 1.1.0 started",
    );
    expect(good[1]?.body.message).toContain("1.0.0 → 1.1.0");

    // 2.0.0 never becomes ready: autoRollback undoes it, and the team hears each part of it.
    await admin.create({
      apiVersion: API,
      kind: "UpgradeRequest",
      metadata: { name: "bad", namespace: ns },
      spec: { managedAppRef: { name: "demo" }, targetVersion: { chart: "2.0.0" } },
    });
    expect(complete(await finished("UpgradeRequest", "bad"))?.reason).toBe("RollbackTriggered");
    expect(complete(await finished("RollbackRequest", "bad-rollback"))?.reason).toBe("Succeeded");
    await eventually("the rollback's notifications", () =>
      Promise.resolve(fromCairn().some((d) => d.body.reason === "RolledBack") ? true : undefined),
    );
    // notification-controller dispatches each event on its own, so events a moment apart (the
    // upgrade's end, the rollback's start) may reach the webhook in either order.
    const reasons = fromCairn()
      .filter((d) => d.body.message.includes("Request bad"))
      .map((d) => `${d.body.reason} ${d.body.severity}`)
      .sort();
    expect(reasons).toEqual([
      "RollbackStarted info",
      "RollbackTriggered error",
      "RolledBack info",
      "UpgradeStarted info",
    ]);
    // The same Alert delivers helm-controller's own events about the release: one setup for both.
    expect(
      delivered.some(
        (d) =>
          d.body.reportingController === "helm-controller" && d.body.involvedObject.name === "demo",
      ),
    ).toBe(true);
  });
});
