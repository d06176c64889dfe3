/**
 * Per-column summaries of a CSV sample: inferred type, missing values, unique values, ranges and top
 * values, plus their one-line renderings for the data preview.
 */
import { truncate } from "../util/text.ts";
import { isIntString, isMissing, parseNumber } from "./csv.ts";

export type ColumnKind = "int" | "float" | "boolean" | "date" | "datetime" | "categorical" | "text" | "id" | "empty";

export interface ColumnSummary {
  name: string;
  kind: ColumnKind;
  /** For `id`: whether the ids are integers or strings. */
  idOf?: "int" | "string";
  /** Values looked at (rows in the sample). */
  count: number;
  missing: number;
  unique: number;
  /** Numeric columns and integer ids. */
  min?: number;
  max?: number;
  mean?: number;
  /** Dates: earliest and latest value as written. */
  first?: string;
  last?: string;
  /** Most frequent values with counts, most frequent first (categorical, boolean, few-valued numbers). */
  top?: Array<[string, number]>;
  /** Text: average length in characters and one example. */
  avgLength?: number;
  example?: string;
}

const BOOLEAN_TOKENS = new Set(["true", "false", "yes", "no", "t", "f", "y", "n"]);
const DATE_RE = /^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}$/;
const DATETIME_RE = /^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})?$/i;
const US_DATE_RE = /^\d{1,2}\/\d{1,2}\/\d{4}$/;
const US_DATETIME_RE = /^\d{1,2}\/\d{1,2}\/\d{4}[ T]\d{1,2}:\d{2}(:\d{2})?\s*(am|pm)?$/i;
const ID_NAME_RE = /^(id|ids|key|uuid|guid|index)$|(^|[_\s.-])(id|uuid|key)$|[a-z0-9]Id$|[a-z0-9]ID$/;

/** Whether a column name reads like an identifier (`id`, `user_id`, `PassengerId`, `ID`). */
export function looksLikeIdName(name: string): boolean {
  return ID_NAME_RE.test(name.trim()) || /^id$/i.test(name.trim());
}

/** Summarises one column from the sampled values (missing cells included). */
export function summarizeColumn(name: string, values: ReadonlyArray<string | undefined>): ColumnSummary {
  const present: string[] = [];
  for (const v of values) if (!isMissing(v)) present.push((v as string).trim());
  const count = values.length;
  const missing = count - present.length;
  const counts = new Map<string, number>();
  for (const v of present) counts.set(v, (counts.get(v) ?? 0) + 1);
  const unique = counts.size;
  const base: ColumnSummary = { name, kind: "empty", count, missing, unique };
  if (present.length === 0) return base;

  const allUnique = unique === present.length && present.length > 1;
  const idName = looksLikeIdName(name);

  // Numbers
  let numeric = true;
  let ints = true;
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let increasing = true;
  let prev = -Infinity;
  for (const v of present) {
    const n = parseNumber(v);
    if (n === null) {
      numeric = false;
      break;
    }
    if (ints && !isIntString(v)) ints = false;
    if (n < min) min = n;
    if (n > max) max = n;
    if (n <= prev) increasing = false;
    prev = n;
    sum += n;
  }
  if (numeric) {
    if (ints && allUnique && (idName || (increasing && present.length >= 20))) {
      return { ...base, kind: "id", idOf: "int", min, max };
    }
    const summary: ColumnSummary = { ...base, kind: ints ? "int" : "float", min, max, mean: sum / present.length };
    if (unique <= 10) summary.top = topValues(counts, 10);
    return summary;
  }

  // Booleans
  if (unique <= 2 && [...counts.keys()].every((v) => BOOLEAN_TOKENS.has(v.toLowerCase()))) {
    return { ...base, kind: "boolean", top: topValues(counts, 2) };
  }

  // Dates
  const dateKind = inferDateKind(present);
  if (dateKind) {
    let first = present[0] as string;
    let last = first;
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of present) {
      const t = Date.parse(v);
      if (t < lo) {
        lo = t;
        first = v;
      }
      if (t > hi) {
        hi = t;
        last = v;
      }
    }
    return { ...base, kind: dateKind, first, last };
  }

  // Strings
  let totalLength = 0;
  let withSpace = 0;
  for (const v of present) {
    totalLength += v.length;
    if (/\s/.test(v)) withSpace++;
  }
  const avgLength = totalLength / present.length;
  if (allUnique && withSpace === 0 && avgLength <= 64 && (idName || present.length >= 20)) {
    return { ...base, kind: "id", idOf: "string", example: present[0] };
  }
  const lowCardinality = unique <= 50 || unique <= 0.2 * present.length;
  if (lowCardinality && avgLength <= 60) {
    return { ...base, kind: "categorical", top: topValues(counts, 5) };
  }
  if (withSpace > present.length / 2 || avgLength > 30) {
    return { ...base, kind: "text", avgLength, example: present[0] };
  }
  // High-cardinality short strings: still categorical, but say so.
  return { ...base, kind: "categorical", top: topValues(counts, 3) };
}

function inferDateKind(values: ReadonlyArray<string>): "date" | "datetime" | null {
  let time = false;
  for (const v of values) {
    if (DATE_RE.test(v) || US_DATE_RE.test(v)) {
      // plain date
    } else if (DATETIME_RE.test(v) || US_DATETIME_RE.test(v)) {
      time = true;
    } else {
      return null;
    }
    if (Number.isNaN(Date.parse(v))) return null;
  }
  return time ? "datetime" : "date";
}

function topValues(counts: Map<string, number>, n: number): Array<[string, number]> {
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, n);
}

/** A compact number: integers as written, others with 4 significant digits. */
export function fmtNum(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (Number.isInteger(x) && Math.abs(x) < 1e12) return String(x);
  const abs = Math.abs(x);
  if (abs !== 0 && (abs >= 1e7 || abs < 1e-3)) return x.toExponential(2);
  return String(Number(x.toPrecision(4)));
}

function clip(s: string, n: number): string {
  const oneLine = s.replace(/\s+/g, " ");
  return truncate(oneLine, n);
}

function fmtTop(top: ReadonlyArray<[string, number]>, more: boolean): string {
  const parts = top.map(([v, c]) => `${clip(v, 24)} (${c})`);
  return parts.join(", ") + (more ? ", …" : "");
}

export function missingText(missing: number, count: number): string {
  if (missing === 0) return "no missing";
  const pct = (100 * missing) / count;
  const pctText = pct < 0.1 ? "<0.1" : pct >= 99.95 ? "100" : pct.toFixed(1);
  return `${missing} missing (${pctText}%)`;
}

/** The part of a column's line after its name, e.g. `int, 18–75, mean 41.2, 58 unique; no missing`. */
export function describeColumn(s: ColumnSummary): string {
  const miss = missingText(s.missing, s.count);
  switch (s.kind) {
    case "empty":
      return "all missing";
    case "id":
      return s.idOf === "int"
        ? `id-like int, all unique, ${fmtNum(s.min ?? 0)} to ${fmtNum(s.max ?? 0)}; ${miss}`
        : `id-like string, all unique, e.g. ${clip(s.example ?? "", 24)}; ${miss}`;
    case "int":
    case "float": {
      if (s.unique === 1) return `${s.kind}, constant ${fmtNum(s.min ?? 0)}; ${miss}`;
      const range = `${fmtNum(s.min ?? 0)} to ${fmtNum(s.max ?? 0)}`;
      const values = s.top && s.unique <= 10 ? `, values ${fmtTop(s.top, false)}` : `, ${s.unique} unique`;
      return `${s.kind}, ${range}, mean ${fmtNum(s.mean ?? 0)}${values}; ${miss}`;
    }
    case "boolean":
      return `boolean, ${fmtTop(s.top ?? [], false)}; ${miss}`;
    case "date":
    case "datetime":
      return `${s.kind}, ${s.first} to ${s.last}, ${s.unique} unique; ${miss}`;
    case "categorical": {
      if (s.unique === 1) return `categorical, constant ${clip(s.top?.[0]?.[0] ?? "", 40)}; ${miss}`;
      const shown = s.top?.length ?? 0;
      const label = s.unique > 50 ? "categorical (high cardinality)" : "categorical";
      return `${label}, ${s.unique} unique: ${fmtTop(s.top ?? [], s.unique > shown)}; ${miss}`;
    }
    case "text":
      return `text, ${s.unique} unique, avg ${Math.round(s.avgLength ?? 0)} chars, e.g. "${clip(s.example ?? "", 40)}"; ${miss}`;
  }
}

/** Columns whose names differ only in their digits (`pixel_0`, `pixel_1`, ...) share a stem. */
export function nameStem(name: string): string {
  return name.trim().replace(/\d+/g, "#");
}

/** A one-line description of several similar columns of the same kind. */
export function describeGroup(members: ReadonlyArray<ColumnSummary>): string {
  const first = members[0] as ColumnSummary;
  const kind = first.kind;
  const totalMissing = members.reduce((a, s) => a + s.missing, 0);
  const withMissing = members.filter((s) => s.missing > 0).length;
  const missing =
    totalMissing === 0
      ? "no missing"
      : `${totalMissing} missing in ${withMissing} column${withMissing === 1 ? "" : "s"}`;
  const uLo = Math.min(...members.map((s) => s.unique));
  const uHi = Math.max(...members.map((s) => s.unique));
  const uniques = uLo === uHi ? `${uLo} unique each` : `${uLo}–${uHi} unique each`;
  if (kind === "int" || kind === "float") {
    const lo = Math.min(...members.map((s) => s.min ?? Infinity));
    const hi = Math.max(...members.map((s) => s.max ?? -Infinity));
    const mLo = Math.min(...members.map((s) => s.mean ?? Infinity));
    const mHi = Math.max(...members.map((s) => s.mean ?? -Infinity));
    return `${kind}, ${fmtNum(lo)} to ${fmtNum(hi)}, means ${fmtNum(mLo)} to ${fmtNum(mHi)}, ${uniques}; ${missing}`;
  }
  if (kind === "empty") return "all missing";
  return `${kind}, ${uniques}; ${missing}`;
}
