/**
 * Ids for the held-out rows in the scripts' test.csv: of the same type as the task's own ids, and unlike any of
 * them. Integers continue past the largest id of train and test; strings that are a shared prefix and a number
 * ("test_0042") continue the numbering; hex strings of one length (hashes) get random hex of that length; other
 * strings get random letters and digits of their usual length.
 */
import type { Rng } from "../../search/types.ts";
import { isIntString, parseNumber } from "../csv.ts";

export type IdKind = "int" | "string";

/** The key by which ids and labels compare: "7", "+7" and "7.0" are one, as pandas reads them; others as trimmed. */
export function valueKey(value: string): string {
  const text = value.trim();
  if (isIntString(text)) return BigInt(text).toString();
  const n = parseNumber(text);
  return n === null ? text : String(n);
}

/** "int" when every id is an integer, else "string". */
export function idKindOf(ids: Iterable<string>): IdKind {
  for (const id of ids) if (!isIntString(id)) return "string";
  return "int";
}

/**
 * `count` new ids of `kind`, none equal to one of `existing` (the ids of train and test), in increasing order where
 * they are numbered. `rng` draws the random forms.
 */
export function freshIds(existing: readonly string[], kind: IdKind, count: number, rng: Rng): string[] {
  const ids = existing.map((id) => id.trim()).filter((id) => id !== "");
  if (kind === "int") return numbered("", ids, count);
  const pattern = sharedPrefix(ids);
  if (pattern !== null) return numbered(pattern, ids, count);
  return randomIds(ids, count, rng);
}

/** Numbers after `prefix`, continuing past the largest, zero-padded where every existing id is. */
function numbered(prefix: string, ids: readonly string[], count: number): string[] {
  let max: bigint | null = null;
  let width: number | null = null;
  let padded = false;
  for (const id of ids) {
    const digits = id.slice(prefix.length);
    if (!isIntString(digits)) continue;
    const n = BigInt(digits);
    if (max === null || n > max) max = n;
    width = width === null || width === digits.length ? digits.length : -1;
    if (digits.length > 1 && digits.startsWith("0")) padded = true;
  }
  const pad = padded && width !== null && width > 0 ? width : 0;
  const out: string[] = [];
  const last = max ?? 0n;
  for (let i = 1; i <= count; i++) out.push(`${prefix}${(last + BigInt(i)).toString().padStart(pad, "0")}`);
  return out;
}

/** The prefix every id shares before a run of digits that ends it ("test_" of "test_001", "test_002"), or null. */
function sharedPrefix(ids: readonly string[]): string | null {
  let prefix: string | null = null;
  for (const id of ids) {
    const m = /^(.*?\D)(\d+)$/.exec(id);
    if (!m) return null;
    if (prefix === null) prefix = m[1]!;
    else if (prefix !== m[1]) return null;
  }
  return prefix;
}

const HEX = /^[0-9a-f]+$/i;

function randomIds(ids: readonly string[], count: number, rng: Rng): string[] {
  const taken = new Set(ids);
  const lengths = ids.map((id) => id.length).sort((a, b) => a - b);
  const sameLength = lengths.length > 0 && lengths[0] === lengths[lengths.length - 1];
  let alphabet: string;
  let length: number;
  if (sameLength && ids.every((id) => HEX.test(id))) {
    alphabet = ids.some((id) => /[A-F]/.test(id)) && !ids.some((id) => /[a-f]/.test(id)) ? "0123456789ABCDEF" : "";
    alphabet ||= "0123456789abcdef";
    length = lengths[0]!;
  } else {
    const lower = ids.some((id) => /[a-z]/.test(id));
    const upper = ids.some((id) => /[A-Z]/.test(id));
    alphabet = `${lower || !upper ? "abcdefghijklmnopqrstuvwxyz" : ""}${upper ? "ABCDEFGHIJKLMNOPQRSTUVWXYZ" : ""}0123456789`;
    length = Math.max(8, lengths[Math.floor(lengths.length / 2)] ?? 0);
  }
  const out: string[] = [];
  while (out.length < count) {
    let id = "";
    for (let i = 0; i < length; i++) id += alphabet[Math.floor(rng.next() * alphabet.length)];
    if (taken.has(id)) {
      length++; // a crowded space of short ids: longer ones are still of the same form
      continue;
    }
    taken.add(id);
    out.push(id);
  }
  return out;
}
