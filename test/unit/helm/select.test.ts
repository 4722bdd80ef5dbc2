import { describe, expect, it } from "vitest";
import { ReleaseCache, type ReleaseDecoder } from "../../../src/helm/cache.ts";
import { selectRelease } from "../../../src/helm/select.ts";
import { captured, derive } from "../../fixtures/load.ts";

const corrupt = (file: string) =>
  derive(captured(file), (s) => ((s["data"] as { release: string }).release = "not!base64"));

describe("selectRelease on captured release Secrets", () => {
  it("picks the only deployed revision after an install", () => {
    const s = selectRelease([captured("helm-secret-v1-deployed.json")]);
    expect(s.current?.version).toBe(1);
    expect(s.problems).toEqual([]);
  });

  it("picks the deployed revision after an upgrade, whatever the order", () => {
    const secrets = [captured("helm-secret-v2.json"), captured("helm-secret-v1.json")];
    for (const order of [secrets, [...secrets].reverse()]) {
      const s = selectRelease(order);
      expect(s.current?.version).toBe(2);
      expect(s.current?.chart.metadata.version).toBe("1.1.0");
      expect(s.latest?.version).toBe(2);
      expect(s.problems).toEqual([]);
    }
  });

  it("reports a pending-upgrade revision above the deployed one as stuck", () => {
    const s = selectRelease([
      captured("helm-secret-v1.json"),
      captured("helm-secret-v2.json"),
      captured("helm-secret-v3-pending.json"),
    ]);
    expect(s.current?.version).toBe(2);
    expect(s.latest?.version).toBe(3);
    expect(s.problems).toHaveLength(1);
    expect(s.problems[0]).toMatchObject({ code: "PendingRelease" });
    expect(s.problems[0]?.message).toContain("pending-upgrade");
  });

  it("reports a failed revision above the deployed one", () => {
    const s = selectRelease([
      captured("helm-secret-v1.json"),
      captured("helm-secret-v2-after-failure.json"),
      captured("helm-secret-v3-failed.json"),
    ]);
    expect(s.current?.version).toBe(2);
    expect(s.problems.map((p) => p.code)).toEqual(["FailedRelease"]);
  });

  it("never takes the highest revision just because it is highest", () => {
    const s = selectRelease([
      captured("helm-secret-v3-failed.json"),
      captured("helm-secret-v1.json"),
    ]);
    expect(s.current).toBeUndefined();
    expect(s.latest?.version).toBe(3);
    expect(s.problems.map((p) => p.code)).toEqual(["NoDeployedRelease"]);
  });

  it("reports other statuses above the deployed revision", () => {
    // Revision 3 as captured, but uninstalling: a status no test bed run produces on demand.
    const cache = new ReleaseCache();
    const uninstalling: ReleaseDecoder = {
      decode: (secret) => {
        const r = cache.decode(secret);
        if (!r.ok || r.release.version !== 3) return r;
        return {
          ...r,
          release: { ...r.release, info: { ...r.release.info, status: "uninstalling" } },
        };
      },
    };
    const s = selectRelease(
      [captured("helm-secret-v2.json"), captured("helm-secret-v3-failed.json")],
      uninstalling,
    );
    expect(s.current?.version).toBe(2);
    expect(s.problems.map((p) => p.code)).toEqual(["UnexpectedStatus"]);
  });

  it("reports no Secrets at all", () => {
    expect(selectRelease([]).problems.map((p) => p.code)).toEqual(["NoRelease"]);
  });

  it("does not trust the selection when a newer Secret cannot be decoded", () => {
    const s = selectRelease([
      captured("helm-secret-v1.json"),
      captured("helm-secret-v2.json"),
      corrupt("helm-secret-v3-pending.json"),
    ]);
    expect(s.current?.version).toBe(2);
    expect(s.problems).toHaveLength(1);
    expect(s.problems[0]).toMatchObject({
      code: "UnreadableRevision",
      secret: { name: "sh.helm.release.v1.demo.v3", revision: 3 },
    });
  });

  it("ignores an undecodable revision below the deployed one (history)", () => {
    const s = selectRelease([corrupt("helm-secret-v1.json"), captured("helm-secret-v2.json")]);
    expect(s.current?.version).toBe(2);
    expect(s.problems).toEqual([]);
  });

  it("decodes through the injected cache", () => {
    const cache = new ReleaseCache();
    const secrets = [captured("helm-secret-v1.json"), captured("helm-secret-v2.json")];
    selectRelease(secrets, cache);
    selectRelease(secrets, cache);
    expect(cache.stats).toMatchObject({ misses: 2, hits: 2 });
  });
});
