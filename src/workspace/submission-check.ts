/**
 * Checks a node's submission file against the task's sample submission: same columns in the same order,
 * same number of rows, same ids in the same order, and usable predictions. Without a sample submission it
 * checks what it can: a parseable CSV with rows, as many as test.csv when there is one.
 */
import { stat } from "node:fs/promises";
import { basename } from "node:path";
import type { SubmissionChecker } from "../search/types.ts";
import type { Logger } from "../logger.ts";
import { truncate } from "../util/text.ts";
import { countCsvRecords, iterateCsvFast, parseNumber } from "./csv.ts";
import { findTaskFiles } from "./files.ts";

export interface SubmissionCheckerOptions {
  /** Use this sample submission instead of searching `inputDir` for `sample_submission*.csv`. */
  samplePath?: string;
  logger?: Logger;
}

interface SampleReference {
  kind: "sample";
  name: string;
  header: string[];
  ids: string[];
  /** Per column: whether every value in the sample is a finite number. */
  numeric: boolean[];
}

interface BasicReference {
  kind: "basic";
  /** Data rows of the test CSV, or null when there is none. */
  testRows: number | null;
  testName: string | null;
}

type Reference = SampleReference | BasicReference;

/** Most column names listed in a message before it switches to a shorter form. */
const MAX_LISTED_COLUMNS = 8;

export class SampleSubmissionChecker implements SubmissionChecker {
  private reference: Promise<Reference> | null = null;

  constructor(
    private readonly inputDir: string,
    private readonly options: SubmissionCheckerOptions = {},
  ) {}

  /** What the checker compares against, e.g. `sample_submission.csv` or `test.csv row count`; loads the reference. */
  async describe(): Promise<string> {
    const ref = await this.load();
    if (ref.kind === "sample") return `${ref.name} (${ref.header.length} columns, ${ref.ids.length} rows)`;
    return ref.testName ? `${ref.testName} row count (${ref.testRows} rows)` : "a non-empty CSV";
  }

  async check(submissionPath: string): Promise<string | null> {
    const name = basename(submissionPath);
    try {
      const s = await stat(submissionPath);
      if (!s.isFile()) return `${name} is not a file`;
      if (s.size === 0) return `${name} is empty`;
    } catch {
      return `${name} was not written`;
    }
    const ref = await this.load();
    try {
      return ref.kind === "sample"
        ? await compareWithSample(submissionPath, name, ref)
        : await checkBasic(submissionPath, name, ref);
    } catch (err) {
      const msg = err instanceof Error ? (err.message.split("\n")[0] ?? "") : String(err);
      return `${name} is not a valid CSV: ${msg.slice(0, 200)}`;
    }
  }

  private load(): Promise<Reference> {
    this.reference ??= this.loadReference();
    return this.reference;
  }

  private async loadReference(): Promise<Reference> {
    const log = this.options.logger;
    let samplePath = this.options.samplePath;
    let testPath: string | undefined;
    try {
      const files = await findTaskFiles(this.inputDir);
      samplePath ??= files.sampleSubmission;
      testPath = files.test;
    } catch (err) {
      log?.warn({ err, inputDir: this.inputDir }, "cannot look for the task files; submissions get basic checks only");
    }
    if (samplePath) {
      try {
        const ref = await readSample(samplePath);
        log?.debug({ samplePath, rows: ref.ids.length, columns: ref.header }, "sample submission loaded");
        return ref;
      } catch (err) {
        log?.warn({ err, samplePath }, "the sample submission cannot be read; submissions get basic checks only");
      }
    }
    let testRows: number | null = null;
    if (testPath) {
      try {
        testRows = Math.max(0, (await countCsvRecords(testPath)) - 1);
      } catch (err) {
        log?.warn({ err, testPath }, "cannot count the test rows");
      }
    }
    return { kind: "basic", testRows, testName: testRows === null || !testPath ? null : basename(testPath) };
  }
}

async function readSample(path: string): Promise<SampleReference> {
  let header: string[] | null = null;
  const ids: string[] = [];
  let numeric: boolean[] = [];
  for await (const record of iterateCsvFast(path)) {
    if (header === null) {
      header = record.map((h) => h.trim());
      numeric = header.map(() => true);
      continue;
    }
    ids.push((record[0] ?? "").trim());
    for (let c = 1; c < header.length; c++) {
      if (numeric[c] && parseNumber(record[c] ?? "") === null) numeric[c] = false;
    }
  }
  if (header === null || header.length === 0) throw new Error(`${basename(path)} has no header`);
  if (ids.length === 0) numeric = numeric.map(() => false);
  return { kind: "sample", name: basename(path), header, ids, numeric };
}

function listColumns(cols: ReadonlyArray<string>): string {
  if (cols.length <= MAX_LISTED_COLUMNS) return `[${cols.join(", ")}]`;
  return `[${cols.slice(0, MAX_LISTED_COLUMNS - 2).join(", ")}, ... (${cols.length} columns)]`;
}

function columnsReason(got: string[], expected: string[]): string | null {
  if (got.length === expected.length && got.every((c, i) => c === expected[i])) return null;
  if (got.length === expected.length && got.length > MAX_LISTED_COLUMNS) {
    const i = got.findIndex((c, k) => c !== expected[k]);
    return `submission column ${i + 1} is "${got[i]}", expected "${expected[i]}"`;
  }
  return `submission columns are ${listColumns(got)}, expected ${listColumns(expected)}`;
}

function sameId(a: string, b: string): boolean {
  if (a === b) return true;
  const x = parseNumber(a);
  const y = parseNumber(b);
  return x !== null && y !== null && x === y;
}

function shortValue(v: string): string {
  return truncate(v, 40);
}

async function compareWithSample(path: string, name: string, ref: SampleReference): Promise<string | null> {
  const expectedRows = ref.ids.length;
  const hasId = ref.header.length > 1;
  let header: string[] | null = null;
  let rows = 0;
  let idProblem: string | null = null;
  let widthProblem: string | null = null;
  let emptyProblem: string | null = null;
  let numberProblem: string | null = null;
  for await (const record of iterateCsvFast(path)) {
    if (header === null) {
      header = record.map((h) => h.trim());
      const reason = columnsReason(header, ref.header);
      if (reason) return reason;
      continue;
    }
    rows++;
    if (widthProblem === null && record.length !== header.length) {
      widthProblem = `row ${rows} of ${name} has ${record.length} values, expected ${header.length}`;
    }
    if (hasId && idProblem === null && rows <= expectedRows) {
      const got = (record[0] ?? "").trim();
      const expected = ref.ids[rows - 1] ?? "";
      if (!sameId(got, expected)) {
        idProblem = `ids differ from ${ref.name} at row ${rows} (got ${shortValue(got)}, expected ${shortValue(expected)})`;
      }
    }
    if (emptyProblem === null || numberProblem === null) {
      for (let c = hasId ? 1 : 0; c < header.length; c++) {
        const value = (record[c] ?? "").trim();
        if (value === "") {
          emptyProblem ??= `empty prediction in column "${header[c]}" at row ${rows}`;
        } else if (ref.numeric[c] && parseNumber(value) === null) {
          numberProblem ??= `prediction in column "${header[c]}" at row ${rows} is not a finite number (got ${shortValue(value)})`;
        }
      }
    }
  }
  if (header === null) return `${name} is empty`;
  if (rows !== expectedRows) return `submission has ${rows} rows, expected ${expectedRows}`;
  return widthProblem ?? idProblem ?? emptyProblem ?? numberProblem;
}

async function checkBasic(path: string, name: string, ref: BasicReference): Promise<string | null> {
  let header: string[] | null = null;
  let rows = 0;
  let widthProblem: string | null = null;
  for await (const record of iterateCsvFast(path)) {
    if (header === null) {
      header = record;
      continue;
    }
    rows++;
    if (widthProblem === null && record.length !== header.length) {
      widthProblem = `row ${rows} of ${name} has ${record.length} values, expected ${header.length}`;
    }
  }
  if (header === null) return `${name} is empty`;
  if (ref.testRows !== null && rows !== ref.testRows) {
    return `submission has ${rows} rows, expected ${ref.testRows} (the rows of ${ref.testName})`;
  }
  if (rows === 0) return `${name} has a header but no rows`;
  return widthProblem;
}
