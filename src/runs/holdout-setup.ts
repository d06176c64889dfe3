/**
 * A run's hidden holdout, set up before its first step: the plan (made once from the user's files, or the one the
 * run recorded when it resumes), the scripts' view of the input with the held-out rows moved into test.csv, the
 * judge that takes each submission apart, and the line that tells the user what was held out or why nothing was.
 */
import { readFile, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { Logger } from "../logger.ts";
import type { SolutionNode, SubmissionJudge } from "../search/types.ts";
import {
  type HoldoutPlan,
  describeHoldout,
  parseHoldoutPlan,
  planHoldout,
  writeHoldoutView,
} from "../workspace/holdout/index.ts";
import { SampleSubmissionChecker } from "../workspace/index.ts";
import { FormatJudge, HoldoutJudge } from "../workspace/submission-judge.ts";

/** The plan's file in the run directory: part of the run's record, read back when the run resumes. */
export const HOLDOUT_PLAN_FILE = "holdout.json";
/** The scripts' view of the input, in the run directory. */
const SCRIPTS_INPUT_DIR = "scripts-input";

export interface HoldoutSetupArgs {
  inputDir: string;
  runDir: string;
  /** The share of the labelled rows to hold out, or null for none. */
  share: number | null;
  /** The metric the run is judged by (`--metric` or the task text), or null when neither names one. */
  metric: string | null;
  seed: number;
  /** The run's nodes so far (a resumed run): the metric they were scored with stays the run's. */
  journal: readonly SolutionNode[];
  /** Where the run's record keeps the plan beside the run directory (the runner's store), for any worker. */
  record?: HoldoutPlanRecord;
  logger: Logger;
}

/** A run's plan kept with its record, as JSON: the first one saved stays. */
export interface HoldoutPlanRecord {
  load(): Promise<string | null>;
  save(json: string): Promise<void>;
}

export interface HoldoutSetup {
  plan: HoldoutPlan;
  /** The directory the scripts read their input from: the holdout view, or the user's input without one. */
  scriptsInputDir: string;
  judge: SubmissionJudge;
  /** "holding out 525 of 3500 labelled rows ...", or "no holdout: <why>". */
  line: string;
}

export async function setUpHoldout(args: HoldoutSetupArgs): Promise<HoldoutSetup> {
  const inputDir = resolve(args.inputDir);
  const checker = new SampleSubmissionChecker(inputDir);
  const plan = await recordedOrNewPlan(args, inputDir);
  const line = describeHoldout(plan);
  if (!plan.on) return { plan, scriptsInputDir: inputDir, judge: new FormatJudge(checker), line };
  const viewDir = join(args.runDir, SCRIPTS_INPUT_DIR);
  await rm(viewDir, { recursive: true, force: true });
  await writeHoldoutView(inputDir, viewDir, plan);
  const scored = args.journal.find((n) => n.holdout)?.holdout?.name ?? null;
  const judge = new HoldoutJudge({ plan, checker, metric: scored });
  args.logger.info({ hidden: plan.hidden.length, selection: plan.selection, metric: plan.metric }, "holdout set up");
  return { plan, scriptsInputDir: viewDir, judge, line };
}

/**
 * The plan the run recorded (its input directory as it is now): in the run directory, else in the run's record (a
 * run resumed on another worker), else a new one; kept in both.
 */
async function recordedOrNewPlan(args: HoldoutSetupArgs, inputDir: string): Promise<HoldoutPlan> {
  const file = join(args.runDir, HOLDOUT_PLAN_FILE);
  let text: string | null = null;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  // A plan read from the run's record is kept there already: only the run directory needs it.
  const kept = text === null ? ((await args.record?.load()) ?? null) : null;
  text ??= kept;
  const plan: HoldoutPlan =
    text !== null
      ? parseHoldoutPlan(JSON.parse(text))
      : args.share === null
        ? { on: false, version: 1, reason: "turned off for this run" }
        : await planHoldout(inputDir, { share: args.share, metric: args.metric, seed: args.seed });
  const json = JSON.stringify(plan);
  await writeFile(file, json);
  if (kept === null) await args.record?.save(json);
  return plan.on ? { ...plan, inputDir } : plan;
}
