/**
 * Ensemble steps and their refit (src/runs/ensemble.ts, src/runs/refit.ts), with the local executor and real
 * Python on the bundled examples under a real holdout: the generated script blends the members' submissions (the
 * mean of probabilities on loan-default, a vote of labels on plant-species), the blend is judged on the holdout
 * like any submission, a member whose rows do not match makes a buggy ensemble that says why, and the refit of an
 * ensemble refits each member and blends their refits.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LocalExecutor } from "../../../runner/executors/local.ts";
import { silentLogger } from "../../../src/logger.ts";
import { HoldoutEnsembler } from "../../../src/runs/ensemble.ts";
import { setUpHoldout } from "../../../src/runs/holdout-setup.ts";
import { HoldoutRefitter, refitDirName } from "../../../src/runs/refit.ts";
import { nodeDirName } from "../../../src/search/step.ts";
import type { SolutionNode } from "../../../src/search/types.ts";
import { SampleSubmissionChecker } from "../../../src/workspace/index.ts";
import { scoreHidden, splitSubmission, type ActiveHoldoutPlan } from "../../../src/workspace/holdout/index.ts";
import { solutionNode } from "../../fakes/solution-nodes.ts";

const LIMITS = { timeoutMs: 60_000, memoryMb: 1024, outputCap: 10_000 };
const executor = new LocalExecutor({ logger: silentLogger });
let runDir: string;

beforeEach(async () => {
  runDir = await mkdtemp(join(tmpdir(), "aide-ensemble-"));
});
afterEach(async () => {
  await rm(runDir, { recursive: true, force: true });
});

async function holdoutOn(example: string, metric: string) {
  const setup = await setUpHoldout({
    inputDir: resolve(`examples/${example}/input`),
    runDir,
    share: 0.15,
    metric,
    seed: 0,
    journal: [],
    logger: silentLogger,
  });
  if (!setup.plan.on) throw new Error(`no holdout: ${setup.plan.reason}`);
  return { ...setup, plan: setup.plan as ActiveHoldoutPlan };
}

function ensembler(setup: Awaited<ReturnType<typeof holdoutOn>>): HoldoutEnsembler {
  return new HoldoutEnsembler({
    executor,
    runDir,
    limits: LIMITS,
    plan: setup.plan,
    judge: setup.judge,
    clock: { now: () => new Date() },
    logger: silentLogger,
  });
}

/** The scripts' test ids (the real test rows and the held-out rows, shuffled), as a script would read them. */
async function scriptIds(setup: { scriptsInputDir: string }, idColumn: string): Promise<string[]> {
  const text = await readFile(join(setup.scriptsInputDir, "test.csv"), "utf8");
  const [header, ...rows] = text.trim().split("\n");
  const at = header!.split(",").indexOf(idColumn);
  return rows.map((r) => r.split(",")[at]!);
}

/** A member whose script wrote `rows` as its submission (the header first), judged on the holdout. */
async function member(
  setup: Awaited<ReturnType<typeof holdoutOn>>,
  id: number,
  rows: string[],
  header: string,
): Promise<SolutionNode> {
  const dir = join(runDir, nodeDirName(id), "working");
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "submission.csv"), `${header}\n${rows.join("\n")}\n`);
  const verdict = await setup.judge.judge(join(dir, "submission.csv"), join(runDir, nodeDirName(id), "submission.csv"));
  expect(verdict.problem).toBeNull();
  return { ...solutionNode(id, { metric: 0.7 }), holdout: verdict.holdout };
}

/** A loan-default member that predicts `value` for every row. */
const constantMember = (setup: Awaited<ReturnType<typeof holdoutOn>>, ids: string[], id: number, value: number) =>
  member(
    setup,
    id,
    ids.map((x) => `${x},${value}`),
    "id,default",
  );

describe("HoldoutEnsembler", () => {
  it("blends probabilities by their mean with a script it runs, and judges the blend on the holdout", async () => {
    const setup = await holdoutOn("loan-default", "auc");
    const ids = await scriptIds(setup, "id");
    // Three members that each get a different part of the order right.
    const score = (i: number, k: number) => (((i * (k + 3)) % 17) / 17).toFixed(4);
    const members = [];
    for (const [k, id] of [2, 5, 7].entries())
      members.push(
        await member(
          setup,
          id,
          ids.map((x, i) => `${x},${score(i, k)}`),
          "id,default",
        ),
      );
    const node = await ensembler(setup).blend(9, members);

    expect(node).toMatchObject({
      id: 9,
      parentId: 2,
      stage: "ensemble",
      members: [2, 5, 7],
      buggy: false,
      submissionOk: true,
      submissionPath: `${nodeDirName(9)}/submission.csv`,
      coder: "ensemble (no model)",
      plan: "Ensemble of #2, #5, #7: the mean of their predictions, with equal weights.",
    });
    expect(node.code).toContain('MEMBERS = ["0002.csv","0005.csv","0007.csv"]');
    // Its metric is its holdout score, in the run's metric: what ranks it among the scripts.
    expect(node.metric).toEqual({ name: "roc_auc", value: node.holdout!.value, lowerIsBetter: false });
    expect(node.analysis).toMatch(/^The blend scores [\d.]+ on the holdout; its best member, #2, [\d.]+\.$/);

    // Row by row the blend is the members' mean, and the holdout score is that of those numbers.
    const written = join(runDir, nodeDirName(9), "working", "submission.csv");
    const split = await splitSubmission(written, setup.plan);
    const byId = new Map(ids.map((x, i) => [x, i]));
    for (const h of split.hidden.slice(0, 20)) {
      const i = byId.get(h.id)!;
      const mean = (Number(score(i, 0)) + Number(score(i, 1)) + Number(score(i, 2))) / 3;
      expect(Number(h.values[0])).toBeCloseTo(mean, 9);
    }
    expect(node.holdout!.value).toBeCloseTo(scoreHidden(setup.plan, split.hidden, "auc"), 12);
    // The node's submission is the real test rows, as the user's sample submission lists them.
    const real = await readFile(join(runDir, node.submissionPath!), "utf8");
    const sample = await readFile(resolve("examples/loan-default/input/sample_submission.csv"), "utf8");
    expect(
      real
        .trim()
        .split("\n")
        .map((l) => l.split(",")[0]),
    ).toEqual(
      sample
        .trim()
        .split("\n")
        .map((l) => l.split(",")[0]),
    );
  });

  it("blends labels by vote, a tie going to the better member", async () => {
    const setup = await holdoutOn("plant-species", "accuracy");
    const ids = await scriptIds(setup, "plant_id");
    const a = await member(
      setup,
      1,
      ids.map((x) => `${x},aster`),
      "plant_id,species",
    );
    const b = await member(
      setup,
      3,
      ids.map((x, i) => `${x},${i % 2 ? "aster" : "lupine"}`),
      "plant_id,species",
    );
    const c = await member(
      setup,
      4,
      ids.map((x) => `${x},lupine`),
      "plant_id,species",
    );
    const node = await ensembler(setup).blend(6, [a, b, c]);
    expect(node.buggy).toBe(false);
    expect(node.plan).toBe("Ensemble of #1, #3, #4: the label most of them predict, with equal weights.");
    const blended = (await readFile(join(runDir, nodeDirName(6), "working", "submission.csv"), "utf8"))
      .trim()
      .split("\n")
      .slice(1)
      .map((l) => l.split(","));
    // Odd rows: aster, aster, lupine -> aster; even rows: aster, lupine, lupine -> lupine.
    for (const [id, species] of blended) expect(species).toBe(ids.indexOf(id!) % 2 ? "aster" : "lupine");

    const tie = await ensembler(setup).blend(7, [c, a]);
    const tied = (await readFile(join(runDir, nodeDirName(7), "working", "submission.csv"), "utf8")).split("\n");
    expect(tied[1]).toMatch(/,lupine$/);
    expect(tie.holdout).not.toBeNull();
  });

  it("makes a buggy ensemble that says why when a member does not predict the same rows", async () => {
    const setup = await holdoutOn("loan-default", "auc");
    const ids = await scriptIds(setup, "id");
    const good = await constantMember(setup, ids, 1, 0.5);
    const other = await constantMember(setup, ids, 2, 0.4);
    // The second member's file lost its last rows since it was judged.
    await writeFile(
      join(runDir, nodeDirName(2), "working", "submission.csv"),
      `id,default\n${ids
        .slice(0, 100)
        .map((x) => `${x},0.4`)
        .join("\n")}\n`,
    );
    const node = await ensembler(setup).blend(5, [good, other]);
    expect(node).toMatchObject({ buggy: true, metric: null, holdout: null, submissionOk: false, stage: "ensemble" });
    expect(node.analysis).toMatch(/^Problem: the script exited with code 1\.$/);
    expect(node.output).toContain("0002.csv does not predict the same ids as 0001.csv");
  });

  it("makes a buggy ensemble, without running anything, when a member's submission is gone (resumed elsewhere)", async () => {
    const setup = await holdoutOn("loan-default", "auc");
    const ids = await scriptIds(setup, "id");
    const kept = await constantMember(setup, ids, 1, 0.5);
    const gone = await constantMember(setup, ids, 2, 0.4);
    await rm(join(runDir, nodeDirName(2)), { recursive: true, force: true });
    const node = await ensembler(setup).blend(5, [kept, gone]);
    expect(node).toMatchObject({ buggy: true, holdout: null, exitCode: null, execTimeMs: 0, members: [1, 2] });
    expect(node.analysis).toBe("Problem: the submission of member #2 is not on this worker.");
  });
});

describe("HoldoutRefitter: an ensemble", () => {
  /** A member's script: writes `value` for every test id of its input. */
  const writer = (value: number) => `
import csv, os
ids = [r["id"] for r in csv.DictReader(open("./input/test.csv"))]
os.makedirs("./working", exist_ok=True)
with open("./working/submission.csv", "w") as f:
    f.write("id,default\\n")
    for i in ids:
        f.write(f"{i},${value}\\n")
`;

  it("refits each member on all the labelled rows and blends their refits with the ensemble's script", async () => {
    const setup = await holdoutOn("loan-default", "auc");
    const ids = await scriptIds(setup, "id");
    const members = [
      {
        ...(await constantMember(setup, ids, 1, 0.2)),
        code: writer(0.2),
      },
      {
        ...(await constantMember(setup, ids, 2, 0.6)),
        code: writer(0.6),
      },
    ];
    const node = await ensembler(setup).blend(3, members);
    const input = resolve("examples/loan-default/input");
    const refitter = new HoldoutRefitter({
      executor,
      inputDir: input,
      runDir,
      limits: LIMITS,
      checker: new SampleSubmissionChecker(input),
      labelledRows: 1400,
      logger: silentLogger,
    });
    const outcome = await refitter.refit(node, members);
    expect(outcome).toEqual({
      ok: true,
      nodeId: 3,
      submissionPath: `${refitDirName(3)}/working/submission.csv`,
      note: "ensemble 3 refit: its members #1, #2 refit on all 1400 labelled rows and blended again",
    });
    const lines = (await readFile(join(runDir, refitDirName(3), "working", "submission.csv"), "utf8"))
      .trim()
      .split("\n");
    expect(lines).toHaveLength(601);
    expect(lines[1]).toBe("1401,0.4");

    const broken = await refitter.refit(node, [members[0]!, { ...members[1]!, code: "raise SystemExit(2)\n" }]);
    expect(broken).toEqual({
      ok: false,
      nodeId: 3,
      note: "the refit of ensemble 3 (of #1, #2) on all 1400 labelled rows failed (member #2: the script exited with code 2); its own submission is delivered",
    });
  });
});
