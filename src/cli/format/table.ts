// kubectl's table layout: upper-case headers, columns padded to their widest cell and three
// spaces apart, no trailing blanks, so `awk '{print $2}'` works on the output: a cell never holds
// whitespace (the formatters avoid it; any that slips in becomes "_"), but for a last column of prose.

const GAP = "   ";

export interface TableStyle {
  /** kubectl's --no-headers: rows only. */
  readonly noHeaders?: boolean;
  /** The last column holds prose (an event's message) and keeps its spaces; it is last, so awk still splits the others. */
  readonly freeTextLast?: boolean;
  /** Every cell keeps its spaces: for summaries people read (the demo's), never the plugin's tables. */
  readonly prose?: boolean;
}

/** One cell, whitespace-free; an empty one shows "-". */
export function cell(text: string): string {
  const compact = text.trim().replace(/\s+/g, "_");
  return compact === "" ? "-" : compact;
}

export function renderTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  style: TableStyle = {},
): string {
  const last = headers.length - 1;
  const body = rows.map((row) =>
    row.map((text, col) =>
      style.prose || (style.freeTextLast && col === last) ? text.trim() || "-" : cell(text),
    ),
  );
  const all = style.noHeaders ? body : [headers.map((h) => h.toUpperCase()), ...body];
  if (all.length === 0) return "";
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
