/**
 * Issue 13's claim, measured: delivering the node a hidden holdout picks (the run's default, `search.holdout`
 * 0.15, then refit on all the labelled rows) against the node the scripts' own validation numbers pick (holdout
 * off). Each task is run with the offline coder for a few seeds each way and graded against its answers.csv.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { formatNumber } from "../src/search/metric.ts";
import { submissionFromRunDir } from "../src/runs/outputs.ts";
import { readTaskMeta, type TaskMeta, type TaskRun, withTaskRun } from "./task-run.ts";

/** The share held out when the holdout is on: the configuration's default. */
export const HOLDOUT_SHARE = 0.15;
/** The smallest difference counted as more than noise, relative to the off score (see `noiseOf`). */
export const RELATIVE_NOISE = 0.002;

/** One run of a task, graded. */
export interface SeedOutcome {
  seed: number;
  holdout: boolean;
  /** The test score of the delivered submission (the refit's where there is one); null when nothing was delivered. */
  delivered: number | null;
  /**
   * Whether the delivered node's own submission scores on the test rows as well as the best good node's (ties
   * count); null when no node was delivered or its submission could not be graded.
   */
  pickedTestBest: boolean | null;
  /** The delivered node ("#7 improve"), or null. */
  node: string | null;
  /** The submission delivered was the node's refit on all the labelled rows. */
  refit: boolean;
  /** How the run judged its scripts (the holdout it kept, or why none). */
  holdoutLine: string | null;
  seconds: number;
}

/** A count out of a total: k of n runs. */
export interface Share {
  k: number;
  n: number;
}

export interface HoldoutRow {
  task: string;
  metric: string;
  lowerIsBetter: boolean;
  /** Mean test score of the delivered submission over the seeds, holdout off and on. */
  off: number | null;
  on: number | null;
  /** The sample standard deviation of the off scores over the seeds (0 for one seed). */
  offStd: number | null;
  /** on − off, signed so that positive is better in the task's direction. */
  improvement: number | null;
  /** The difference within which on and off count as the same (`noiseOf`). */
  noise: number | null;
  verdict: "better" | "same" | "worse" | null;
  /** The improvement as a share of (reference − baseline) from meta.json, where both are there. */
  normalised: number | null;
  /** The improvement relative to |off|. */
  relative: number | null;
  /** Runs whose delivered node is a test-best node, holdout off and on. */
  offPicks: Share;
  onPicks: Share;
  /** On-runs whose delivered submission was a refit, and on-runs that held no rows out after all. */
  refits: Share;
  noHoldout: number;
  /** Why an on-run held no rows out (its holdout line), where one did not. */
  noHoldoutWhy: string | null;
  offSeconds: number;
  onSeconds: number;
}

/** Whether any of the task's on-runs held rows out (a small train.csv holds none out: on and off are then alike). */
export const heldOut = (r: HoldoutRow): boolean => r.noHoldout < r.refits.n;

/** Over the tasks where the holdout was kept (`heldOut`); the others are named in `withoutHoldout`. */
export interface HoldoutSummary {
  tasks: number;
  /** "breast-cancer (no holdout: only 398 labelled rows ...)". */
  withoutHoldout: string[];
  /** Tasks where holdout-on is at least as good as off within noise (better or same), and clearly either way. */
  notWorse: number;
  better: number;
  worse: number;
  /** Mean of the rows' `normalised`, over the rows that have one. */
  normalisedMean: number | null;
  normalisedTasks: number;
  /** Mean of the rows' `relative`, over the rows that have one. */
  relativeMean: number | null;
  offPicks: Share;
  onPicks: Share;
}

const nums = (xs: ReadonlyArray<number | null>): number[] => xs.filter((x): x is number => x !== null);

export function mean(xs: readonly number[]): number | null {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null;
}

/** Sample standard deviation (n − 1); 0 for fewer than two values. */
export function sampleStd(xs: readonly number[]): number {
  const m = mean(xs);
  // Equal values spread by exactly nothing (their float mean may not be one of them, which leaves ~1e-16).
  if (m === null || xs.length < 2 || xs.every((x) => x === xs[0])) return 0;
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
}

/**
 * The noise a difference is judged against: the larger of the off scores' standard deviation over the seeds and
 * `RELATIVE_NOISE` of the mean off score (the floor that stands in with one seed, or seeds that agree).
 */
export function noiseOf(offScores: readonly number[]): number | null {
  const m = mean(offScores);
  return m === null ? null : Math.max(sampleStd(offScores), RELATIVE_NOISE * Math.abs(m));
}

/** Whether `score` is as good as the best of `scores` (ties count, to a relative 1e-9). */
export function isTestBest(score: number, scores: readonly number[], lowerIsBetter: boolean): boolean {
  const best = lowerIsBetter ? Math.min(...scores, score) : Math.max(...scores, score);
  return Math.abs(score - best) <= 1e-9 * Math.max(1, Math.abs(best));
}

const picks = (outcomes: readonly SeedOutcome[]): Share => ({
  k: outcomes.filter((o) => o.pickedTestBest === true).length,
  n: outcomes.filter((o) => o.pickedTestBest !== null).length,
});
const seconds = (outcomes: readonly SeedOutcome[]) => outcomes.reduce((a, o) => a + o.seconds, 0);

/** A task's row from its runs (every seed, holdout off and on). */
export function summariseTask(meta: TaskMeta, outcomes: readonly SeedOutcome[]): HoldoutRow {
  const offRuns = outcomes.filter((o) => !o.holdout);
  const onRuns = outcomes.filter((o) => o.holdout);
  const offScores = nums(offRuns.map((o) => o.delivered));
  const off = mean(offScores);
  const on = mean(nums(onRuns.map((o) => o.delivered)));
  const sign = meta.lower_is_better ? -1 : 1;
  const improvement = off !== null && on !== null ? sign * (on - off) : null;
  const noise = noiseOf(offScores);
  const verdict =
    improvement === null || noise === null
      ? null
      : improvement > noise
        ? "better"
        : improvement < -noise
          ? "worse"
          : "same";
  const { baseline_score: baseline, reference_score: reference } = meta;
  return {
    task: meta.name,
    metric: meta.metric,
    lowerIsBetter: meta.lower_is_better,
    off,
    on,
    offStd: offScores.length ? sampleStd(offScores) : null,
    improvement,
    noise,
    verdict,
    normalised:
      improvement !== null && baseline !== undefined && reference !== undefined && reference !== baseline
        ? improvement / Math.abs(reference - baseline)
        : null,
    relative: improvement !== null && off ? improvement / Math.abs(off) : null,
    offPicks: picks(offRuns),
    onPicks: picks(onRuns),
    refits: { k: onRuns.filter((o) => o.refit).length, n: onRuns.length },
    noHoldout: onRuns.filter((o) => o.holdoutLine?.startsWith("no holdout")).length,
    noHoldoutWhy: onRuns.find((o) => o.holdoutLine?.startsWith("no holdout"))?.holdoutLine ?? null,
    offSeconds: seconds(offRuns),
    onSeconds: seconds(onRuns),
  };
}

const addShares = (shares: readonly Share[]): Share => ({
  k: shares.reduce((a, s) => a + s.k, 0),
  n: shares.reduce((a, s) => a + s.n, 0),
});

export function summarise(all: readonly HoldoutRow[]): HoldoutSummary {
  const rows = all.filter(heldOut);
  const normalised = nums(rows.map((r) => r.normalised));
  return {
    tasks: rows.length,
    withoutHoldout: all.filter((r) => !heldOut(r)).map((r) => `${r.task} (${r.noHoldoutWhy ?? "no holdout"})`),
    notWorse: rows.filter((r) => r.verdict === "better" || r.verdict === "same").length,
    better: rows.filter((r) => r.verdict === "better").length,
    worse: rows.filter((r) => r.verdict === "worse").length,
    normalisedMean: mean(normalised),
    normalisedTasks: normalised.length,
    relativeMean: mean(nums(rows.map((r) => r.relative))),
    offPicks: addShares(rows.map((r) => r.offPicks)),
    onPicks: addShares(rows.map((r) => r.onPicks)),
  };
}

/** What one finished run delivered and picked, graded against the task's answers. */
async function gradeRun(run: TaskRun, holdout: boolean, seed: number): Promise<SeedOutcome> {
  const { result, runDir, meta } = run;
  const best = result.best;
  let delivered: number | null = null;
  let pickedTestBest: boolean | null = null;
  if (best) {
    // The submission the product delivers (best_submission.csv), as `aide run` picks it.
    const text = await submissionFromRunDir(runDir, result.refit)(best);
    if (text !== null) {
      const path = join(runDir, "bench-delivered.csv");
      await writeFile(path, text);
      delivered = await run.gradeFile(path);
    }
    const own = await run.gradeNode(best);
    const others = nums(
      await Promise.all(result.journal.nodes.filter((n) => !n.buggy && n.submissionPath).map((n) => run.gradeNode(n))),
    );
    pickedTestBest = own === null ? null : isTestBest(own, others, meta.lower_is_better);
  }
  return {
    seed,
    holdout,
    delivered,
    pickedTestBest,
    node: best ? `#${best.id} ${best.stage}` : null,
    refit: result.refit?.ok === true && result.refit.nodeId === best?.id,
    holdoutLine: result.holdoutLine,
    seconds: run.seconds,
  };
}

/** Runs a task for seeds 0..seeds−1, holdout off and on, and makes its row. */
export async function holdoutTask(
  taskDir: string,
  steps: number,
  seeds: number,
  log: (line: string) => void = () => {},
): Promise<HoldoutRow> {
  const outcomes: SeedOutcome[] = [];
  for (let seed = 0; seed < seeds; seed++) {
    for (const on of [false, true]) {
      const outcome = await withTaskRun(taskDir, { steps, seed, holdout: on ? HOLDOUT_SHARE : null }, (run) =>
        gradeRun(run, on, seed),
      );
      log(
        `  seed ${seed}, holdout ${on ? "on" : "off"}: delivered ${outcome.node ?? "nothing"}${outcome.refit ? " (refit)" : ""}, test ${f(outcome.delivered)}, test-best ${outcome.pickedTestBest}, ${outcome.seconds.toFixed(0)} s`,
      );
      outcomes.push(outcome);
    }
  }
  return summariseTask(readTaskMeta(taskDir), outcomes);
}

const f = (x: number | null, digits = 4) => (x === null ? "-" : formatNumber(Number(x.toPrecision(digits))));
const pct = (x: number | null) => (x === null ? "-" : `${x >= 0 ? "+" : ""}${(x * 100).toFixed(1)}%`);
const share = (s: Share) => `${s.k}/${s.n}`;
const rate = (s: Share) => (s.n ? `${((s.k / s.n) * 100).toFixed(0)}%` : "-");

export function holdoutMarkdown(rows: readonly HoldoutRow[], steps: number, seeds: number): string {
  const s = summarise(rows);
  const refits = addShares(rows.map((r) => r.refits));
  const noHoldout = rows.reduce((a, r) => a + r.noHoldout, 0);
  const lines = rows.map(
    (r) =>
      `| ${r.task} | ${r.metric} | ${f(r.off)} ± ${f(r.offStd, 2)} | ${f(r.on)} | ${r.improvement === null ? "-" : f(r.improvement, 3)} (${pct(r.normalised ?? r.relative)}) | ${heldOut(r) ? (r.verdict ?? "-") : "no holdout kept"} | ${share(r.offPicks)} | ${share(r.onPicks)} | ${r.offSeconds.toFixed(0)} / ${r.onSeconds.toFixed(0)} |`,
  );
  return [
    `### Delivering by a hidden holdout or by the scripts' own validation (issue 13; offline coder, ${steps} steps, seeds 0-${seeds - 1}, sandbox executor, warm)`,
    "",
    `Each task is run ${seeds} time(s) each way: holdout off (\`search.holdout: null\`: the node delivered is the one whose`,
    `script reports the best validation number, its own submission) and on (\`search.holdout: ${HOLDOUT_SHARE}\`, the default:`,
    "the node with the best selection score, its holdout score and validation number weighed by their precision,",
    "refit on all the labelled rows). The seed moves the held-out rows and the offline coder's scripts' folds and",
    "model seeds. The delivered submission is graded against the task's hidden `answers.csv` (mean over the seeds;",
    "± the off scores' standard deviation over the seeds). The difference is on − off in the task's good direction, in brackets as a share of (reference −",
    "baseline) from meta.json, or relative to the off score where meta.json has neither. Noise: the larger of the",
    `off scores' standard deviation over the seeds and ${RELATIVE_NOISE * 100}% of the off score; "same" is within it.`,
    '"Test-best" counts the runs whose delivered node\'s own submission scores on the test rows as well as the best',
    "good node's of that run (ties count).",
    "",
    "| task | metric | delivered (test), holdout off | holdout on | on − off, better > 0 | beyond noise | test-best, off | test-best, on | seconds, off / on |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ...lines,
    "",
    ...(s.withoutHoldout.length
      ? [
          `No holdout was kept on ${s.withoutHoldout.join("; ")}: on and off are the same runs there, and the lines below leave them out.`,
        ]
      : []),
    `Holdout on is at least as good as off within noise on ${s.notWorse} of ${s.tasks} tasks (better on ${s.better}, worse on ${s.worse}).`,
    `Mean improvement: ${pct(s.normalisedMean)} of (reference − baseline) over the ${s.normalisedTasks} task(s) with both in meta.json; ${pct(s.relativeMean)} relative to the off score over all tasks.`,
    `The delivered node is a test-best node in ${share(s.offPicks)} runs with the holdout off (${rate(s.offPicks)}) and ${share(s.onPicks)} with it on (${rate(s.onPicks)}).`,
    `With the holdout on, ${share(refits)} runs delivered a refit${noHoldout ? `; ${noHoldout} held no rows out after all` : ""}.`,
  ].join("\n");
}
