/**
 * Splitting and shortening Discord message text without breaking markdown: a chunk that ends inside a code
 * block closes it, and the next chunk reopens it with the same language, so every chunk renders on its own.
 */
import { truncate } from "../../src/util/text.ts";

const FENCE = /^\s*```/;
const CLOSE = "\n```";

/** The opening fence of a line (e.g. "```python"), or null. A fence line toggles the code-block state. */
function fenceOf(line: string): string | null {
  return FENCE.test(line) ? line.trim() : null;
}

/** Cuts one long line into pieces of at most `size` characters, at a space when one is near the end. */
function cutLine(line: string, size: number): string[] {
  const out: string[] = [];
  let rest = line;
  while (rest.length > size) {
    let at = rest.lastIndexOf(" ", size);
    if (at < size * 0.6) at = size;
    out.push(rest.slice(0, at));
    rest = rest.slice(at === size ? at : at + 1);
  }
  out.push(rest);
  return out;
}

/**
 * Splits `text` into chunks of at most `limit` characters, at line boundaries (long lines are cut), keeping code
 * fences balanced in every chunk. Empty input gives no chunks.
 */
export function splitContent(text: string, limit: number): string[] {
  if (limit < 40) throw new Error("splitContent: limit too small");
  if (text.length <= limit && !unbalanced(text)) return text.trim() ? [text] : [];
  const chunks: string[] = [];
  let lines: string[] = [];
  let size = 0;
  /** The fence that opened the code block we are in, or null outside code. */
  let open: string | null = null;

  const flush = () => {
    if (lines.length === 0) return;
    let chunk = lines.join("\n");
    if (open) chunk += CLOSE;
    if (chunk.replace(/```[^\n]*\n?```/g, "").trim()) chunks.push(chunk);
    lines = open ? [open] : [];
    size = open ? open.length : 0;
  };
  const add = (line: string) => {
    size += (lines.length ? 1 : 0) + line.length;
    lines.push(line);
  };
  /** Room needed after `line` so the chunk can still be closed. */
  const reserve = (inCode: boolean) => (inCode ? CLOSE.length : 0);

  const source = text.split("\n");
  for (let i = 0; i < source.length; i++) {
    const raw = source[i]!;
    const fence = fenceOf(raw);
    if (fence && !open) {
      // An opening fence must not be the last line of a chunk: keep room for it, one line and the close.
      const next = Math.min((source[i + 1] ?? "").length, 200);
      if (size + 1 + raw.length + 1 + next + CLOSE.length > limit) flush();
      add(raw.length > limit / 4 ? "```" : raw);
      open = raw.length > limit / 4 ? "```" : raw.trim();
      continue;
    }
    if (fence && open) {
      // A closing fence: it fits wherever the reserve was kept.
      open = null;
      add("```");
      continue;
    }
    const room = limit - reserve(open !== null) - (open ? open.length + 1 : 0);
    for (const piece of cutLine(raw, Math.max(20, room))) {
      if (size + (lines.length ? 1 : 0) + piece.length + reserve(open !== null) > limit) flush();
      add(piece);
    }
  }
  // Input with an unclosed fence: close it in the last chunk.
  if (lines.length) {
    let chunk = lines.join("\n");
    if (open) chunk += CLOSE;
    if (chunk.replace(/```[^\n]*\n?```/g, "").trim()) chunks.push(chunk);
  }
  return chunks;
}

/** True when the text has an odd number of fence lines (a code block left open). */
export function unbalanced(text: string): boolean {
  return text.split("\n").filter((l) => FENCE.test(l)).length % 2 === 1;
}

/**
 * Shortens `text` to at most `limit` characters with a trailing ellipsis, closing a code block that the cut
 * leaves open. For places that hold one piece of text only (embed descriptions, message edits).
 */
export function truncateText(text: string, limit: number): string {
  if (text.length <= limit && !unbalanced(text)) return text;
  if (text.length <= limit)
    return text.length + CLOSE.length <= limit
      ? text + CLOSE
      : truncateText(text.slice(0, limit - CLOSE.length), limit);
  const first = splitContent(text, Math.max(40, limit - 2))[0] ?? "";
  const marker = "…";
  if (unbalanced(first)) return first.slice(0, limit - CLOSE.length) + CLOSE;
  // splitContent closed any open block; put the ellipsis before the closing fence when there is one.
  if (first.endsWith(CLOSE) && text.length > first.length) return `${first.slice(0, -CLOSE.length)}\n${marker}${CLOSE}`;
  return (first + marker).slice(0, limit);
}

/** Plain one-line shortening (titles, labels, field names). */
export function clip(text: string, limit: number): string {
  return truncate(text, limit);
}
