// kubectl's table layout: upper-case headers, columns padded to their widest cell and three
// spaces apart, no trailing blanks, so `awk '{print $2}'` works on the output.

const GAP = "   ";

export function renderTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const all = [headers.map((h) => h.toUpperCase()), ...rows];
  const widths = headers.map((_, col) => Math.max(...all.map((row) => (row[col] ?? "").length)));
  const lines = all.map((row) =>
    headers
      .map((_, col) => {
        const cell = row[col] ?? "";
        return col === headers.length - 1 ? cell : cell.padEnd(widths[col] ?? 0);
      })
      .join(GAP)
      .trimEnd(),
  );
  return `${lines.join("\n")}\n`;
}
