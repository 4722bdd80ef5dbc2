// Small checks on text that crosses into git or YAML.

/** C0 controls, DEL and the Unicode line separators: a line break in disguise. */
export function hasControlChar(text: string): boolean {
  for (const ch of text) {
    const code = ch.codePointAt(0) ?? 0;
    if (code < 0x20 || code === 0x7f || code === 0x85 || code === 0x2028 || code === 0x2029) {
      return true;
    }
  }
  return false;
}
