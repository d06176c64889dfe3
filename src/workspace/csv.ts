/**
 * Small CSV helpers shared by the data preview and the submission checker. Everything streams: a file is
 * never loaded whole, so inputs of a few hundred MB keep memory flat.
 */
import { createReadStream } from "node:fs";
import { parse } from "csv-parse";

/** Longest single record accepted (bytes); protects against a huge file with no line breaks. */
const MAX_RECORD_BYTES = 16 * 1024 * 1024;

export function delimiterFor(path: string): string {
  return /\.tsv$/i.test(path) ? "\t" : ",";
}

/**
 * Yields the records of a CSV file (the header first) as arrays of strings. Rows may have differing
 * lengths; blank lines are skipped. Stops reading the file when the consumer breaks out of the loop.
 * Throws on unreadable files and malformed CSV (the error's message names the line).
 */
export async function* iterateCsv(path: string, options: { delimiter?: string } = {}): AsyncGenerator<string[]> {
  const source = createReadStream(path);
  const parser = parse({
    bom: true,
    delimiter: options.delimiter ?? delimiterFor(path),
    relax_column_count: true,
    relax_quotes: true,
    skip_empty_lines: true,
    max_record_size: MAX_RECORD_BYTES,
  });
  source.on("error", (err) => parser.destroy(err));
  source.pipe(parser);
  try {
    for await (const record of parser as AsyncIterable<string[]>) {
      yield record;
    }
  } finally {
    source.unpipe(parser);
    source.destroy();
    parser.destroy();
  }
}

/**
 * Same records as `iterateCsv` (for well-formed files), several times faster on large files: lines
 * without quotes are split directly, quoted records (possibly spanning lines) by `splitQuoted`.
 */
export async function* iterateCsvFast(path: string, options: { delimiter?: string } = {}): AsyncGenerator<string[]> {
  const delimiter = options.delimiter ?? delimiterFor(path);
  const source = createReadStream(path, { encoding: "utf8" });
  let rest = "";
  let first = true;
  let pending: string | null = null; // a quoted record still open at the end of a line
  let pendingState: QuoteState = { inQuotes: false, prev: "\n", justClosed: false };
  let lineNo = 0;
  let pendingLine = 0;

  const finish = (line: string): string[] | null => {
    if (line.endsWith("\r")) line = line.slice(0, -1);
    if (line.trim() === "" && !line.includes(delimiter)) return null;
    return line.includes('"') ? splitQuoted(line, delimiter) : line.split(delimiter);
  };

  try {
    for await (const chunk of source) {
      let text = rest + (chunk as string);
      if (first) {
        if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
        first = false;
      }
      let start = 0;
      for (;;) {
        const nl = text.indexOf("\n", start);
        if (nl === -1) break;
        const line = text.slice(start, nl);
        start = nl + 1;
        lineNo++;
        if (pending !== null) {
          pending += `\n${line}`;
          pendingState = scanQuotes(`\n${line}`, delimiter, pendingState);
          if (pendingState.inQuotes) {
            if (pending.length > MAX_RECORD_BYTES)
              throw new Error(`record starting at line ${pendingLine} is too long or has an unclosed quote`);
            continue;
          }
          const rec = finish(pending);
          pending = null;
          if (rec) yield rec;
          continue;
        }
        if (line.includes('"')) {
          const state = scanQuotes(line, delimiter, { inQuotes: false, prev: "\n", justClosed: false });
          if (state.inQuotes) {
            pending = line;
            pendingState = state;
            pendingLine = lineNo;
            continue;
          }
        }
        const rec = finish(line);
        if (rec) yield rec;
      }
      rest = text.slice(start);
      if (rest.length > MAX_RECORD_BYTES)
        throw new Error(`line ${lineNo + 1} is longer than ${MAX_RECORD_BYTES} characters`);
    }
    const last = pending !== null ? `${pending}${rest ? `\n${rest}` : ""}` : rest;
    if (pending !== null) {
      const state = rest ? scanQuotes(`\n${rest}`, delimiter, pendingState) : pendingState;
      if (state.inQuotes)
        throw new Error(
          `Quote Not Closed: the record starting at line ${pendingLine} has an opening quote that is never closed`,
        );
    } else if (
      rest.includes('"') &&
      scanQuotes(rest, delimiter, { inQuotes: false, prev: "\n", justClosed: false }).inQuotes
    ) {
      throw new Error(`Quote Not Closed: the record at line ${lineNo + 1} has an opening quote that is never closed`);
    }
    if (last) {
      const rec = finish(last);
      if (rec) yield rec;
    }
  } finally {
    source.destroy();
  }
}

/**
 * One CSV record as a line (no line break): a field is quoted, its quotes doubled, only where it holds the
 * delimiter, a quote or a line break, so that `iterateCsv` and pandas read back exactly the fields written.
 */
export function formatCsvRecord(fields: readonly string[], delimiter = ","): string {
  if (fields.length === 1 && fields[0] === "") return '""'; // a blank line would be no record at all
  return fields
    .map((field) => (field.includes(delimiter) || /["\r\n]/.test(field) ? `"${field.replaceAll('"', '""')}"` : field))
    .join(delimiter);
}

/**
 * Splits one complete record that contains quotes: a field that starts with `"` runs to the matching
 * closing quote (`""` is an escaped quote); anything after the closing quote up to the delimiter is kept
 * literally, and a quote inside an unquoted field is literal (csv-parse's relax_quotes).
 */
export function splitQuoted(record: string, delimiter: string): string[] {
  const fields: string[] = [];
  let i = 0;
  const n = record.length;
  for (;;) {
    let field = "";
    if (record[i] === '"') {
      i++;
      for (;;) {
        const q = record.indexOf('"', i);
        if (q === -1) {
          field += record.slice(i);
          i = n;
          break;
        }
        field += record.slice(i, q);
        if (record[q + 1] === '"') {
          field += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
    }
    const d = record.indexOf(delimiter, i);
    if (d === -1) {
      fields.push(field + record.slice(i));
      return fields;
    }
    fields.push(field + record.slice(i, d));
    i = d + delimiter.length;
  }
}

interface QuoteState {
  inQuotes: boolean;
  prev: string;
  justClosed: boolean;
}

/** Follows quoting through `text` with the rules of `countCsvRecords`. */
function scanQuotes(text: string, delimiter: string, state: QuoteState): QuoteState {
  let { inQuotes, prev, justClosed } = state;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (inQuotes) {
      if (c === '"') {
        inQuotes = false;
        justClosed = true;
      }
    } else if (c === '"') {
      if (prev === delimiter || prev === "\n" || prev === "\r" || justClosed) inQuotes = true;
      justClosed = false;
    } else {
      justClosed = false;
    }
    prev = c;
  }
  return { inQuotes, prev, justClosed };
}

export interface CsvHead {
  header: string[];
  /** Up to `maxRows` data rows after the header. */
  rows: string[][];
  /** True when the file has more data rows than were read. */
  more: boolean;
}

/** Reads the header and the first `maxRows` data rows. */
export async function readCsvHead(path: string, maxRows: number): Promise<CsvHead> {
  let header: string[] | null = null;
  const rows: string[][] = [];
  let more = false;
  for await (const record of iterateCsv(path)) {
    if (header === null) {
      header = record;
      continue;
    }
    if (rows.length >= maxRows) {
      more = true;
      break;
    }
    rows.push(record);
  }
  return { header: header ?? [], rows, more };
}

/**
 * Counts the non-blank records of a CSV file (the header included) in one streaming pass over its bytes.
 * Quote-aware: a line break inside a quoted field does not start a record; a stray quote in the middle of
 * an unquoted field (e.g. `5'10"`) is taken literally, as csv-parse's relax_quotes does.
 */
export async function countCsvRecords(path: string, delimiter: string = delimiterFor(path)): Promise<number> {
  const QUOTE = 34;
  const LF = 10;
  const CR = 13;
  const DELIM = delimiter.charCodeAt(0);
  let records = 0;
  let inQuotes = false;
  let justClosed = false;
  let lineHasContent = false;
  let prev = LF; // start of file behaves like the start of a line
  for await (const chunk of createReadStream(path)) {
    const buf = chunk as Buffer;
    // Fast path: no quotes in play, only count line breaks.
    if (!inQuotes && buf.indexOf(QUOTE) === -1) {
      for (let i = 0; i < buf.length; i++) {
        const c = buf[i]!;
        if (c === LF) {
          if (lineHasContent) records++;
          lineHasContent = false;
        } else if (c !== CR) {
          lineHasContent = true;
        }
      }
      justClosed = false;
      if (buf.length > 0) prev = buf[buf.length - 1]!;
      continue;
    }
    for (let i = 0; i < buf.length; i++) {
      const c = buf[i]!;
      if (inQuotes) {
        if (c === QUOTE) {
          inQuotes = false;
          justClosed = true;
        }
      } else if (c === QUOTE) {
        lineHasContent = true;
        // Opens a quoted field at the start of a field, or re-opens after `""` (an escaped quote).
        if (prev === DELIM || prev === LF || prev === CR || justClosed) inQuotes = true;
        justClosed = false;
      } else {
        justClosed = false;
        if (c === LF) {
          if (lineHasContent) records++;
          lineHasContent = false;
        } else if (c !== CR) {
          lineHasContent = true;
        }
      }
      prev = c;
    }
  }
  if (lineHasContent) records++;
  return records;
}

/** Values that pandas reads as missing by default (plus the empty string). */
const MISSING_TOKENS = new Set(["", "na", "n/a", "nan", "null", "none", "<na>", "#n/a", "-nan", "nat"]);

export function isMissing(value: string | undefined): boolean {
  if (value === undefined) return true;
  const v = value.trim();
  return v.length === 0 || (v.length <= 4 && MISSING_TOKENS.has(v.toLowerCase()));
}

const NUMBER_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const INT_RE = /^[+-]?\d+$/;

/** The value as a finite number, or null when it is not a plain decimal number. */
export function parseNumber(value: string): number | null {
  const v = value.trim();
  if (!NUMBER_RE.test(v)) return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}

export function isIntString(value: string): boolean {
  return INT_RE.test(value.trim());
}
