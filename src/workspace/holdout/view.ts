/**
 * The scripts' view of the data under a holdout: a directory like the user's input directory, in which train.csv
 * lacks the hidden rows and test.csv has them (without their targets, under their fresh ids, in their planned
 * places among the real test rows), sample_submission.csv has a placeholder row for each in the same places, and
 * every other file is a hard link to the user's file (a copy where linking fails). The user's files are only read.
 */
import type { Dirent } from "node:fs";
import { createWriteStream } from "node:fs";
import { copyFile, link, mkdir, readdir, readlink, rm, symlink } from "node:fs/promises";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { DataError, UsageError } from "../../errors.ts";
import { delimiterFor, formatCsvRecord, iterateCsvFast } from "../csv.ts";
import { valueKey } from "./ids.ts";
import type { ActiveHoldoutPlan, HiddenRow } from "./plan.ts";

/**
 * Writes the scripts' view of `inputDir` under `plan` into `outDir`, which must be empty or not exist yet and lie
 * outside `inputDir`. Throws DataError when the user's files no longer match the plan (rows added or removed, a
 * held-out row's target changed): the plan is then to be made again.
 */
export async function writeHoldoutView(inputDir: string, outDir: string, plan: ActiveHoldoutPlan): Promise<void> {
  const root = resolve(inputDir);
  const out = resolve(outDir);
  if (within(root, out) || within(out, root))
    throw new UsageError(`The holdout view ${out} and the input directory ${root} must not lie one inside the other.`);
  let existed = true;
  try {
    if ((await readdir(out)).length > 0) throw new UsageError(`The holdout view's directory ${out} is not empty.`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    existed = false;
  }
  await mkdir(out, { recursive: true });
  try {
    const task = new Set([plan.files.train, plan.files.test, plan.files.sampleSubmission].map((f) => join(root, f)));
    await mirror(root, out, task);
    const hiddenRecords = await writeTrain(root, out, plan);
    const order = await writeTest(root, out, plan, hiddenRecords);
    await writeSample(root, out, plan, order);
  } catch (err) {
    if (existed) await rm(out, { recursive: true, force: true }).then(() => mkdir(out));
    else await rm(out, { recursive: true, force: true });
    throw err;
  }
}

function within(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
}

/** Links (or copies) every file of `from` but the task files into `to`, directories and symlinks as they are. */
async function mirror(from: string, to: string, skip: ReadonlySet<string>): Promise<void> {
  const entries: Dirent[] = await readdir(from, { withFileTypes: true });
  for (const entry of entries) {
    const source = join(from, entry.name);
    const target = join(to, entry.name);
    if (skip.has(source)) continue;
    if (entry.isDirectory()) {
      await mkdir(target);
      await mirror(source, target, skip);
    } else if (entry.isSymbolicLink()) {
      await symlink(await readlink(source), target);
    } else if (entry.isFile()) {
      try {
        await link(source, target);
      } catch {
        await copyFile(source, target);
      }
    }
  }
}

const changed = (plan: ActiveHoldoutPlan, file: string, what: string): DataError =>
  new DataError(`${file} has changed since the holdout was planned (${what}); the holdout must be planned again.`, {
    detail: `input ${plan.inputDir}`,
  });

/** Writes train.csv without the hidden rows; returns its header and the hidden rows' records, by row. */
async function writeTrain(
  root: string,
  out: string,
  plan: ActiveHoldoutPlan,
): Promise<{ header: string[]; rows: Map<number, string[]> }> {
  const name = plan.files.train;
  const path = join(root, name);
  const delimiter = delimiterFor(path);
  const hidden = new Map(plan.hidden.map((h) => [h.row, h] as const));
  const records = new Map<number, string[]>();
  let header: string[] = [];
  let targets: number[] = [];
  let row = -1;
  async function* lines(): AsyncGenerator<string> {
    for await (const record of iterateCsvFast(path)) {
      if (row < 0) {
        header = record.map((h) => h.trim());
        targets = plan.targetColumns.map((c) => header.indexOf(c));
        if (targets.some((c) => c < 0)) throw changed(plan, name, "a target column is gone");
        yield formatCsvRecord(record, delimiter);
      } else {
        const held = hidden.get(row);
        if (!held) yield formatCsvRecord(record, delimiter);
        else {
          const answers = targets.map((c) => (record[c] ?? "").trim());
          if (answers.some((a, j) => a !== held.answers[j]!.trim()))
            throw changed(plan, name, `row ${row + 1}'s target is not the one held out`);
          records.set(row, record);
        }
      }
      row++;
    }
  }
  await writeLines(join(out, name), lines());
  if (row !== plan.counts.trainRows)
    throw changed(plan, name, `${Math.max(0, row)} rows, ${plan.counts.trainRows} when planned`);
  return { header, rows: records };
}

/**
 * Writes test.csv with the hidden rows in their planned places (their features from train.csv, their targets
 * blank, their fresh ids); returns the ids of its rows in order, as keys.
 */
async function writeTest(
  root: string,
  out: string,
  plan: ActiveHoldoutPlan,
  train: { header: string[]; rows: Map<number, string[]> },
): Promise<string[]> {
  const name = plan.files.test;
  const path = join(root, name);
  const delimiter = delimiterFor(path);
  const fromTrain = new Map(train.header.map((column, c) => [column, c] as const).reverse());
  const order: string[] = [];
  let header: string[] = [];
  let idAt = -1;
  let real = -1;
  let placed = 0;
  const hiddenRecord = (row: HiddenRow): string[] => {
    const record = train.rows.get(row.row)!;
    return header.map((column) => {
      if (column === plan.idColumn) return row.id;
      if (plan.targetColumns.includes(column)) return "";
      const c = fromTrain.get(column);
      return c === undefined ? "" : (record[c] ?? "");
    });
  };
  function* due(): Generator<string> {
    while (placed < plan.hidden.length && plan.hidden[placed]!.position === real + placed) {
      const row = plan.hidden[placed]!;
      order.push(valueKey(row.id));
      yield formatCsvRecord(hiddenRecord(row), delimiter);
      placed++;
    }
  }
  async function* lines(): AsyncGenerator<string> {
    for await (const record of iterateCsvFast(path)) {
      if (real < 0) {
        header = record.map((h) => h.trim());
        idAt = header.indexOf(plan.idColumn);
        if (idAt < 0) throw changed(plan, name, `the column ${plan.idColumn} is gone`);
      } else {
        yield* due();
        order.push(valueKey(record[idAt] ?? ""));
      }
      yield formatCsvRecord(record, delimiter);
      real++;
    }
    real = Math.max(0, real);
    yield* due();
  }
  await writeLines(join(out, name), lines());
  if (real !== plan.counts.testRows || placed !== plan.hidden.length)
    throw changed(plan, name, `${real} rows, ${plan.counts.testRows} when planned`);
  return order;
}

/**
 * Writes the sample submission in the order of the scripts' test.csv (`order`, the ids as keys): the user's rows
 * as they are, a hidden row's the placeholder values of the first row under its fresh id.
 */
async function writeSample(
  root: string,
  out: string,
  plan: ActiveHoldoutPlan,
  order: readonly string[],
): Promise<void> {
  const name = plan.files.sampleSubmission;
  const path = join(root, name);
  const delimiter = delimiterFor(path);
  const fresh = new Map(plan.hidden.map((h) => [valueKey(h.id), h.id] as const));
  const rows = new Map<string, string[]>();
  let header: string[] | null = null;
  let placeholder: string[] = [];
  for await (const record of iterateCsvFast(path)) {
    if (header === null) header = record;
    else {
      if (rows.size === 0) placeholder = record.slice(1);
      rows.set(valueKey(record[0] ?? ""), record);
    }
  }
  const missing = order.find((key) => !fresh.has(key) && !rows.has(key));
  if (header === null || rows.size !== plan.counts.testRows || missing !== undefined)
    throw changed(plan, name, "its ids are no longer those of the test rows");
  async function* lines(): AsyncGenerator<string> {
    yield formatCsvRecord(header!, delimiter);
    for (const key of order)
      yield formatCsvRecord(fresh.has(key) ? [fresh.get(key)!, ...placeholder] : rows.get(key)!, delimiter);
  }
  await writeLines(join(out, name), lines());
}

/** Writes lines to a new file (its directory made), in chunks of about 64 KiB. */
async function writeLines(path: string, lines: AsyncIterable<string>): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  async function* chunks(): AsyncGenerator<string> {
    let chunk = "";
    for await (const line of lines) {
      chunk += `${line}\n`;
      if (chunk.length >= 65_536) {
        yield chunk;
        chunk = "";
      }
    }
    if (chunk) yield chunk;
  }
  await pipeline(Readable.from(chunks()), createWriteStream(path));
}
