import { describe, expect, it } from "vitest";
import {
  isApiUnreachable,
  isKubeError,
  KubeError,
  kubeErrorFromStatus,
} from "../../../src/kube/errors.ts";

describe("kubeErrorFromStatus", () => {
  it.each([
    [404, {}, "NotFound"],
    [409, { reason: "AlreadyExists" }, "AlreadyExists"],
    [409, { reason: "Conflict" }, "Conflict"],
    [410, {}, "Gone"],
    [401, {}, "Unauthorized"],
    [403, {}, "Forbidden"],
    [422, {}, "Invalid"],
    [400, {}, "BadRequest"],
    [429, {}, "Transient"],
    [503, {}, "Transient"],
    [418, {}, "Unknown"],
  ] as const)("maps %i %j to %s", (status, body, code) => {
    const err = kubeErrorFromStatus(status, body, "get Pod a/b");
    expect(err).toBeInstanceOf(KubeError);
    expect(err.code).toBe(code);
    expect(err.status).toBe(status);
  });

  it("keeps the API server's message and the context", () => {
    const err = kubeErrorFromStatus(
      409,
      JSON.stringify({ reason: "AlreadyExists", message: 'pods "a" already exists' }),
      "create Pod ns/a",
    );
    expect(err.code).toBe("AlreadyExists");
    expect(err.message).toBe('create Pod ns/a: pods "a" already exists');
    expect(isKubeError(err, "AlreadyExists")).toBe(true);
    expect(isKubeError(err, "Conflict")).toBe(false);
  });

  it("treats a body that is not JSON as the message", () => {
    expect(kubeErrorFromStatus(500, "boom", "list").message).toBe("list: boom");
  });
});

describe("isApiUnreachable", () => {
  it("is true for no answer at all and for 502/503/504, also wrapped", () => {
    const refused = new KubeError("Transient", "get x: connect ECONNREFUSED 127.0.0.1:6443");
    expect(isApiUnreachable(refused)).toBe(true);
    expect(isApiUnreachable(kubeErrorFromStatus(503, {}, "get x"))).toBe(true);
    expect(isApiUnreachable(kubeErrorFromStatus(504, {}, "get x"))).toBe(true);
    expect(isApiUnreachable(new Error("step failed", { cause: refused }))).toBe(true);
  });

  it("is false for an answer about the request, throttling, and other errors", () => {
    expect(isApiUnreachable(kubeErrorFromStatus(500, {}, "get x"))).toBe(false);
    expect(isApiUnreachable(kubeErrorFromStatus(429, {}, "get x"))).toBe(false);
    expect(isApiUnreachable(kubeErrorFromStatus(409, {}, "get x"))).toBe(false);
    expect(isApiUnreachable(new Error("git push failed"))).toBe(false);
    expect(isApiUnreachable("ECONNREFUSED")).toBe(false);
  });
});
