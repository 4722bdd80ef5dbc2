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
      ["NAME       VERSION   UPDATE", "web        1.0.0     -", "database   12.4"].join("\n") +
        "\n",
    );
  });

  it("prints the header alone for no rows", () => {
    expect(renderTable(["a", "b"], [])).toBe("A   B\n");
  });
});
