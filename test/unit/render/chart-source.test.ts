import { describe, expect, it } from "vitest";
import { chartUrlFromIndex } from "../../../src/render/chart-source.ts";

const INDEX = `
apiVersion: v1
entries:
  demo:
    - version: 1.1.0
      urls: [demo-1.1.0.tgz]
      digest: abc
    - version: v2.0.0
      urls: [https://charts.example.com/demo-2.0.0.tgz]
`;

describe("chartUrlFromIndex", () => {
  it("resolves a relative URL against the repository URL", () => {
    expect(chartUrlFromIndex("http://127.0.0.1:8080", INDEX, "demo", "1.1.0")).toEqual({
      ok: true,
      url: "http://127.0.0.1:8080/demo-1.1.0.tgz",
      digest: "abc",
    });
    expect(chartUrlFromIndex("http://h/charts/", INDEX, "demo", "1.1.0")).toMatchObject({
      url: "http://h/charts/demo-1.1.0.tgz",
    });
  });

  it("keeps an absolute URL and matches versions with or without a leading v", () => {
    expect(chartUrlFromIndex("http://h", INDEX, "demo", "2.0.0")).toEqual({
      ok: true,
      url: "https://charts.example.com/demo-2.0.0.tgz",
    });
  });

  it("says which chart version is missing, and when the index is not an index", () => {
    expect(chartUrlFromIndex("http://h", INDEX, "demo", "9.9.9")).toEqual({
      ok: false,
      message: "chart demo 9.9.9 is not in the repository index",
    });
    expect(chartUrlFromIndex("http://h", "just text", "demo", "1.1.0").ok).toBe(false);
  });
});
