/**
 * A run's hidden holdout on the bundled loan-default task: the scripts' view written beside the run, submissions
 * judged (the real rows become the node's submission, the held-out rows are scored), a resumed run hiding the same
 * rows, and a run without a holdout judged by the format alone. The example's files are hashed before and after.
 */
import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createLogger } from "../../../src/logger.ts";
import { HOLDOUT_PLAN_FILE, setUpHoldout } from "../../../src/runs/holdout-setup.ts";
import { iterateCsvFast } from "../../../src/workspace/csv.ts";
import type { ActiveHoldoutPlan } from "../../../src/workspace/holdout/index.ts";

const INPUT = resolve("examples/loan-default/input");
const logger = createLogger({ level: "silent" });
let runDir: string;

beforeEach(async () => {
  runDir = await mkdtemp(join(tmpdir(), "aide-holdout-run-"));
});
afterEach(async () => {
  await rm(runDir, { recursive: true, force: true });
});

async function hashes(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await readdir(dir)).sort())
    out[name] = createHash("sha256")
      .update(await readFile(join(dir, name)))
      .digest("hex");
  return out;
}

async function records(path: string): Promise<string[][]> {
  const rows: string[][] = [];
  for await (const r of iterateCsvFast(path)) rows.push(r);
  return rows;
}

const setUp = (share: number | null = 0.15) =>
  setUpHoldout({ inputDir: INPUT, runDir, share, metric: "auc", seed: 7, journal: [], logger });

/** A submission in the scripts' view: the held-out rows' true labels, 0.5 for the real rows. */
async function perfectSubmission(plan: ActiveHoldoutPlan, viewDir: string, drop = 0): Promise<string> {
  const answers = new Map(plan.hidden.map((h) => [h.id, h.answers[0]!]));
  const sample = await records(join(viewDir, "sample_submission.csv"));
  let dropped = 0;
  const lines = [sample[0]!.join(",")];
  for (const [id] of sample.slice(1)) {
    const answer = answers.get(id!);
    if (answer !== undefined && dropped < drop) {
      dropped++;
      continue;
    }
    lines.push(`${id},${answer ?? "0.5"}`);
  }
  const path = join(runDir, "written.csv");
  await writeFile(path, `${lines.join("\n")}\n`);
  return path;
}

describe("the run's hidden holdout", () => {
  it("writes the scripts' view, judges a submission on the held-out rows and keeps the real rows apart", async () => {
    const before = await hashes(INPUT);
    const setup = await setUp();
    expect(setup.plan.on).toBe(true);
    const plan = setup.plan as ActiveHoldoutPlan;
    expect(setup.line).toBe(
      `holding out ${plan.hidden.length} of 1400 labelled rows to judge every script the same way (scripts never see which)`,
    );
    expect(plan.hidden.length).toBe(210);
    expect(setup.scriptsInputDir).toBe(join(runDir, "scripts-input"));
    expect((await records(join(setup.scriptsInputDir, "train.csv"))).length - 1).toBe(1400 - 210);
    expect((await records(join(setup.scriptsInputDir, "test.csv"))).length - 1).toBe(600 + 210);

    const written = await perfectSubmission(plan, setup.scriptsInputDir);
    const real = join(runDir, "real.csv");
    const verdict = await setup.judge.judge(written, real, "roc_auc");
    expect(verdict).toEqual({
      problem: null,
      // Every resample of a perfect ranking scores 1, so its standard error is 0.
      holdout: { name: "auc", value: 1, lowerIsBetter: false, stdError: 0 },
      separated: true,
    });
    // The node's submission is the real test rows, in the user's sample submission's order.
    const realRows = await records(real);
    const sample = await records(join(INPUT, "sample_submission.csv"));
    expect(realRows.map((r) => r[0])).toEqual(sample.map((r) => r[0]));
    expect(await hashes(INPUT)).toEqual(before);
  });

  it("tells a script that misses rows what to fix, without saying which rows are held out", async () => {
    const setup = await setUp();
    const plan = setup.plan as ActiveHoldoutPlan;
    const verdict = await setup.judge.judge(
      await perfectSubmission(plan, setup.scriptsInputDir, 3),
      join(runDir, "r.csv"),
    );
    expect(verdict.holdout).toBeNull();
    expect(verdict.problem).toMatch(/does not predict every id of test\.csv exactly once/);
    expect(verdict.problem).not.toMatch(/held/);
    for (const h of plan.hidden) expect(verdict.problem).not.toContain(h.id);
  });

  it("hides the same rows when the run resumes, whatever the share asked now", async () => {
    const first = (await setUp()).plan as ActiveHoldoutPlan;
    const again = (await setUp(0.3)).plan as ActiveHoldoutPlan;
    expect(again.hidden).toEqual(first.hidden);
    expect(JSON.parse(await readFile(join(runDir, HOLDOUT_PLAN_FILE), "utf8")).hidden).toEqual(first.hidden);
  });

  it("hides the same rows on another worker, from the plan kept with the run's record", async () => {
    let kept: string | null = null;
    const record = {
      load: async () => kept,
      save: async (json: string) => {
        kept ??= json;
      },
    };
    const first = await setUpHoldout({
      inputDir: INPUT,
      runDir,
      share: 0.15,
      metric: "auc",
      seed: 7,
      journal: [],
      record,
      logger,
    });
    expect(kept).not.toBeNull();
    // Another worker: an empty run directory, another seed and share asked; the record decides.
    const elsewhere = await mkdtemp(join(tmpdir(), "aide-holdout-elsewhere-"));
    try {
      const again = await setUpHoldout({
        inputDir: INPUT,
        runDir: elsewhere,
        share: 0.3,
        metric: "auc",
        seed: 99,
        journal: [],
        record,
        logger,
      });
      expect((again.plan as ActiveHoldoutPlan).hidden).toEqual((first.plan as ActiveHoldoutPlan).hidden);
      expect(again.line).toBe(first.line);
      expect(JSON.parse(await readFile(join(elsewhere, HOLDOUT_PLAN_FILE), "utf8")).hidden).toEqual(
        (first.plan as ActiveHoldoutPlan).hidden,
      );
    } finally {
      await rm(elsewhere, { recursive: true, force: true });
    }
  });

  it("without a holdout the scripts read the user's input and the format alone is judged", async () => {
    const setup = await setUp(null);
    expect(setup.plan.on).toBe(false);
    expect(setup.line).toBe("no holdout: turned off for this run");
    expect(setup.scriptsInputDir).toBe(INPUT);
    const bad = join(runDir, "bad.csv");
    await writeFile(bad, "id,default\n1401,0.5\n");
    const verdict = await setup.judge.judge(bad, join(runDir, "unused.csv"));
    expect(verdict.separated).toBe(false);
    expect(verdict.holdout).toBeNull();
    expect(verdict.problem).toMatch(/rows/);
  });
});
