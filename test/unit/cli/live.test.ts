import { describe, expect, it } from "vitest";
import { LiveOutput, type Writer } from "../../../src/cli/live.ts";

function writer(isTTY: boolean): Writer & { text: string } {
  return {
    isTTY,
    columns: 30,
    text: "",
    write(chunk: string) {
      this.text += chunk;
      return true;
    },
  };
}

describe("LiveOutput", () => {
  it("writes permanent lines only when the stream is not a terminal", () => {
    const out = writer(false);
    let calls = 0;
    const live = new LiveOutput(out, () => {
      calls++;
      return "status";
    });
    live.start();
    live.line("✓ Plan 1s");
    live.update();
    live.stop();
    expect(out.text).toBe("✓ Plan 1s\n");
    expect(calls).toBe(0);
  });

  it("redraws the status line below permanent lines on a terminal, cut to its width", () => {
    const out = writer(true);
    let status = "… Planning";
    const live = new LiveOutput(out, () => status);
    live.start();
    live.line("✓ Plan 1s");
    status = `… Suspending: Suspend ${"x".repeat(40)}`;
    live.update();
    live.stop();
    live.line("done");
    const CLEAR = "\r\x1b[2K";
    expect(out.text).toBe(
      `${CLEAR}… Planning${CLEAR}✓ Plan 1s\n${CLEAR}… Planning${CLEAR}… Suspending: Suspend xxxxxx…${CLEAR}done\n`,
    );
  });
});
