/**
 * The hidden holdout's plan: which labelled rows of train.csv the scripts never see labelled, and under which ids
 * they stand in the scripts' test.csv. Planned once, before the first step, from the task's train, test and sample
 * submission alone (nothing of the search); a plain JSON object, kept with the run so that a resumed run hides the
 * same rows. A plan that is off says why in a sentence.
 */
import { resolve } from "node:path";
import { z } from "zod";
import { DataError, UsageError } from "../../errors.ts";
import { seededRng } from "../../search/rng.ts";
import type { Rng } from "../../search/types.ts";
import { summarizeColumn } from "../columns.ts";
import { isMissing, iterateCsvFast, parseNumber, readCsvHead } from "../csv.ts";
import { findTaskFiles, toRel } from "../files.ts";
import { metricByName } from "../metrics/index.ts";
import { taskColumns } from "../task-columns.ts";
import { freshIds, idKindOf, valueKey } from "./ids.ts";

const DEFAULT_HOLDOUT_SHARE = 0.15;
/** Fewest rows held out: fewer would make the holdout score mostly noise. */
const MIN_HIDDEN = 50;
/** Fewest labelled rows left to the scripts; with fewer the holdout is off. */
const MIN_REMAINING = 400;
/** Most classes a classification target may have for the hidden rows to be stratified by it. */
const MAX_STRATA = 100;
/** Integer targets with at most this many values are classes (without a metric to say so). */
const MAX_INTEGER_CLASSES = 20;
/** Rows of train.csv looked at to find its date columns. */
const DATE_SAMPLE_ROWS = 1000;

const hiddenRowSchema = z.object({
  /** The row in the user's train.csv: its data row, counted from 0 (the header not counted). */
  row: z.number().int().nonnegative(),
  /** Its id in train.csv, where train.csv has the id column. */
  trainId: z.string().optional(),
  /** Its fresh id in the scripts' test.csv and sample_submission.csv. */
  id: z.string(),
  /** Its data row in the scripts' test.csv and sample_submission.csv, counted from 0. */
  position: z.number().int().nonnegative(),
  /** Its values of the target columns, as written in train.csv (the answers it is judged against). */
  answers: z.array(z.string()),
});

const planOnSchema = z.object({
  on: z.literal(true),
  version: z.literal(1),
  /** The user's input directory, absolute; the task files below are relative to it, with `/` separators. */
  inputDir: z.string(),
  files: z.object({ train: z.string(), test: z.string(), sampleSubmission: z.string() }),
  seed: z.union([z.number(), z.string()]),
  share: z.number(),
  /** The metric the hidden rows are scored with (its name in the table of metric names), or null when none was named. */
  metric: z.string().nullable(),
  /** The id column: the sample submission's first column, a column of test.csv. */
  idColumn: z.string(),
  idKind: z.enum(["int", "string"]),
  /** The train columns whose values a submission predicts (the answers line up with them). */
  targetColumns: z.array(z.string()).min(1),
  /** The sample submission's columns after the id; for "values", `predictionColumns[k]` predicts `targetColumns[k]`. */
  predictionColumns: z.array(z.string()).min(1),
  /**
   * What the prediction columns hold: the target columns' values themselves ("values"), or a probability per class
   * of the one target column, `classes[k]` being the class of `predictionColumns[k]` ("probabilities").
   */
  prediction: z.discriminatedUnion("kind", [
    z.object({ kind: z.literal("values") }),
    z.object({ kind: z.literal("probabilities"), classes: z.array(z.string()).min(2) }),
  ]),
  /** How the rows were chosen: by class shares, the latest by a date column, or at random. */
  selection: z.enum(["stratified", "latest", "random"]),
  dateColumn: z.string().optional(),
  /** Data rows of the user's files, and the train rows with every target present. */
  counts: z.object({
    trainRows: z.number().int(),
    labelledRows: z.number().int(),
    testRows: z.number().int(),
  }),
  /** The held-out rows in the order they stand in the scripts' test.csv. */
  hidden: z.array(hiddenRowSchema).min(1),
});

const planOffSchema = z.object({
  on: z.literal(false),
  version: z.literal(1),
  /** Why there is no holdout, a sentence that starts in lower case ("cannot tell the target column: ..."). */
  reason: z.string(),
});

const planSchema = z.discriminatedUnion("on", [planOnSchema, planOffSchema]);

export type HoldoutPlan = z.infer<typeof planSchema>;
export type ActiveHoldoutPlan = z.infer<typeof planOnSchema>;
export type HiddenRow = z.infer<typeof hiddenRowSchema>;

/** A plan read back from its JSON (a resumed run's record); throws DataError when it is not one. */
export function parseHoldoutPlan(value: unknown): HoldoutPlan {
  const parsed = planSchema.safeParse(value);
  if (!parsed.success)
    throw new DataError("The run's holdout record cannot be read; it is not a holdout plan.", {
      detail: parsed.error.message.slice(0, 300),
    });
  return parsed.data;
}

/**
 * The line a user sees at the start of a run: "holding out 525 of 3500 labelled rows to judge every script the
 * same way (scripts never see which)", or "no holdout: <why>".
 */
export function describeHoldout(plan: HoldoutPlan): string {
  if (!plan.on) return `no holdout: ${plan.reason}`;
  const which = plan.selection === "latest" ? `the latest ${plan.hidden.length}` : `${plan.hidden.length}`;
  const by = plan.selection === "latest" ? ` (by ${plan.dateColumn})` : "";
  return (
    `holding out ${which} of ${plan.counts.labelledRows} labelled rows${by} ` +
    "to judge every script the same way (scripts never see which)"
  );
}

export interface HoldoutOptions {
  /** The share of the labelled rows to hold out, between 0 and 1 (default 0.15). */
  share?: number;
  /**
   * The metric the hidden rows are scored with, by any of its names ("ROC AUC", "rmse"); one the harness cannot
   * score turns the holdout off. Without one the plan has none, and scoring must name it.
   */
  metric?: string | null;
  /** Seeds every random choice: the same seed and files give the same plan. */
  seed: number | string;
}

const off = (reason: string): HoldoutPlan => ({ on: false, version: 1, reason });

/** A plan that is off for this reason, not one to raise: files the holdout cannot use. */
class HoldoutOff extends Error {}

/**
 * Plans the hidden holdout of the task in `inputDir`: the share of train.csv's labelled rows to hide (at least 50;
 * none when fewer than 400 would remain), chosen by class shares for a classification target, as the latest rows
 * where the task is a forecast over a date column, else at random (seeded). Each hidden row gets a fresh id of the
 * ids' type and a place among the real test rows: a random one, or for a forecast the first places, in date order. The plan is off, saying why, when the target or the id cannot be
 * told from the headers of train.csv, test.csv and sample_submission.csv, when the metric is one the harness cannot
 * score, or when there are too few labelled rows. Throws DataError only for an input directory that is missing or
 * empty, UsageError for a share outside (0, 1).
 */
export async function planHoldout(inputDir: string, options: HoldoutOptions): Promise<HoldoutPlan> {
  const share = options.share ?? DEFAULT_HOLDOUT_SHARE;
  if (!(share > 0 && share < 1))
    throw new UsageError(`The holdout share must be between 0 and 1 (e.g. 0.15), not ${share}.`);
  let metric: string | null = null;
  if (options.metric) {
    const found = metricByName(options.metric);
    if (!found) return off(`the harness cannot score the metric ${JSON.stringify(options.metric)}`);
    metric = found.name;
  }
  const root = resolve(inputDir);
  const files = await findTaskFiles(root);
  if (!files.train) return off("there is no train.csv to hold rows out of");
  if (!files.test) return off("there is no test.csv to put the held-out rows in");
  if (!files.sampleSubmission) return off("cannot tell the id column: there is no sample_submission.csv");
  try {
    return await plan(root, { train: files.train, test: files.test, sampleSubmission: files.sampleSubmission }, share, {
      metric,
      seed: options.seed,
    });
  } catch (err) {
    if (err instanceof HoldoutOff) return off(err.message);
    throw err;
  }
}

interface Paths {
  train: string;
  test: string;
  sampleSubmission: string;
}

/** Names as a short list: `"a", "b" and "c"`, or the first few and how many more. */
export function listNames(names: readonly string[]): string {
  const quoted = names.slice(0, 5).map((n) => JSON.stringify(n));
  if (names.length > 5) return `${quoted.join(", ")} and ${names.length - 5} more`;
  if (quoted.length <= 1) return quoted.join("");
  return `${quoted.slice(0, -1).join(", ")} and ${quoted[quoted.length - 1]}`;
}

async function plan(
  root: string,
  paths: Paths,
  share: number,
  { metric, seed }: { metric: string | null; seed: number | string },
): Promise<HoldoutPlan> {
  const names = {
    train: toRel(root, paths.train),
    test: toRel(root, paths.test),
    sample: toRel(root, paths.sampleSubmission),
  };
  const trainHead = await headOf(paths.train, names.train, DATE_SAMPLE_ROWS);
  const testHeader = (await headOf(paths.test, names.test, 0)).header;
  const sampleHeader = (await headOf(paths.sampleSubmission, names.sample, 0)).header;
  const trainHeader = trainHead.header;

  // The id: the sample submission's first column, which test.csv must have.
  if (sampleHeader.length < 2)
    throw new HoldoutOff(
      `cannot tell the id column: ${names.sample} has a single column, no id beside the predictions`,
    );
  const idColumn = sampleHeader[0]!;
  if (!testHeader.includes(idColumn))
    throw new HoldoutOff(
      `cannot tell the id column: ${names.sample}'s first column ${JSON.stringify(idColumn)} is not a column of ${names.test}`,
    );
  const missingInTrain = testHeader.filter((c) => c !== idColumn && !trainHeader.includes(c));
  if (missingInTrain.length > 0)
    throw new HoldoutOff(
      `${names.test} has columns ${names.train} lacks (${listNames(missingInTrain)}), so held-out rows cannot be written as test rows`,
    );

  // The targets: the sample's prediction columns where train has them all, else the one train column the test
  // lacks: predicted in the sample's one column under another name, or as a probability per class in several.
  const predictionColumns = sampleHeader.slice(1);
  const columns = taskColumns({ train: trainHeader, test: testHeader, sampleSubmission: sampleHeader });
  const notInTest = columns.notInTest.filter((c) => c !== idColumn);
  let targetColumns: string[];
  let classColumn: string | null = null;
  if (columns.inSample.length === predictionColumns.length) {
    targetColumns = predictionColumns;
  } else if (notInTest.length === 1 && predictionColumns.length === 1) {
    targetColumns = notInTest; // predicted under another name ("Predicted", "Expected")
  } else if (notInTest.length === 1) {
    classColumn = notInTest[0]!;
    targetColumns = [classColumn];
  } else {
    const absent = predictionColumns.filter((c) => !columns.inSample.includes(c));
    const others =
      notInTest.length === 0
        ? `and ${names.train} has no column that ${names.test} lacks`
        : `and ${names.train} has several columns ${names.test} lacks (${listNames(notInTest)})`;
    throw new HoldoutOff(
      `cannot tell the target column: ${names.sample}'s ${listNames(absent)} ${absent.length === 1 ? "is" : "are"} not in ${names.train}, ${others}`,
    );
  }

  // Date columns that train and test share: a forecast holds out the latest rows.
  const dateCandidates = trainHeader.filter((name, c) => {
    if (name === idColumn || targetColumns.includes(name) || !testHeader.includes(name)) return false;
    const kind = summarizeColumn(
      name,
      trainHead.rows.map((r) => r[c]),
    ).kind;
    return kind === "date" || kind === "datetime";
  });

  const trainIdColumn = trainHeader.includes(idColumn) ? idColumn : null;
  const train = await readColumns(paths.train, names.train, trainHeader, [
    ...targetColumns,
    ...(trainIdColumn ? [trainIdColumn] : []),
    ...dateCandidates,
  ]);
  const test = await readColumns(paths.test, names.test, testHeader, [idColumn, ...dateCandidates]);
  const sample = await readColumns(paths.sampleSubmission, names.sample, sampleHeader, [idColumn]);

  const targetValues = targetColumns.map((c) => train.columns.get(c)!);
  const labelled: number[] = [];
  for (let r = 0; r < train.rows; r++) if (targetValues.every((values) => !isMissing(values[r]))) labelled.push(r);

  let prediction: ActiveHoldoutPlan["prediction"] = { kind: "values" };
  if (classColumn !== null) {
    const classes = classesOfColumns(
      predictionColumns,
      labelled.map((r) => targetValues[0]![r]!),
    );
    if (!classes)
      throw new HoldoutOff(
        `cannot tell the target column: ${names.sample}'s ${listNames(predictionColumns)} are neither columns of ` +
          `${names.train} nor the classes of its column ${JSON.stringify(classColumn)}, the one ${names.test} lacks`,
      );
    prediction = { kind: "probabilities", classes };
  }

  // The ids: test.csv's unique, the sample submission's the same ones.
  const testIds = test.columns.get(idColumn)!;
  if (test.rows === 0) throw new HoldoutOff(`${names.test} has no rows`);
  const testKeys = new Set(testIds.map(valueKey));
  if (testKeys.size !== testIds.length)
    throw new HoldoutOff(`cannot tell the id column: ${JSON.stringify(idColumn)} repeats ids in ${names.test}`);
  const sampleIds = sample.columns.get(idColumn)!;
  if (sampleIds.length !== testIds.length || !sampleIds.every((id) => testKeys.has(valueKey(id))))
    throw new HoldoutOff(
      `cannot tell the id column: the ids of ${names.sample} are not those of ${names.test} ` +
        `(${sampleIds.length} and ${testIds.length} rows)`,
    );

  // How many.
  const n = labelled.length;
  const wanted = Math.max(MIN_HIDDEN, Math.round(share * n));
  if (n - wanted < MIN_REMAINING)
    throw new HoldoutOff(
      `only ${n} labelled rows in ${names.train}: holding out ${wanted} would leave ${Math.max(0, n - wanted)}, ` +
        `and a holdout leaves at least ${MIN_REMAINING} to learn from`,
    );

  // Which.
  const rng = (purpose: string): Rng => seededRng(`${seed}:holdout:${purpose}`);
  let selection: ActiveHoldoutPlan["selection"];
  let dateColumn: string | undefined;
  let chosen: number[];
  const forecast = forecastDates(dateCandidates, train.columns, test.columns, labelled);
  const classes =
    targetColumns.length === 1 &&
    isClassification(
      metric,
      prediction,
      labelled.map((r) => targetValues[0]![r]!),
    )
      ? labelled.map((r) => valueKey(targetValues[0]![r]!))
      : null;
  if (forecast) {
    selection = "latest";
    dateColumn = forecast.column;
    chosen = latestRows(labelled, forecast.times, wanted);
  } else if (classes && new Set(classes).size <= Math.min(MAX_STRATA, wanted)) {
    selection = "stratified";
    chosen = stratifiedRows(labelled, classes, wanted, rng("rows"));
  } else {
    selection = "random";
    chosen = shuffle(labelled, rng("rows")).slice(0, wanted);
  }

  // Where they stand in the scripts' test.csv, and under which ids.
  const k = chosen.length;
  // A forecast's rows go first, in date order, so that test.csv stays in date order (their dates tell them from
  // the real test rows anyway); the others are scattered among the real rows.
  const latest = selection === "latest";
  const positions = latest ? chosen.map((_, i) => i) : choosePositions(test.rows + k, k, rng("positions"));
  const order = latest ? chosen : shuffle(chosen, rng("order"));
  const trainIds = trainIdColumn ? train.columns.get(trainIdColumn)! : [];
  const idKind = idKindOf(testIds);
  const ids = freshIds([...trainIds, ...testIds], idKind, k, rng("ids"));
  const hidden: HiddenRow[] = positions.map((position, i) => {
    const row = order[i]!;
    return {
      row,
      ...(trainIdColumn ? { trainId: trainIds[row]! } : {}),
      id: ids[i]!,
      position,
      answers: targetValues.map((values) => values[row]!),
    };
  });

  return {
    on: true,
    version: 1,
    inputDir: root,
    files: { train: names.train, test: names.test, sampleSubmission: names.sample },
    seed,
    share,
    metric,
    idColumn,
    idKind,
    targetColumns,
    predictionColumns,
    prediction,
    selection,
    ...(dateColumn ? { dateColumn } : {}),
    counts: { trainRows: train.rows, labelledRows: n, testRows: test.rows },
    hidden,
  };
}

async function headOf(path: string, name: string, rows: number): Promise<{ header: string[]; rows: string[][] }> {
  try {
    const head = await readCsvHead(path, rows);
    if (head.header.length === 0) throw new HoldoutOff(`${name} is empty`);
    return { header: head.header.map((h) => h.trim()), rows: head.rows };
  } catch (err) {
    if (err instanceof HoldoutOff) throw err;
    throw new HoldoutOff(`${name} cannot be read as CSV: ${firstLine(err)}`);
  }
}

function firstLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return (message.split("\n")[0] ?? "").slice(0, 200);
}

/** The values of some columns of a CSV file (by name, the first column of that name), and its data rows. */
async function readColumns(
  path: string,
  name: string,
  header: readonly string[],
  wanted: readonly string[],
): Promise<{ rows: number; columns: Map<string, string[]> }> {
  const distinct = [...new Set(wanted)];
  const index = distinct.map((c) => header.indexOf(c));
  const values = distinct.map((): string[] => []);
  let rows = -1; // the header is the first record
  try {
    for await (const record of iterateCsvFast(path)) {
      if (rows >= 0) for (let c = 0; c < index.length; c++) values[c]!.push(record[index[c]!] ?? "");
      rows++;
    }
  } catch (err) {
    throw new HoldoutOff(`${name} cannot be read as CSV: ${firstLine(err)}`);
  }
  return { rows: Math.max(0, rows), columns: new Map(distinct.map((c, i) => [c, values[i]!])) };
}

/**
 * The class each prediction column stands for, where the columns are the classes of the target, named as its
 * values ("setosa") or with a shared prefix ("Status_C" for "C"); null when some class has no column.
 */
function classesOfColumns(columns: readonly string[], labels: readonly string[]): string[] | null {
  if (columns.length < 2) return null;
  const spelled = new Map<string, string>(); // label key -> the label as first written
  for (const label of labels) if (!spelled.has(valueKey(label))) spelled.set(valueKey(label), label.trim());
  if (spelled.size === 0) return null;
  for (const prefix of prefixes(columns)) {
    const keys = columns.map((c) => valueKey(c.slice(prefix.length)));
    const covered = [...spelled.keys()].every((key) => keys.includes(key));
    if (covered && new Set(keys).size === keys.length)
      return columns.map((c, i) => spelled.get(keys[i]!) ?? c.slice(prefix.length).trim());
  }
  return null;
}

/** Prefixes the class columns may share: none, their longest common prefix, and that cut after its last separator. */
function prefixes(columns: readonly string[]): string[] {
  let common = columns[0] ?? "";
  for (const c of columns) while (!c.startsWith(common)) common = common.slice(0, -1);
  const cut = Math.max(
    common.lastIndexOf("_"),
    common.lastIndexOf("-"),
    common.lastIndexOf(" "),
    common.lastIndexOf("."),
  );
  return [...new Set(["", common, common.slice(0, cut + 1)])];
}

/**
 * Whether the target is a class label: as the metric scores it where one is named, else labels that are not all
 * numbers, or few whole numbers.
 */
function isClassification(
  metric: string | null,
  prediction: ActiveHoldoutPlan["prediction"],
  values: readonly string[],
): boolean {
  if (prediction.kind === "probabilities") return true;
  const definition = metric ? metricByName(metric) : null;
  if (definition) return definition.predictions !== "numbers";
  const distinct = new Set<number>();
  for (const v of values) {
    const n = parseNumber(v);
    if (n === null) return true; // labels written as words
    if (!Number.isInteger(n)) return false;
    distinct.add(n);
  }
  return distinct.size <= MAX_INTEGER_CLASSES;
}

/**
 * The first date column that makes the task a forecast: parseable dates in every labelled row, at least two of
 * them, train.csv in date order or test.csv's dates all on or after train.csv's latest.
 */
function forecastDates(
  candidates: readonly string[],
  train: ReadonlyMap<string, string[]>,
  test: ReadonlyMap<string, string[]>,
  labelled: readonly number[],
): { column: string; times: number[] } | null {
  const timeOf = (v: string): number => (isMissing(v) ? Number.NaN : Date.parse(v.trim()));
  for (const column of candidates) {
    const times = train.get(column)!.map(timeOf);
    if (labelled.some((r) => Number.isNaN(times[r]))) continue;
    const present = times.filter((t) => !Number.isNaN(t));
    if (new Set(present).size < 2) continue;
    let sorted = true;
    let latest = -Infinity;
    for (let i = 0; i < present.length; i++) {
      if (i > 0 && present[i]! < present[i - 1]!) sorted = false;
      if (present[i]! > latest) latest = present[i]!;
    }
    const testTimes = test
      .get(column)!
      .map(timeOf)
      .filter((t) => !Number.isNaN(t));
    const testAfter = testTimes.length > 0 && testTimes.every((t) => t >= latest);
    if (sorted || testAfter) return { column, times };
  }
  return null;
}

/**
 * The latest `wanted` labelled rows by time. Where the cut falls inside one date, whole dates are taken instead
 * (all of that date, or none of it: whichever is nearer `wanted` and keeps at least 50 hidden and 400 left), so
 * that no date is both seen and held out; failing both, exactly `wanted` by date and file order. In date order.
 */
function latestRows(labelled: readonly number[], times: readonly number[], wanted: number): number[] {
  const byTime = [...labelled].sort((a, b) => times[a]! - times[b]! || a - b);
  const n = byTime.length;
  const cut = times[byTime[n - wanted]!]!;
  const from = byTime.findIndex((r) => times[r]! >= cut);
  const after = byTime.findIndex((r) => times[r]! > cut);
  const options = [n - from, after < 0 ? 0 : n - after]
    .filter((k) => k >= MIN_HIDDEN && n - k >= MIN_REMAINING)
    .sort((a, b) => Math.abs(a - wanted) - Math.abs(b - wanted));
  const k = options[0] ?? wanted;
  return byTime.slice(n - k);
}

/**
 * `wanted` rows drawn class by class: each class's count within one row of its share (largest remainders first),
 * never every row of a class, the rows of a class drawn at random.
 */
function stratifiedRows(labelled: readonly number[], classes: readonly string[], wanted: number, rng: Rng): number[] {
  const byClass = new Map<string, number[]>();
  labelled.forEach((row, i) => {
    const key = classes[i]!;
    const rows = byClass.get(key) ?? [];
    rows.push(row);
    byClass.set(key, rows);
  });
  const groups = shuffle([...byClass.values()], rng);
  const n = labelled.length;
  const quotas = groups.map((rows) => Math.min(Math.floor((wanted * rows.length) / n), rows.length - 1));
  let left = wanted - quotas.reduce((s, q) => s + q, 0);
  const byRemainder = groups
    .map((rows, g) => ({ g, remainder: (wanted * rows.length) / n - quotas[g]! }))
    .sort((a, b) => b.remainder - a.remainder);
  while (left > 0) {
    let gave = false;
    for (const { g } of byRemainder) {
      if (left === 0) break;
      if (quotas[g]! < groups[g]!.length - 1) {
        quotas[g]!++;
        left--;
        gave = true;
      }
    }
    if (!gave) break;
  }
  return groups.flatMap((rows, g) => shuffle(rows, rng).slice(0, quotas[g]!));
}

/** A seeded Fisher-Yates shuffle of a copy. */
function shuffle<T>(items: readonly T[], rng: Rng): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** `k` distinct places among `total`, increasing (Floyd's sampling). */
function choosePositions(total: number, k: number, rng: Rng): number[] {
  const chosen = new Set<number>();
  for (let j = total - k; j < total; j++) {
    const t = Math.floor(rng.next() * (j + 1));
    chosen.add(chosen.has(t) ? j : t);
  }
  return [...chosen].sort((a, b) => a - b);
}
