import { describe, expect, it } from "vitest";
import { Teardown } from "../../../demo/teardown.ts";

describe("the demo's teardown", () => {
  it("undoes in reverse order, once, however often it is run", async () => {
    const done: string[] = [];
    const t = new Teardown();
    t.add("stop the bed", () => Promise.resolve(void done.push("bed")));
    t.add("stop Cairn", () => Promise.resolve(void done.push("cairn")));
    expect(t.started).toBe(false);
    await Promise.all([t.run(), t.run()]);
    expect(t.started).toBe(true);
    await t.run();
    expect(done).toEqual(["cairn", "bed"]);
  });

  it("reports a failing step and still runs the others", async () => {
    const done: string[] = [];
    const reports: string[] = [];
    const t = new Teardown();
    t.add("stop the bed", () => Promise.resolve(void done.push("bed")));
    t.add("delete namespace demo", () => Promise.reject(new Error("connection refused")));
    await t.run((line) => reports.push(line));
    expect(done).toEqual(["bed"]);
    expect(reports).toEqual(["could not delete namespace demo: connection refused"]);
  });

  it("refuses new steps once it runs", async () => {
    const t = new Teardown();
    const running = t.run();
    expect(() => t.add("late", () => Promise.resolve())).toThrow(/already running/);
    await running;
  });
});
