import { randomBytes } from "node:crypto";
import { gzip } from "pako";
import { describe, expect, it } from "vitest";
import { DEFAULT_LIMITS, decodeRelease, type DecodeResult } from "../../../src/helm/release.ts";
import { decodeReleaseSecret } from "../../../src/helm/secret.ts";
import { captured, derive } from "../../fixtures/load.ts";
import {
  apiLayer,
  encodeRelease,
  encodeReleaseBytes,
  helmBytes,
  releaseData,
  releaseJson,
} from "./encode.ts";

// Building a 10 MB (or 64 MB) fixture takes seconds on a busy 2-CPU machine; the limits under
// test are about sizes, and the gzip bomb test checks its own time bound.
const BIG_FIXTURE_TIMEOUT_MS = 30_000;

function errorOf(result: DecodeResult) {
  if (result.ok) throw new Error("expected a decode error");
  return result.error;
}

describe("decodeRelease on Secrets captured from helm-controller", () => {
  it("stores the release gzip-compressed under two base64 layers", () => {
    expect([...helmBytes(captured("helm-secret-v1.json")).subarray(0, 3)]).toEqual([
      0x1f, 0x8b, 0x08,
    ]);
  });

  it.each([
    ["helm-secret-v1-deployed.json", 1, "deployed", "1.0.0"],
    ["helm-secret-v1.json", 1, "superseded", "1.0.0"],
    ["helm-secret-v2.json", 2, "deployed", "1.1.0"],
    ["helm-secret-v3-pending.json", 3, "pending-upgrade", "2.0.0"],
    ["helm-secret-v3-failed.json", 3, "failed", "2.0.0"],
  ])("%s is revision %i, %s, chart %s", (file, version, status, chartVersion) => {
    const result = decodeRelease(releaseData(captured(file)));
    if (!result.ok) throw new Error(result.error.message);
    const r = result.release;
    expect(r).toMatchObject({ name: "demo", namespace: "shop", version });
    expect(r.info.status).toBe(status);
    expect(r.chart.metadata).toEqual({
      name: "demo",
      version: chartVersion,
      appVersion: chartVersion,
    });
    expect(r.config).toEqual({ storageClassName: "" });
    expect(r.info.first_deployed).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(r.info.last_deployed).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(r.manifest).toContain("kind: StatefulSet");
    expect(r.manifest).toContain(`helm.sh/chart: demo-${chartVersion}`);
  });

  it("drops what Cairn does not read (chart templates and files) from the parsed release", () => {
    const result = decodeRelease(releaseData(captured("helm-secret-v1.json")));
    expect(result.ok && Object.keys(result.release).sort()).toEqual(
      ["chart", "config", "info", "manifest", "name", "namespace", "version"].sort(),
    );
    expect(result.ok && Object.keys(result.release.chart)).toEqual(["metadata"]);
  });

  it("reads a release stored without gzip, as old Helm versions wrote it", () => {
    const json = releaseJson(captured("helm-secret-v1.json"));
    const result = decodeRelease(encodeRelease(json, false));
    expect(result.ok && result.release.chart.metadata.version).toBe("1.0.0");
  });

  it("treats absent config and manifest as empty (Go's omitempty)", () => {
    const json = derive(releaseJson(captured("helm-secret-v1.json")), (j) => {
      delete j["config"];
      delete j["manifest"];
    });
    const result = decodeRelease(encodeRelease(json));
    expect(result.ok && result.release.config).toEqual({});
    expect(result.ok && result.release.manifest).toBe("");
  });
});

describe("decodeRelease on bad input", () => {
  const v1 = () => releaseJson(captured("helm-secret-v1.json"));

  it.each([
    ["a character outside the alphabet", "SDRz*SUFB"],
    ["a wrong length", "SDRzSUFBQ"],
    ["padding in the middle", "SD=zSUFB"],
    ["whitespace", "SDRz SUFB"],
  ])("rejects API base64 with %s", (_what, data) => {
    expect(errorOf(decodeRelease(data))).toMatchObject({ code: "InvalidBase64", layer: "api" });
  });

  it("rejects a Helm layer that is not base64", () => {
    const data = Buffer.from("this is not base64!").toString("base64");
    expect(errorOf(decodeRelease(data))).toMatchObject({ code: "InvalidBase64", layer: "helm" });
  });

  it("says so when the API layer was already removed (one decode too many)", () => {
    const onceDecoded = Buffer.from(
      releaseData(captured("helm-secret-v1.json")),
      "base64",
    ).toString("latin1");
    const error = errorOf(decodeRelease(onceDecoded));
    expect(error).toMatchObject({ code: "InvalidBase64", layer: "helm" });
    expect(error.message).toContain("decoded once too often");
  });

  it("rejects corrupt gzip data", () => {
    const packed = gzip(new TextEncoder().encode(JSON.stringify(v1())));
    packed[30] = (packed[30] ?? 0) ^ 0xff;
    packed[31] = (packed[31] ?? 0) ^ 0xff;
    expect(errorOf(decodeRelease(apiLayer(packed))).code).toBe("BadGzip");
  });

  it("rejects a truncated gzip stream", () => {
    const packed = gzip(new TextEncoder().encode(JSON.stringify(v1())));
    const error = errorOf(decodeRelease(apiLayer(packed.subarray(0, packed.length - 40))));
    expect(error.code).toBe("BadGzip");
  });

  it("rejects the gzip magic followed by garbage", () => {
    const bytes = new Uint8Array([0x1f, 0x8b, 0x08, ...randomBytes(64)]);
    expect(errorOf(decodeRelease(apiLayer(bytes))).code).toBe("BadGzip");
  });

  it("rejects truncated JSON", () => {
    const text = JSON.stringify(v1());
    const error = errorOf(
      decodeRelease(encodeReleaseBytes(new TextEncoder().encode(text.slice(0, 500)))),
    );
    expect(error.code).toBe("InvalidJson");
  });

  it("rejects bytes that are not UTF-8", () => {
    const error = errorOf(
      decodeRelease(encodeReleaseBytes(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]))),
    );
    expect(error.code).toBe("InvalidUtf8");
  });

  it.each([
    ["a version that is not a number", (j: Record<string, unknown>) => (j["version"] = "one")],
    ["no info", (j: Record<string, unknown>) => delete j["info"]],
    [
      "an unknown status",
      (j: Record<string, unknown>) => ((j["info"] as { status: string }).status = "exploded"),
    ],
    ["no chart metadata", (j: Record<string, unknown>) => (j["chart"] = {})],
  ])("rejects JSON with %s as SchemaMismatch", (_what, change) => {
    const error = errorOf(decodeRelease(encodeRelease(derive(v1(), change))));
    expect(error.code).toBe("SchemaMismatch");
    expect(error.code === "SchemaMismatch" && error.issues.length).toBeGreaterThan(0);
  });

  it("rejects JSON that is not an object", () => {
    expect(errorOf(decodeRelease(encodeRelease([1, 2, 3]))).code).toBe("SchemaMismatch");
  });

  it(
    "rejects a 10 MB release Secret before decoding it",
    { timeout: BIG_FIXTURE_TIMEOUT_MS },
    () => {
      // Random text does not compress: the encoded value is as large as a Secret could never be.
      const json = derive(v1(), (j) => (j["manifest"] = randomBytes(7_500_000).toString("base64")));
      const data = encodeRelease(json);
      expect(data.length).toBeGreaterThan(10_000_000);
      const error = errorOf(decodeRelease(data));
      expect(error).toMatchObject({ code: "TooLarge", stage: "encoded" });
    },
  );

  it(
    "decodes a 10 MB release that fits a Secret compressed, and refuses it under a lower limit",
    { timeout: BIG_FIXTURE_TIMEOUT_MS },
    () => {
      const json = derive(v1(), (j) => (j["manifest"] = "# padding\n".repeat(1_000_000)));
      const data = encodeRelease(json);
      expect(data.length).toBeLessThan(DEFAULT_LIMITS.maxEncodedLength);
      const result = decodeRelease(data);
      expect(result.ok && result.release.manifest.length).toBe(10_000_000);
      const limited = decodeRelease(data, { ...DEFAULT_LIMITS, maxDecodedBytes: 8 * 1024 * 1024 });
      expect(errorOf(limited)).toMatchObject({
        code: "TooLarge",
        stage: "decoded",
        limit: 8 * 1024 * 1024,
      });
    },
  );

  it("stops inflating a gzip bomb at the limit", { timeout: BIG_FIXTURE_TIMEOUT_MS }, () => {
    const bomb = gzip(new Uint8Array(64 * 1024 * 1024).fill(0x20));
    expect(bomb.length).toBeLessThan(100_000);
    const started = performance.now();
    const error = errorOf(decodeRelease(apiLayer(bomb)));
    expect(error).toMatchObject({
      code: "TooLarge",
      stage: "decoded",
      limit: DEFAULT_LIMITS.maxDecodedBytes,
    });
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it("applies the decoded limit to uncompressed releases too", () => {
    const data = encodeReleaseBytes(new Uint8Array(2048).fill(0x20), false);
    const error = errorOf(decodeRelease(data, { ...DEFAULT_LIMITS, maxDecodedBytes: 1024 }));
    expect(error).toMatchObject({ code: "TooLarge", stage: "decoded" });
  });

  it("never throws, whatever it is given", () => {
    const inputs = [
      "",
      "====",
      apiLayer(new Uint8Array()),
      apiLayer(new Uint8Array([0x1f, 0x8b])),
      apiLayer(new Uint8Array([0x1f, 0x8b, 0x08])),
      ...Array.from({ length: 100 }, (_, i) => apiLayer(randomBytes(i * 7))),
      ...Array.from({ length: 100 }, (_, i) => randomBytes(i * 5).toString("base64")),
    ];
    for (const input of inputs) {
      const result = decodeRelease(input);
      expect(result.ok).toBe(false);
    }
  });
});

describe("decodeReleaseSecret", () => {
  it("names the Secret and its revision", () => {
    const result = decodeReleaseSecret(captured("helm-secret-v2.json"));
    expect(result.ok && result.secret).toEqual({
      namespace: "shop",
      name: "sh.helm.release.v1.demo.v2",
      revision: 2,
    });
  });

  it("rejects what is not a Secret", () => {
    for (const value of [undefined, null, 42, "x", {}, { metadata: {} }]) {
      const result = decodeReleaseSecret(value);
      expect(!result.ok && result.error.code).toBe("NotAReleaseSecret");
    }
  });

  it("rejects a Secret of another type", () => {
    const secret = derive(captured("helm-secret-v1.json"), (s) => {
      Object.assign(s, { type: "Opaque" });
    });
    const result = decodeReleaseSecret(secret);
    expect(!result.ok && result.error.code).toBe("NotAReleaseSecret");
  });

  it("reports a Secret without data.release", () => {
    const secret = derive(captured("helm-secret-v1.json"), (s) => {
      Object.assign(s, { data: {} });
    });
    const result = decodeReleaseSecret(secret);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error.code).toBe("MissingData");
    expect(!result.ok && result.secret?.revision).toBe(1);
  });

  it("puts the Secret's name into decode errors", () => {
    const secret = derive(captured("helm-secret-v1.json"), (s) => {
      (s["data"] as { release: string }).release = "%%%";
    });
    const result = decodeReleaseSecret(secret);
    expect(!result.ok && result.error.message).toMatch(
      /^Secret shop\/sh\.helm\.release\.v1\.demo\.v1: data\.release is not valid base64/,
    );
  });
});
