import { describe, expect, it } from "vitest";
import { API_VERSION, Kind } from "../../../../src/api/index.ts";
import {
  acquireLock,
  handOverLock,
  lockHolder,
  lockName,
  LockVersions,
  releaseLock,
  type Holder,
} from "../../../../src/controllers/request/lock.ts";
import { KubeError } from "../../../../src/kube/errors.ts";
import { FakeObjectApi } from "../../../fakes/object-api.ts";

const NS = "shop";
const APP = "app-uid";
const NOW = new Date("2026-01-01T00:00:00Z");
const leaseRef = {
  apiVersion: "coordination.k8s.io/v1",
  kind: "Lease",
  namespace: NS,
  name: lockName(APP),
};

function request(
  api: FakeObjectApi,
  kind: Holder["kind"],
  name: string,
  complete?: string,
): Holder {
  const obj = api.seed({
    apiVersion: API_VERSION,
    kind,
    metadata: { name, namespace: NS },
    spec: {},
    ...(complete ? { status: { conditions: [{ type: "Complete", status: complete }] } } : {}),
  });
  return { kind, name, uid: obj.metadata.uid ?? "" };
}

describe("the app lock", () => {
  it("lets go with one delete held against the version it took the Lease at", async () => {
    const api = new FakeObjectApi();
    const a = request(api, Kind.UpgradeRequest, "a");
    const versions = new LockVersions();
    await acquireLock(api, NS, APP, a, NOW, undefined, false, versions);
    const before = api.calls.length;
    await releaseLock(api, NS, APP, a, versions);
    expect(api.calls.slice(before).map((c) => c.op)).toEqual(["delete"]);
    expect(await lockHolder(api, NS, APP)).toBeUndefined();
  });

  it("reads a Lease changed since it was taken, and leaves one another request took over", async () => {
    const api = new FakeObjectApi();
    const a = request(api, Kind.UpgradeRequest, "a", "True");
    const b = request(api, Kind.UpgradeRequest, "b");
    const versions = new LockVersions();
    await acquireLock(api, NS, APP, a, NOW, undefined, false, versions);
    // a finished without letting go (a crash): b takes the stale lock over.
    expect(await acquireLock(api, NS, APP, b, NOW)).toEqual({ acquired: true });
    const before = api.calls.length;
    await releaseLock(api, NS, APP, a, versions);
    expect(api.calls.slice(before).map((c) => c.op)).toEqual(["delete", "get"]);
    expect(await lockHolder(api, NS, APP)).toEqual(b);
  });

  it("is taken by creating the Lease (one request), and taking it again is a no-op", async () => {
    const api = new FakeObjectApi();
    const a = request(api, Kind.UpgradeRequest, "a");
    const before = api.calls.length;
    expect(await acquireLock(api, NS, APP, a, NOW)).toEqual({ acquired: true });
    expect(api.calls.slice(before).map((c) => c.op)).toEqual(["create"]);
    // Again: the create is refused, the read finds the Lease ours, nothing is written.
    expect(await acquireLock(api, NS, APP, a, NOW)).toEqual({ acquired: true });
    expect(api.calls.slice(before + 1).map((c) => c.op)).toEqual(["create", "get"]);
    expect(await lockHolder(api, NS, APP)).toEqual(a);
  });

  it("read first (Plan after Admit), a lock the request holds costs one read", async () => {
    const api = new FakeObjectApi();
    const a = request(api, Kind.UpgradeRequest, "a");
    const before = api.calls.length;
    expect(await acquireLock(api, NS, APP, a, NOW, undefined, true)).toEqual({ acquired: true });
    expect(api.calls.slice(before).map((c) => c.op)).toEqual(["get", "create"]);
    expect(await acquireLock(api, NS, APP, a, NOW, undefined, true)).toEqual({ acquired: true });
    expect(api.calls.slice(before + 2).map((c) => c.op)).toEqual(["get"]);
  });

  it("is refused while a live request holds it, naming the holder", async () => {
    const api = new FakeObjectApi();
    const a = request(api, Kind.UpgradeRequest, "a");
    const b = request(api, Kind.RollbackRequest, "b");
    await acquireLock(api, NS, APP, a, NOW);
    expect(await acquireLock(api, NS, APP, b, NOW)).toEqual({ acquired: false, holder: a });
  });

  it("is taken over from a holder that finished or is gone", async () => {
    const api = new FakeObjectApi();
    const done = request(api, Kind.UpgradeRequest, "done", "True");
    const b = request(api, Kind.UpgradeRequest, "b");
    await acquireLock(api, NS, APP, done, NOW);
    expect(await acquireLock(api, NS, APP, b, NOW)).toEqual({ acquired: true });
    expect(await lockHolder(api, NS, APP)).toEqual(b);
    const ghost = { kind: Kind.UpgradeRequest, name: "ghost", uid: "ghost-uid" } as const;
    const api2 = new FakeObjectApi();
    await acquireLock(api2, NS, APP, ghost, NOW);
    const c = request(api2, Kind.UpgradeRequest, "c");
    expect(await acquireLock(api2, NS, APP, c, NOW)).toEqual({ acquired: true });
  });

  it("takes a stale holder over under a resourceVersion precondition: of two racers one wins", async () => {
    const api = new FakeObjectApi();
    const stale = request(api, Kind.UpgradeRequest, "stale", "False");
    await acquireLock(api, NS, APP, stale, NOW);
    const b = request(api, Kind.UpgradeRequest, "b");
    const c = request(api, Kind.UpgradeRequest, "c");
    // c takes the Lease over between b's read and b's write: b's precondition fails, and on
    // its second look the Lease names c, which is live.
    api.beforeNext("mergePatch", async () => {
      expect(await acquireLock(api, NS, APP, c, NOW)).toEqual({ acquired: true });
    });
    expect(await acquireLock(api, NS, APP, b, NOW)).toEqual({ acquired: false, holder: c });
    expect(await lockHolder(api, NS, APP)).toEqual(c);
  });

  it("is released only by its holder, under the Lease's resourceVersion", async () => {
    const api = new FakeObjectApi();
    const a = request(api, Kind.UpgradeRequest, "a");
    const b = request(api, Kind.UpgradeRequest, "b");
    await acquireLock(api, NS, APP, a, NOW);
    await releaseLock(api, NS, APP, b);
    expect(api.peek(leaseRef)).toBeDefined();
    await releaseLock(api, NS, APP, a);
    expect(api.peek(leaseRef)).toBeUndefined();
    const del = api.callsOf("delete")[0];
    expect(del?.body).toEqual({ resourceVersion: expect.any(String) as unknown });
    // Releasing what is gone is a no-op.
    await releaseLock(api, NS, APP, a);
  });

  it("is handed over in one write, so nobody waiting can slip in between", async () => {
    const api = new FakeObjectApi();
    const up = request(api, Kind.UpgradeRequest, "up");
    const rb = request(api, Kind.RollbackRequest, "up-rollback");
    await acquireLock(api, NS, APP, up, NOW);
    await handOverLock(api, NS, APP, up, rb);
    expect(await lockHolder(api, NS, APP)).toEqual(rb);
    // Not ours any more: a second hand-over changes nothing.
    await handOverLock(api, NS, APP, up, { ...rb, uid: "other" });
    expect(await lockHolder(api, NS, APP)).toEqual(rb);
  });

  it("passes API failures up instead of guessing", async () => {
    const api = new FakeObjectApi();
    const a = request(api, Kind.UpgradeRequest, "a");
    api.failNext("create", new KubeError("Transient", "etcd timeout", 503));
    await expect(acquireLock(api, NS, APP, a, NOW)).rejects.toThrow("etcd timeout");
    // A Lease that exists but cannot be read is no answer either.
    const b = request(api, Kind.UpgradeRequest, "b");
    await acquireLock(api, NS, APP, a, NOW);
    api.failNext("get", new KubeError("Transient", "etcd timeout", 503));
    await expect(acquireLock(api, NS, APP, b, NOW)).rejects.toThrow("etcd timeout");
  });
});
