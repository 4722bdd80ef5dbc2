import { describe, expect, it } from "vitest";
import { renderTable } from "../../../src/cli/format/table.ts";

describe("renderTable", () => {
  it("pads columns to the widest cell, three spaces apart, without trailing blanks", () => {
    const text = renderTable(
      ["name", "version", "update"],
      [
        ["web", "1.0.0", "-"],
        ["database", "12.4", ""],
      ],
    );
    expect(text).toBe(
      ["NAME       VERSION   UPDATE", "web        1.0.0     -", "database   12.4      -"].join(
        "\n",
      ) + "\n",
    );
  });

  it("prints the header alone for no rows, and only rows with noHeaders", () => {
    expect(renderTable(["a", "b"], [])).toBe("A   B\n");
    expect(renderTable(["a", "b"], [["x", "y"]], { noHeaders: true })).toBe("x   y\n");
    expect(renderTable(["a", "b"], [], { noHeaders: true })).toBe("");
  });

  it("never lets a cell hold whitespace, so awk splits rows into the columns", () => {
    const text = renderTable(["a", "b", "c"], [["x y", " p\tq ", "last one"]]);
    expect(text.split("\n")[1]).toBe("x_y   p_q   last_one");
    expect(text.split("\n")[1]?.split(/\s+/)).toHaveLength(3);
    // Prose in the last column (an event's message) keeps its spaces when asked.
    const prose = renderTable(["a", "message"], [["x y", "it went fine"]], { freeTextLast: true });
    expect(prose.split("\n")[1]).toBe("x_y   it went fine");
  });
});
