/**
 * `text` shortened to at most `max` characters (UTF-16 code units, as platforms count them), ending in `marker`
 * when it was cut. The cut never splits a surrogate pair (an emoji), and whitespace before the marker is dropped,
 * so the marker follows the last word kept.
 */
export function truncate(text: string, max: number, marker = "…"): string {
  if (text.length <= max) return text;
  let end = Math.max(0, max - marker.length);
  const last = text.charCodeAt(end - 1);
  if (end > 0 && last >= 0xd800 && last <= 0xdbff) end--;
  return text.slice(0, end).trimEnd() + marker.slice(0, max);
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;

/** Whether `text` holds a control character (C0 or DEL), as file names and archive entries must not. */
export function hasControlCharacter(text: string): boolean {
  return CONTROL_CHARACTER.test(text);
}

/** `text` with every control character (C0 or DEL) replaced by `by`. */
export function replaceControlCharacters(text: string, by: string): string {
  return text.replace(new RegExp(CONTROL_CHARACTER.source, "g"), by);
}

/** The text with its first letter in upper case, for a sentence that starts with a lower-case line. */
export function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** The text ending in one newline at least (a script or file as written to disk or attached). */
export function withFinalNewline(text: string): string {
  return text.endsWith("\n") ? text : `${text}\n`;
}
