import { describe, expect, it } from "vitest";
import { runStep } from "../../../src/search/step.ts";
import type { Coder, ExecutionResult, Executor, Review, ReviewInput } from "../../../src/search/types.ts";
import { fakeSearchDeps, RecordingSink, ScriptedCoder, testLimits } from "../../fakes/search-fakes.ts";
import { buildPromptContext } from "../../../src/search/context.ts";
import { Journal } from "../../../src/search/journal.ts";

const okOutput = 'AIDE_METRIC {"name": "acc", "value": 0.75, "lower_is_better": false}\n';

function fixedExecutor(result: Partial<ExecutionResult>): Executor {
  return {
    name: "fixed",
    run: async (job) => ({
      exitCode: 0,
      signal: null,
      timedOut: false,
      outOfMemory: false,
      durationMs: 42,
      output: okOutput,
      outputCapped: false,
      workingDir: `${job.nodeDir}/working`,
      ...result,
    }),
  };
}

function reviewing(review: Partial<Review>): Coder {
  const coder = new ScriptedCoder(() => "print(1)");
  coder.review = async () => ({
    isBug: false,
    summary: "fine",
    metric: null,
    lowerIsBetter: null,
    usage: { promptTokens: 5, completionTokens: 1, costUsd: 0.01 },
    ...review,
  });
  return coder;
}

async function step(executor: Executor, opts: { coder?: Coder; check?: string | null; exists?: boolean } = {}) {
  const saved: string[] = [];
  const deps = fakeSearchDeps(opts.coder ?? reviewing({}), executor, new RecordingSink(), {
    judge: { judge: async () => ({ problem: opts.check ?? null, holdout: null, separated: false }) },
    exists: async () => opts.exists ?? true,
    saveOutput: async (_id, out) => void saved.push(out),
  });
  const ctx = buildPromptContext({
    brief: { task: "t", dataPreview: "", timeLimitSec: 1, packages: [], totalSteps: 1 },
    journal: new Journal(),
    action: { kind: "draft" },
    step: 3,
    guidance: [],
    pending: [],
    lowerIsBetter: null,
  });
  const outcome = await runStep({ id: 3, action: { kind: "draft" }, ctx, deps, limits: testLimits, inputDir: "/in" });
  return { ...outcome, saved };
}

describe("runStep", () => {
  it("builds a good node from a clean run", async () => {
    const { node, suggestedLowerIsBetter, saved } = await step(fixedExecutor({}));
    expect(node).toMatchObject({
      id: 3,
      step: 3,
      stage: "draft",
      parentId: null,
      buggy: false,
      submissionOk: true,
      execTimeMs: 42,
    });
    expect(node.metric).toEqual({ name: "acc", value: 0.75, lowerIsBetter: false });
    expect(node.submissionPath).toBe("nodes/0003/working/submission.csv");
    expect(node.usage).toEqual({ promptTokens: 5, completionTokens: 1, costUsd: 0.01 });
    expect(suggestedLowerIsBetter).toBe(false);
    expect(saved).toEqual([okOutput]);
  });

  it.each([
    ["an exception", { exitCode: 1, output: `Traceback\nValueError: x\n${okOutput}` }, "exited with code 1"],
    ["a timeout", { exitCode: null, signal: "SIGKILL", timedOut: true }, "timed out"],
    ["a memory kill", { exitCode: null, signal: "SIGKILL", outOfMemory: true }, "ran out of memory"],
    ["a kill", { exitCode: null, signal: "SIGTERM" }, "killed by SIGTERM"],
    [
      "a full working directory",
      {
        exitCode: null,
        signal: "SIGINT",
        limitExceeded:
          "the script wrote more than 4096 MB to ./working (the limit per script) and was stopped; its files were removed",
      },
      "wrote more than 4096 MB to ./working",
    ],
    ["no metric line", { output: "accuracy 0.9" }, "no AIDE_METRIC line"],
  ])("marks %s as buggy", async (_what, result, reason) => {
    const { node } = await step(fixedExecutor(result as Partial<ExecutionResult>));
    expect(node.buggy).toBe(true);
    expect(node.metric).toBeNull();
    expect(node.analysis).toContain(reason);
  });

  it("marks a submission that does not match the sample as buggy", async () => {
    const { node } = await step(fixedExecutor({}), { check: "submission has 3 rows, expected 4" });
    expect(node.buggy).toBe(true);
    expect(node.submissionOk).toBe(false);
    expect(node.submissionPath).not.toBeNull();
    expect(node.analysis).toContain("3 rows, expected 4");
  });

  it("marks a missing submission as buggy", async () => {
    const { node } = await step(fixedExecutor({}), { exists: false });
    expect(node.buggy).toBe(true);
    expect(node.submissionPath).toBeNull();
    expect(node.analysis).toContain("submission.csv was not written");
  });

  it("trusts the review when it says the run is buggy", async () => {
    const { node } = await step(fixedExecutor({}), {
      coder: reviewing({ isBug: true, summary: "leaks the target into features" }),
    });
    expect(node.buggy).toBe(true);
    expect(node.analysis).toContain("leaks the target");
  });

  it("uses the review's metric only when the line is missing", async () => {
    const { node, suggestedLowerIsBetter } = await step(fixedExecutor({ output: "val rmse 3\n" }), {
      coder: reviewing({ metric: 3, lowerIsBetter: true }),
    });
    expect(node.buggy).toBe(false);
    expect(node.metric).toEqual({ name: "metric", value: 3, lowerIsBetter: true });
    expect(suggestedLowerIsBetter).toBe(true);
    const crashed = await step(fixedExecutor({ exitCode: 1, output: "val rmse 3\n" }), {
      coder: reviewing({ metric: 3 }),
    });
    expect(crashed.node.buggy).toBe(true);
  });

  it("leaves the direction open when neither the line nor the review says, and never invents one for the review", async () => {
    const inputs: ReviewInput[] = [];
    const coder = reviewing({});
    const review = coder.review;
    coder.review = async (input, result) => {
      inputs.push(input);
      return review(input, result);
    };
    const { node, suggestedLowerIsBetter } = await step(
      fixedExecutor({ output: 'AIDE_METRIC {"name": "rmse", "value": 3.5}\n' }),
      { coder },
    );
    expect(inputs[0]!.parsedMetric).toEqual({ name: "rmse", value: 3.5, lowerIsBetter: null });
    expect(node.buggy).toBe(false);
    expect(node.metric).toEqual({ name: "rmse", value: 3.5, lowerIsBetter: null });
    expect(node.unranked).toBeNull();
    expect(suggestedLowerIsBetter).toBeNull();
  });

  it("takes the direction from the review when the line does not say, and the line's over the review's", async () => {
    const bare = fixedExecutor({ output: 'AIDE_METRIC {"name": "score", "value": 3.5}\n' });
    const fromReview = await step(bare, { coder: reviewing({ lowerIsBetter: true }) });
    expect(fromReview.node.metric).toEqual({ name: "score", value: 3.5, lowerIsBetter: true });
    expect(fromReview.suggestedLowerIsBetter).toBe(true);
    const fromLine = await step(fixedExecutor({}), { coder: reviewing({ lowerIsBetter: true }) });
    expect(fromLine.node.metric?.lowerIsBetter).toBe(false);
  });

  it("keeps only the prompt-sized output in the node", async () => {
    const long = "x".repeat(20_000) + okOutput;
    const { node, saved } = await step(fixedExecutor({ output: long }));
    expect(node.output.length).toBeLessThan(5200);
    expect(saved[0]).toBe(long);
    expect(node.metric?.value).toBe(0.75);
  });
});
