/**
 * The hidden holdout on real files: plans of small synthetic tasks written here (classification, regression, a
 * forecast over dates, integer and string ids, per-class probability submissions), the scripts' view written from
 * a plan, and submissions taken apart and scored. The user's files are hashed before and after: never changed.
 */
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DataError } from "../../../src/errors.ts";
import { seededRng } from "../../../src/search/rng.ts";
import { formatCsvRecord } from "../../../src/workspace/csv.ts";
import {
  type ActiveHoldoutPlan,
  type HoldoutPlan,
  describeHoldout,
  parseHoldoutPlan,
  planHoldout,
  scoreHidden,
  splitSubmission,
  writeHoldoutView,
} from "../../../src/workspace/holdout/index.ts";

let dir: string;
let input: string;
let view: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "aide-holdout-"));
  input = join(dir, "input");
  view = join(dir, "view");
  await mkdir(input);
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

// ------------------------------------------------------------------------------------------------- tasks

type Table = string[][]; // the header first

async function writeTable(name: string, table: Table): Promise<void> {
  await writeFile(join(input, name), `${table.map((r) => formatCsvRecord(r)).join("\n")}\n`);
}

async function readTable(path: string): Promise<Table> {
  const text = await readFile(path, "utf8");
  return text
    .trimEnd()
    .split("\n")
    .map((line) => line.split(","));
}

interface TaskSpec {
  /** Labelled train rows. */
  rows: number;
  testRows?: number;
  /** The target of train row i. */
  target: (i: number, rng: () => number) => string;
  /** Id of train row i and of test row j (default: 1.. through train, then test). */
  trainId?: (i: number) => string;
  testId?: (j: number) => string;
  /** Extra feature columns by name, valued per row (train rows 0.., then test rows). */
  features?: Record<string, (row: number) => string>;
  /** The sample submission's prediction columns and their placeholder (default: the target, "0"). */
  sampleColumns?: string[];
  placeholder?: string;
}

/** Writes train.csv (id, x, the features, target), test.csv (without the target) and sample_submission.csv. */
async function writeTask(spec: TaskSpec): Promise<{ train: Table; test: Table; sample: Table }> {
  const rng = seededRng("task");
  const next = () => rng.next();
  const testRows = spec.testRows ?? 300;
  const trainId = spec.trainId ?? ((i: number) => String(i + 1));
  const testId = spec.testId ?? ((j: number) => String(spec.rows + j + 1));
  const features = Object.entries(spec.features ?? {});
  const featureHeader = features.map(([name]) => name);
  const train: Table = [["id", "x", ...featureHeader, "target"]];
  for (let i = 0; i < spec.rows; i++)
    train.push([trainId(i), next().toFixed(4), ...features.map(([, f]) => f(i)), spec.target(i, next)]);
  const test: Table = [["id", "x", ...featureHeader]];
  for (let j = 0; j < testRows; j++)
    test.push([testId(j), next().toFixed(4), ...features.map(([, f]) => f(spec.rows + j))]);
  const columns = spec.sampleColumns ?? ["target"];
  const sample: Table = [["id", ...columns]];
  for (let j = 0; j < testRows; j++) sample.push([testId(j), ...columns.map(() => spec.placeholder ?? "0")]);
  await writeTable("train.csv", train);
  await writeTable("test.csv", test);
  await writeTable("sample_submission.csv", sample);
  return { train, test, sample };
}

const classOf = (i: number): string => (i % 10 < 6 ? "A" : i % 10 < 9 ? "B" : "C");

function active(plan: HoldoutPlan): ActiveHoldoutPlan {
  if (!plan.on) throw new Error(`the holdout is off: ${plan.reason}`);
  return plan;
}

/** Every file below `root` by relative path, with its sha256. */
async function hashes(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string, rel: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const path = join(d, e.name);
      if (e.isDirectory()) await walk(path, `${rel}${e.name}/`);
      else
        out.set(
          `${rel}${e.name}`,
          createHash("sha256")
            .update(await readFile(path))
            .digest("hex"),
        );
    }
  };
  await walk(root, "");
  return out;
}

/** A submission of the view that predicts `hiddenValue(answer row)` for the hidden rows and the placeholder else. */
async function fakeSubmission(
  plan: ActiveHoldoutPlan,
  hiddenValues: (answers: string[]) => string[],
  keep: (id: string) => boolean = () => true,
): Promise<string> {
  const sample = await readTable(join(view, "sample_submission.csv"));
  const byId = new Map(plan.hidden.map((h) => [h.id, h]));
  const lines = [sample[0]!.join(",")];
  for (const row of sample.slice(1)) {
    const h = byId.get(row[0]!);
    if (!keep(row[0]!)) continue;
    lines.push(h ? [h.id, ...hiddenValues(h.answers)].join(",") : row.join(","));
  }
  const path = join(dir, "submission.csv");
  await writeFile(path, `${lines.join("\n")}\n`);
  return path;
}

// ------------------------------------------------------------------------------------------------- plans

describe("planHoldout", () => {
  it("stratifies a classification target: each class's hidden count within a row of its share", async () => {
    await writeTask({ rows: 3500, target: (i) => classOf(i) });
    const plan = active(await planHoldout(input, { seed: 1, metric: "accuracy" }));
    expect(plan.selection).toBe("stratified");
    expect(plan.hidden).toHaveLength(525);
    expect(describeHoldout(plan)).toBe(
      "holding out 525 of 3500 labelled rows to judge every script the same way (scripts never see which)",
    );
    const counts = new Map<string, number>();
    for (const h of plan.hidden) counts.set(h.answers[0]!, (counts.get(h.answers[0]!) ?? 0) + 1);
    for (const [label, share] of [
      ["A", 0.6],
      ["B", 0.3],
      ["C", 0.1],
    ] as const)
      expect(Math.abs((counts.get(label) ?? 0) - 525 * share)).toBeLessThan(1);
    expect(new Set(plan.hidden.map((h) => h.row)).size).toBe(525);
    for (const h of plan.hidden) expect(h.answers[0]).toBe(classOf(h.row));
  });

  it("stratifies without a metric when the labels are few whole numbers", async () => {
    await writeTask({ rows: 2000, target: (i) => String(i % 3) });
    const plan = active(await planHoldout(input, { seed: 1 }));
    expect(plan.selection).toBe("stratified");
    expect(plan.metric).toBeNull();
    expect(plan.hidden).toHaveLength(300);
  });

  it("draws a regression target's rows at random, seeded, and keeps the share", async () => {
    await writeTask({ rows: 1000, target: (_, r) => (r() * 100).toFixed(3) });
    const a = active(await planHoldout(input, { seed: 7, share: 0.2, metric: "rmse" }));
    const b = active(await planHoldout(input, { seed: 7, share: 0.2, metric: "rmse" }));
    const c = active(await planHoldout(input, { seed: 8, share: 0.2, metric: "rmse" }));
    expect(a.selection).toBe("random");
    expect(a.hidden).toHaveLength(200);
    expect(b).toEqual(a);
    expect(c.hidden.map((h) => h.row)).not.toEqual(a.hidden.map((h) => h.row));
    // Spread over the file, not a block.
    const rows = a.hidden.map((h) => h.row).sort((x, y) => x - y);
    expect(rows[0]).toBeLessThan(100);
    expect(rows[rows.length - 1]).toBeGreaterThan(900);
  });

  it("holds out the latest rows of a forecast over dates, whole dates at a time", async () => {
    const day = (row: number) => new Date(Date.UTC(2021, 0, 1) + Math.floor(row / 4) * 86_400_000);
    await writeTask({
      rows: 1000,
      target: (_, r) => (r() * 10).toFixed(2),
      features: { date: (row) => day(row).toISOString().slice(0, 10) },
    });
    const plan = active(await planHoldout(input, { seed: 3, metric: "mae" }));
    expect(plan.selection).toBe("latest");
    expect(plan.dateColumn).toBe("date");
    expect(plan.hidden).toHaveLength(152); // 150 wanted, the cut's date taken whole: 38 days of 4 rows
    const hiddenRows = new Set(plan.hidden.map((h) => h.row));
    const latestKept = Math.max(...[...Array(1000).keys()].filter((r) => !hiddenRows.has(r)).map((r) => +day(r)));
    for (const r of hiddenRows) expect(+day(r)).toBeGreaterThan(latestKept);
    expect(describeHoldout(plan)).toBe(
      "holding out the latest 152 of 1000 labelled rows (by date) to judge every script the same way (scripts never see which)",
    );
    // In the scripts' test.csv they come first, in date order, so that it stays in date order.
    expect(plan.hidden.map((h) => h.position)).toEqual([...Array(152).keys()]);
    expect(plan.hidden.map((h) => h.row)).toEqual([...Array(152).keys()].map((i) => 848 + i));
  });

  it("takes a date column for a forecast when test.csv's dates follow train.csv's, in whatever order train.csv is", async () => {
    // Train: 200 dates over and over (5 rows each, not sorted); test: the 10 dates after them.
    const day = (n: number) => new Date(Date.UTC(2021, 0, 1) + n * 86_400_000).toISOString().slice(0, 10);
    await writeTask({
      rows: 1000,
      target: (_, r) => (r() * 10).toFixed(2),
      features: { when: (row) => (row < 1000 ? day(row % 200) : day(200 + (row % 10))) },
    });
    const plan = active(await planHoldout(input, { seed: 3, metric: "mae" }));
    expect(plan.selection).toBe("latest");
    expect(plan.hidden).toHaveLength(150); // 5 rows a date: 30 whole dates
    for (const h of plan.hidden) expect(h.row % 200).toBeGreaterThanOrEqual(170);
  });

  it("does not take dates for a forecast when test.csv's dates are among train.csv's and train.csv is not sorted", async () => {
    const day = (row: number) => new Date(Date.UTC(2021, 0, 1) + (row % 200) * 86_400_000);
    await writeTask({
      rows: 1000,
      target: (_, r) => (r() * 10).toFixed(2),
      features: { when: (row) => day(row).toISOString().slice(0, 10) },
    });
    expect(active(await planHoldout(input, { seed: 3, metric: "mae" })).selection).toBe("random");
  });

  it("gives integer ids past the largest of train and test", async () => {
    await writeTask({
      rows: 600,
      target: (i) => classOf(i),
      trainId: (i) => String(i * 3),
      testId: (j) => String(5000 + j),
    });
    const plan = active(await planHoldout(input, { seed: 1 }));
    expect(plan.idKind).toBe("int");
    const ids = plan.hidden.map((h) => Number(h.id)).sort((a, b) => a - b);
    expect(ids[0]).toBe(5300);
    expect(ids[ids.length - 1]).toBe(5300 + plan.hidden.length - 1);
    expect(plan.hidden.map((h) => h.trainId)).toEqual(plan.hidden.map((h) => String(h.row * 3)));
  });

  it("gives string ids a fresh form of theirs: numbered after a shared prefix, or random hex of their length", async () => {
    await writeTask({
      rows: 600,
      target: (i) => classOf(i),
      trainId: (i) => `id_${String(i).padStart(5, "0")}`,
      testId: (j) => `id_${String(600 + j).padStart(5, "0")}`,
    });
    const numbered = active(await planHoldout(input, { seed: 1 }));
    expect(numbered.idKind).toBe("string");
    expect(numbered.hidden.map((h) => h.id).sort()[0]).toBe("id_00900");

    const hex = (i: number) => createHash("md5").update(String(i)).digest("hex").slice(0, 12);
    await writeTask({ rows: 600, target: (i) => classOf(i), trainId: hex, testId: (j) => hex(10_000 + j) });
    const random = active(await planHoldout(input, { seed: 1 }));
    const taken = new Set([...Array(600).keys()].map(hex).concat([...Array(300).keys()].map((j) => hex(10_000 + j))));
    const fresh = random.hidden.map((h) => h.id);
    expect(new Set(fresh).size).toBe(fresh.length);
    for (const id of fresh) {
      expect(id).toMatch(/^[0-9a-f]{12}$/);
      expect(taken.has(id)).toBe(false);
    }
  });

  it("is off, saying why, when too few labelled rows would remain", async () => {
    await writeTask({ rows: 460, target: (i) => (i < 20 ? "" : classOf(i)) }); // 440 labelled
    const plan = await planHoldout(input, { seed: 1 });
    expect(plan.on).toBe(false);
    expect(describeHoldout(plan)).toBe(
      "no holdout: only 440 labelled rows in train.csv: holding out 66 would leave 374, and a holdout leaves at least 400 to learn from",
    );
  });

  it("holds out at least 50 rows", async () => {
    await writeTask({ rows: 480, target: (i) => classOf(i) });
    expect(active(await planHoldout(input, { seed: 1, share: 0.05 })).hidden).toHaveLength(50);
  });

  it("is off, saying why, when the target cannot be told", async () => {
    await writeTask({ rows: 600, target: (i) => classOf(i), sampleColumns: ["prediction"] });
    // test.csv has every column of train.csv but the target; make it have that too, so that nothing tells.
    const test = await readTable(join(input, "test.csv"));
    await writeTable(
      "test.csv",
      test.map((r, j) => [...r, j === 0 ? "target" : "A"]),
    );
    const plan = await planHoldout(input, { seed: 1 });
    expect(describeHoldout(plan)).toBe(
      'no holdout: cannot tell the target column: sample_submission.csv\'s "prediction" is not in train.csv, and train.csv has no column that test.csv lacks',
    );
  });

  it("is off when the id cannot be told or the metric cannot be scored", async () => {
    await writeTask({ rows: 600, target: (i) => classOf(i) });
    expect(describeHoldout(await planHoldout(input, { seed: 1, metric: "bleu" }))).toBe(
      'no holdout: the harness cannot score the metric "bleu"',
    );
    await writeTable("sample_submission.csv", [
      ["key", "target"],
      ["1", "0"],
    ]);
    expect(describeHoldout(await planHoldout(input, { seed: 1 }))).toBe(
      'no holdout: cannot tell the id column: sample_submission.csv\'s first column "key" is not a column of test.csv',
    );
    await rm(join(input, "sample_submission.csv"));
    expect(describeHoldout(await planHoldout(input, { seed: 1 }))).toBe(
      "no holdout: cannot tell the id column: there is no sample_submission.csv",
    );
  });

  it("reads per-class probability columns as the classes of the one column test.csv lacks", async () => {
    await writeTask({
      rows: 900,
      target: (i) => ["C", "CL", "D"][i % 3]!,
      sampleColumns: ["Status_C", "Status_CL", "Status_D"],
      placeholder: "0.333",
    });
    const plan = active(await planHoldout(input, { seed: 1, metric: "logloss" }));
    expect(plan.targetColumns).toEqual(["target"]);
    expect(plan.prediction).toEqual({ kind: "probabilities", classes: ["C", "CL", "D"] });
    expect(plan.selection).toBe("stratified");
  });

  it("takes the one column test.csv lacks as the target a one-column sample submission predicts under another name", async () => {
    await writeTask({ rows: 700, target: (_, r) => (r() * 50).toFixed(2), sampleColumns: ["Predicted"] });
    const plan = active(await planHoldout(input, { seed: 1, metric: "rmse" }));
    expect(plan.targetColumns).toEqual(["target"]);
    expect(plan.predictionColumns).toEqual(["Predicted"]);
    await writeHoldoutView(input, view, plan);
    const split = await splitSubmission(await fakeSubmission(plan, (answers) => answers), plan);
    expect(scoreHidden(plan, split.hidden)).toBe(0);
  });

  it("serialises: the plan read back from JSON is the same plan", async () => {
    await writeTask({ rows: 800, target: (i) => classOf(i) });
    const plan = await planHoldout(input, { seed: "run-42" });
    expect(parseHoldoutPlan(JSON.parse(JSON.stringify(plan)))).toEqual(plan);
    expect(() => parseHoldoutPlan({ on: true, version: 1 })).toThrow(DataError);
    const off = await planHoldout(input, { seed: 1, metric: "bleu" });
    expect(parseHoldoutPlan(JSON.parse(JSON.stringify(off)))).toEqual(off);
  });
});

// ------------------------------------------------------------------------------------------------- views

describe("writeHoldoutView, splitSubmission and scoreHidden", () => {
  it("writes the scripts' view and never changes the user's files", async () => {
    const { train, test, sample } = await writeTask({ rows: 1000, target: (i) => classOf(i) });
    await mkdir(join(input, "extra"));
    await writeFile(join(input, "extra", "notes.txt"), "about the data\n");
    await writeFile(join(input, "description.md"), "# Task\n");
    const before = await hashes(input);

    const plan = active(await planHoldout(input, { seed: 5, metric: "accuracy" }));
    await writeHoldoutView(input, view, plan);

    const hidden = new Map(plan.hidden.map((h) => [h.row, h]));
    const viewTrain = await readTable(join(view, "train.csv"));
    expect(viewTrain).toEqual([train[0], ...train.slice(1).filter((_, i) => !hidden.has(i))]);

    const viewTest = await readTable(join(view, "test.csv"));
    expect(viewTest[0]).toEqual(test[0]);
    expect(viewTest).toHaveLength(test.length + plan.hidden.length);
    const real = viewTest.slice(1).filter((r) => !plan.hidden.some((h) => h.id === r[0]));
    expect(real).toEqual(test.slice(1)); // the real rows keep their order
    for (const h of plan.hidden) {
      const row = viewTest[h.position + 1]!;
      expect(row[0]).toBe(h.id);
      expect(row[1]).toBe(train[h.row + 1]![1]); // its features, not its target
      expect(row).toHaveLength(test[0]!.length);
    }
    // Shuffled among the real rows, not appended.
    expect(plan.hidden[0]!.position).toBeLessThan(test.length - 1);

    const viewSample = await readTable(join(view, "sample_submission.csv"));
    expect(viewSample.map((r) => r[0])).toEqual(viewTest.map((r) => r[0]));
    for (const h of plan.hidden) expect(viewSample[h.position + 1]).toEqual([h.id, sample[1]![1]]);

    expect(await readFile(join(view, "extra", "notes.txt"), "utf8")).toBe("about the data\n");
    expect((await stat(join(view, "description.md"))).ino).toBe((await stat(join(input, "description.md"))).ino);

    const submission = await fakeSubmission(plan, (answers) => answers);
    await splitSubmission(submission, plan);
    expect(await hashes(input)).toEqual(before);
  });

  it("round trip: a perfect submission splits into perfect hidden predictions and the real rows in order", async () => {
    const { sample } = await writeTask({ rows: 1000, target: (i) => classOf(i) });
    const plan = active(await planHoldout(input, { seed: 9, metric: "accuracy" }));
    await writeHoldoutView(input, view, plan);
    const submission = await fakeSubmission(plan, (answers) => answers);

    const split = await splitSubmission(submission, plan);
    expect(split.hidden.map((h) => h.row)).toEqual(plan.hidden.map((h) => h.row));
    expect(scoreHidden(plan, split.hidden)).toBe(1);
    expect(scoreHidden(plan, split.hidden, "f1_macro")).toBe(1);
    expect(split.real).toBe(`${sample.map((r) => r.join(",")).join("\n")}\n`);

    const wrong = split.hidden.map((h) => ({ ...h, values: ["A"] }));
    expect(scoreHidden(plan, wrong)).toBeCloseTo(
      plan.hidden.filter((h) => h.answers[0] === "A").length / plan.hidden.length,
      12,
    );
  });

  it("round trip of a regression: RMSE 0", async () => {
    await writeTask({ rows: 700, target: (_, r) => (r() * 50).toFixed(2) });
    const plan = active(await planHoldout(input, { seed: 2, metric: "rmse" }));
    await writeHoldoutView(input, view, plan);
    const split = await splitSubmission(await fakeSubmission(plan, (answers) => answers), plan);
    expect(scoreHidden(plan, split.hidden)).toBe(0);
    const off = split.hidden.map((h) => ({ ...h, values: [String(Number(h.values[0]) + 2)] }));
    expect(scoreHidden(plan, off)).toBeCloseTo(2, 9);
  });

  it("round trip of per-class probabilities: log loss of one-hot rows near 0, accuracy by the likeliest class 1", async () => {
    const { sample } = await writeTask({
      rows: 900,
      target: (i) => ["C", "CL", "D"][i % 3]!,
      sampleColumns: ["Status_C", "Status_CL", "Status_D"],
      placeholder: "0.333",
    });
    const plan = active(await planHoldout(input, { seed: 4, metric: "logloss" }));
    await writeHoldoutView(input, view, plan);
    const viewTest = await readTable(join(view, "test.csv"));
    expect(viewTest[0]).toEqual(["id", "x"]);
    const oneHot = (answers: string[]) => ["C", "CL", "D"].map((c) => (c === answers[0] ? "1" : "0"));
    const split = await splitSubmission(await fakeSubmission(plan, oneHot), plan);
    expect(scoreHidden(plan, split.hidden)).toBeLessThan(1e-12);
    expect(scoreHidden(plan, split.hidden, "accuracy")).toBe(1);
    expect(split.real.split("\n")[0]).toBe("id,Status_C,Status_CL,Status_D");
    expect(split.real.trimEnd().split("\n").slice(1)).toEqual(sample.slice(1).map((r) => r.join(",")));
  });

  it("writes the sample submission in the order of the scripts' test.csv, and gives the real rows back in the user's order", async () => {
    const { sample } = await writeTask({ rows: 700, target: (_, r) => (r() * 50).toFixed(2) });
    const reversed = [sample[0]!, ...sample.slice(1).reverse()];
    await writeTable("sample_submission.csv", reversed);
    const plan = active(await planHoldout(input, { seed: 2, metric: "rmse" }));
    await writeHoldoutView(input, view, plan);
    const viewTest = await readTable(join(view, "test.csv"));
    const viewSample = await readTable(join(view, "sample_submission.csv"));
    expect(viewSample.map((r) => r[0])).toEqual(viewTest.map((r) => r[0]));
    const split = await splitSubmission(await fakeSubmission(plan, (answers) => answers), plan);
    expect(split.real).toBe(`${reversed.map((r) => r.join(",")).join("\n")}\n`);
    expect(scoreHidden(plan, split.hidden)).toBe(0);
  });

  it("blanks a target column that test.csv has, in the hidden rows", async () => {
    await writeTask({ rows: 600, target: (i) => classOf(i) });
    const test = await readTable(join(input, "test.csv"));
    await writeTable(
      "test.csv",
      test.map((r, j) => [...r, j === 0 ? "target" : ""]),
    );
    const plan = active(await planHoldout(input, { seed: 1 }));
    await writeHoldoutView(input, view, plan);
    const viewTest = await readTable(join(view, "test.csv"));
    const at = viewTest[0]!.indexOf("target");
    expect(at).toBe(2);
    for (const h of plan.hidden) expect(viewTest[h.position + 1]![at]).toBe("");
  });

  it("says which hidden ids a submission lacks", async () => {
    await writeTask({ rows: 1000, target: (i) => classOf(i) });
    const plan = active(await planHoldout(input, { seed: 5 }));
    await writeHoldoutView(input, view, plan);
    const dropped = new Set(plan.hidden.slice(0, 3).map((h) => h.id));
    const submission = await fakeSubmission(
      plan,
      (a) => a,
      (id) => !dropped.has(id),
    );
    const error = await splitSubmission(submission, plan).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DataError);
    expect((error as DataError).userMessage).toBe(
      `The submission has no prediction for 3 of the ${plan.hidden.length} held-out rows (ids ${[...dropped]
        .map((id) => `"${id}"`)
        .join(", ")
        .replace(/, ([^,]*)$/, " and $1")}).`,
    );
  });

  it("refuses a view inside the input, a view that is not empty, and files changed since the plan", async () => {
    await writeTask({ rows: 600, target: (i) => classOf(i) });
    const plan = active(await planHoldout(input, { seed: 1 }));
    await expect(writeHoldoutView(input, join(input, "view"), plan)).rejects.toThrow(
      /must not lie one inside the other/,
    );
    await mkdir(view);
    await writeFile(join(view, "x"), "");
    await expect(writeHoldoutView(input, view, plan)).rejects.toThrow(/not empty/);
    await rm(view, { recursive: true });
    const train = await readTable(join(input, "train.csv"));
    await writeTable("train.csv", train.slice(0, -1));
    await expect(writeHoldoutView(input, view, plan)).rejects.toThrow(/changed since the holdout was planned/);
    await expect(stat(view)).rejects.toThrow(); // nothing left behind
  });
});
