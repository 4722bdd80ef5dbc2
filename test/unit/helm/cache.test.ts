import { describe, expect, it } from "vitest";
import { ReleaseCache } from "../../../src/helm/cache.ts";
import { captured, derive } from "../../fixtures/load.ts";

const v1 = () => captured("helm-secret-v1.json");
const v2 = () => captured("helm-secret-v2.json");

function withMeta(secret: ReturnType<typeof v1>, meta: { uid?: string; resourceVersion?: string }) {
  return derive(secret, (s) => Object.assign(s.metadata as Record<string, unknown>, meta));
}

describe("ReleaseCache", () => {
  it("decodes a Secret once per uid and resourceVersion", () => {
    const cache = new ReleaseCache();
    const first = cache.decode(v1());
    const again = cache.decode(v1());
    expect(again).toBe(first);
    expect(cache.stats).toMatchObject({ hits: 1, misses: 1 });
    expect(cache.size).toBe(1);
  });

  it("decodes again when the resourceVersion moves (Helm flipped the status)", () => {
    const cache = new ReleaseCache();
    const deployed = cache.decode(captured("helm-secret-v1-deployed.json"));
    const superseded = cache.decode(captured("helm-secret-v1.json"));
    expect(deployed.ok && deployed.release.info.status).toBe("deployed");
    expect(superseded.ok && superseded.release.info.status).toBe("superseded");
    expect(cache.stats.misses).toBe(2);
  });

  it("does not cache a Secret without uid or resourceVersion", () => {
    const cache = new ReleaseCache();
    const anonymous = withMeta(v1(), { uid: "" });
    expect(cache.decode(anonymous).ok).toBe(true);
    expect(cache.decode(anonymous).ok).toBe(true);
    expect(cache.size).toBe(0);
  });

  it("caches failures too, so a corrupt Secret is not decoded on every reconcile", () => {
    const cache = new ReleaseCache();
    const corrupt = derive(v1(), (s) => ((s["data"] as { release: string }).release = "%%%%"));
    const first = cache.decode(corrupt);
    expect(first.ok).toBe(false);
    expect(cache.decode(corrupt)).toBe(first);
    expect(cache.stats.hits).toBe(1);
  });

  it("evicts the least recently used entry beyond maxEntries", () => {
    const cache = new ReleaseCache({ maxEntries: 2 });
    const a = withMeta(v1(), { uid: "a" });
    const b = withMeta(v1(), { uid: "b" });
    const c = withMeta(v1(), { uid: "c" });
    cache.decode(a);
    cache.decode(b);
    cache.decode(a); // a is now the most recent
    cache.decode(c); // evicts b
    expect(cache.size).toBe(2);
    cache.decode(a);
    expect(cache.stats).toMatchObject({ hits: 2, misses: 3 });
    cache.decode(b);
    expect(cache.stats.misses).toBe(4);
  });

  it("keeps the decoded bytes under maxBytes", () => {
    const one = new ReleaseCache().decode(v1());
    const size = one.ok ? one.decodedBytes : 0;
    expect(size).toBeGreaterThan(0);
    const cache = new ReleaseCache({ maxBytes: size * 1.5 });
    cache.decode(v1());
    cache.decode(v2());
    expect(cache.size).toBe(1);
    expect(cache.stats.bytes).toBeLessThanOrEqual(size * 1.5);
  });
});
