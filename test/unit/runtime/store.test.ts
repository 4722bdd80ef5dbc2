import { describe, expect, it } from "vitest";
import {
  IndexedStore,
  NAMESPACE_INDEX,
  OWNER_INDEX,
  UnknownIndexError,
} from "../../../src/runtime/store.ts";
import { objectKey, splitKey } from "../../../src/runtime/keys.ts";
import { object } from "../../fakes/watch-source.ts";

describe("IndexedStore", () => {
  it("returns what put and remove replaced", () => {
    const store = new IndexedStore(() => undefined);
    const a1 = object("a", "1");
    const a2 = object("a", "2");
    expect(store.put("default/a", a1)).toBeUndefined();
    expect(store.put("default/a", a2)).toBe(a1);
    expect(store.size).toBe(1);
    expect(store.remove("default/a")).toBe(a2);
    expect(store.remove("default/a")).toBeUndefined();
    expect(store.size).toBe(0);
  });

  it("indexes by namespace and by every owner uid, once per value", () => {
    const store = new IndexedStore(() => undefined);
    store.put("ns1/a", object("a", "1", { namespace: "ns1", owners: ["u1", "u2", "u1"] }));
    store.put("ns2/b", object("b", "2", { namespace: "ns2", owners: ["u2"] }));
    store.put("c", object("c", "3", { namespace: "" }));
    const names = (name: string, value: string) =>
      store.byIndex(name, value).map((o) => o.metadata.name);
    expect(names(NAMESPACE_INDEX, "ns1")).toEqual(["a"]);
    expect(names(OWNER_INDEX, "u1")).toEqual(["a"]);
    expect(names(OWNER_INDEX, "u2")).toEqual(["a", "b"]);
    expect(names(NAMESPACE_INDEX, "")).toEqual([]);
  });

  it("takes an object out of the values it no longer has, and re-adds it cleanly", () => {
    const store = new IndexedStore(() => undefined);
    store.addIndex("app", (o) => (o.metadata.labels?.["app"] ? [o.metadata.labels["app"]] : []));
    store.put("ns/a", object("a", "1", { namespace: "ns", labels: { app: "x" } }));
    store.remove("ns/a");
    store.put("ns/a", object("a", "2", { namespace: "ns", labels: { app: "y" } }));
    expect(store.byIndex("app", "x")).toEqual([]);
    expect(store.byIndex("app", "y").map((o) => o.metadata.resourceVersion)).toEqual(["2"]);
  });

  it("reports a throwing index function and keeps the object in the store", () => {
    const errors: [string, string][] = [];
    const store = new IndexedStore((index, key) => errors.push([index, key]));
    store.addIndex("broken", () => {
      throw new Error("boom");
    });
    store.put("ns/a", object("a", "1", { namespace: "ns" }));
    expect(errors).toEqual([["broken", "ns/a"]]);
    expect(store.get("ns/a")).toBeDefined();
    expect(store.byIndex(NAMESPACE_INDEX, "ns")).toHaveLength(1);
    expect(() => store.byIndex("missing", "x")).toThrow(UnknownIndexError);
  });
});

describe("keys", () => {
  it("are namespace/name for namespaced objects and name for cluster-scoped ones", () => {
    expect(objectKey({ namespace: "ns", name: "a" })).toBe("ns/a");
    expect(objectKey({ name: "node-1" })).toBe("node-1");
    expect(objectKey({ namespace: undefined, name: "pv-1" })).toBe("pv-1");
    expect(splitKey("ns/a")).toEqual({ namespace: "ns", name: "a" });
    expect(splitKey("node-1")).toEqual({ namespace: undefined, name: "node-1" });
  });
});
