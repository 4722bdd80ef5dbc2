import { mkdtemp, readFile, rm, writeFile, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { VolumeStore } from "../../../src/csi-sim/volume-store.ts";

describe("VolumeStore", () => {
  let root: string;
  let store: VolumeStore;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "volstore-"));
    store = new VolumeStore(root);
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it("snapshots keep the bytes of the moment they were cut, and restores bring them back", async () => {
    await store.createVolume("vol-a");
    await writeFile(join(store.volumePath("vol-a"), "db.txt"), "v1 data");
    await store.snapshotVolume("vol-a", "snap-1");
    await writeFile(join(store.volumePath("vol-a"), "db.txt"), "v2 migrated");
    await store.createVolume("vol-b", { kind: "snapshot", handle: "snap-1" });
    expect(await readFile(join(store.volumePath("vol-b"), "db.txt"), "utf8")).toBe("v1 data");
    expect(await readFile(join(store.volumePath("vol-a"), "db.txt"), "utf8")).toBe("v2 migrated");
  });

  it("clones a volume and never overwrites an existing one", async () => {
    await store.createVolume("vol-a");
    await writeFile(join(store.volumePath("vol-a"), "f"), "x");
    await store.createVolume("vol-c", { kind: "volume", handle: "vol-a" });
    await writeFile(join(store.volumePath("vol-c"), "f"), "changed");
    await store.createVolume("vol-c", { kind: "volume", handle: "vol-a" });
    expect(await readFile(join(store.volumePath("vol-c"), "f"), "utf8")).toBe("changed");
    expect((await readdir(store.volumesDir)).sort()).toEqual(["vol-a", "vol-c"]);
  });

  it("deletes volumes and snapshots, and refuses handles that would escape its folder", async () => {
    await store.createVolume("vol-a");
    await store.snapshotVolume("vol-a", "snap-1");
    await store.deleteSnapshot("snap-1");
    await store.deleteVolume("vol-a");
    expect(await readdir(store.volumesDir)).toEqual([]);
    expect(await readdir(store.snapshotsDir)).toEqual([]);
    expect(() => store.volumePath("../etc")).toThrow(/invalid volume handle/);
    expect(() => store.snapshotPath(".hidden")).toThrow(/invalid volume handle/);
  });
});
