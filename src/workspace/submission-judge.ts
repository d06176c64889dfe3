/**
 * The judges of a node's submission. Without a holdout the submission is only checked against the task's expected
 * format. With one, the scripts wrote predictions for the real test rows and the held-out rows together: the
 * judge takes them apart, writes the real rows as the node's submission (checked against the user's sample
 * submission, as any submission is), and scores the held-out rows with the run's metric. Nothing it says to the
 * script's author tells which rows were held out.
 */
import { writeFile } from "node:fs/promises";
import type { HoldoutScore, SubmissionChecker, SubmissionJudge, SubmissionVerdict } from "../search/types.ts";
import { DataError } from "../errors.ts";
import { type ActiveHoldoutPlan, scoreHiddenWithError, splitSubmission } from "./holdout/index.ts";
import { metricByName, type MetricDefinition } from "./metrics/index.ts";

/** Checks the format only: the judge of a run without a holdout. */
export class FormatJudge implements SubmissionJudge {
  constructor(private readonly checker: SubmissionChecker) {}

  async judge(writtenPath: string): Promise<SubmissionVerdict> {
    return { problem: await this.checker.check(writtenPath), holdout: null, separated: false };
  }
}

export interface HoldoutJudgeOptions {
  plan: ActiveHoldoutPlan;
  /** Checks the real rows against the user's own sample submission. */
  checker: SubmissionChecker;
  /**
   * The metric the held-out rows are scored with when the plan names none: the first the run's nodes report that
   * the harness can score fixes it (a resumed run passes the one its nodes were scored with).
   */
  metric?: string | null;
}

/** What a script's author is told when the submission does not predict the scripts' test rows one each. */
const ROWS_PROBLEM = "it does not predict every id of test.csv exactly once, as sample_submission.csv lists them";

export class HoldoutJudge implements SubmissionJudge {
  private metric: MetricDefinition | null;

  constructor(private readonly options: HoldoutJudgeOptions) {
    const name = options.plan.metric ?? options.metric ?? null;
    this.metric = name ? metricByName(name) : null;
  }

  /** The metric the held-out rows are scored with, once fixed. */
  get metricName(): string | null {
    return this.metric?.name ?? null;
  }

  async judge(writtenPath: string, realPath: string, reportedMetric?: string | null): Promise<SubmissionVerdict> {
    let split: Awaited<ReturnType<typeof splitSubmission>>;
    try {
      split = await splitSubmission(writtenPath, this.options.plan);
    } catch (err) {
      if (!(err instanceof DataError)) throw err;
      const message = err.userMessage;
      return { problem: message.includes("held-out") ? ROWS_PROBLEM : message, holdout: null, separated: false };
    }
    await writeFile(realPath, split.real);
    const problem = await this.options.checker.check(realPath);
    if (problem) return { problem, holdout: null, separated: true };
    if (!this.metric && reportedMetric) this.metric = metricByName(reportedMetric);
    const metric = this.metric;
    if (!metric) return { problem: null, holdout: null, separated: true };
    let holdout: HoldoutScore;
    try {
      const { value, stdError } = scoreHiddenWithError(this.options.plan, split.hidden, metric.name);
      holdout = { name: metric.name, value, lowerIsBetter: metric.lowerIsBetter, stdError };
    } catch (err) {
      if (!(err instanceof DataError)) throw err;
      const why = err.userMessage.replace(/held-out rows?/g, "test rows");
      return {
        problem: `some predictions cannot be scored with ${metric.title}: ${why}`,
        holdout: null,
        separated: true,
      };
    }
    return { problem: null, holdout, separated: true };
  }
}
