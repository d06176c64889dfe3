import type {
  Action,
  Coder,
  ExecutionResult,
  Executor,
  PromptContext,
  Proposal,
  Review,
  ReviewInput,
  RunEvent,
  RunSink,
  ScriptJob,
  SolutionNode,
} from "../../src/search/types.ts";
import type { SearchDeps, SearchOptions } from "../../src/search/loop.ts";
import { GreedyPolicy } from "../../src/search/policy.ts";
import { silentLogger } from "../../src/logger.ts";

/**
 * Fakes for running whole searches in unit tests. Scripts are tiny "programs" the fake executor interprets:
 * `metric=<v>` prints a metric line (named "score" unless `name=<name>`, no name with `noname`; `lower_is_better`
 * true with `lower`, absent with `nodir`, else false), `crash` exits 1, `hang` times out, `sleep=<ms>` waits first.
 */
export type ScriptBehaviour = (action: Action, ctx: PromptContext) => string;

export class ScriptedCoder implements Coder {
  readonly name = "scripted";
  readonly contexts: PromptContext[] = [];
  readonly actions: Action[] = [];

  constructor(
    private readonly behaviour: ScriptBehaviour,
    private readonly tokensPerCall = 0,
  ) {}

  async propose(action: Action, ctx: PromptContext): Promise<Proposal> {
    this.actions.push(action);
    this.contexts.push(ctx);
    return {
      plan: `${action.kind} at step ${ctx.step}`,
      code: this.behaviour(action, ctx),
      usage: { promptTokens: this.tokensPerCall, completionTokens: 0, costUsd: this.tokensPerCall / 1e6 },
    };
  }

  async review(input: ReviewInput): Promise<Review> {
    return {
      isBug: false,
      summary: input.parsedMetric ? `ran, metric ${input.parsedMetric.value}` : "no metric",
      metric: null,
      lowerIsBetter: null,
      usage: { promptTokens: 0, completionTokens: 0, costUsd: 0 },
    };
  }
}

export class InterpretingExecutor implements Executor {
  readonly name = "interpreting-fake";
  inFlight = 0;
  maxInFlight = 0;
  readonly jobs: ScriptJob[] = [];

  async run(job: ScriptJob, signal?: AbortSignal): Promise<ExecutionResult> {
    this.jobs.push(job);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      const sleep = /sleep=(\d+)/.exec(job.code);
      if (sleep) await waitOrAbort(Number(sleep[1]), signal);
      const base = {
        durationMs: 5,
        outputCapped: false,
        workingDir: `${job.nodeDir}/working`,
        signal: null,
        outOfMemory: false,
      };
      if (job.code.includes("hang"))
        return { ...base, exitCode: null, signal: "SIGKILL", timedOut: true, output: "KeyboardInterrupt" };
      if (job.code.includes("crash"))
        return {
          ...base,
          exitCode: 1,
          timedOut: false,
          output: "Traceback (most recent call last):\nValueError: boom",
        };
      const metric = /metric=([-\d.e]+)/.exec(job.code);
      const name = job.code.includes("noname") ? "" : `"name": "${/name=(\S+)/.exec(job.code)?.[1] ?? "score"}", `;
      const dir = job.code.includes("nodir") ? "" : `, "lower_is_better": ${job.code.includes("lower")}`;
      const output = metric ? `fold 1 ok\nAIDE_METRIC {${name}"value": ${metric[1]}${dir}}\n` : "done\n";
      return { ...base, exitCode: 0, timedOut: false, output };
    } finally {
      this.inFlight--;
    }
  }
}

function waitOrAbort(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(t);
      reject(new Error("aborted"));
    });
  });
}

export class RecordingSink implements RunSink {
  readonly events: RunEvent[] = [];
  readonly nodes: SolutionNode[] = [];
  onEvent?: (e: RunEvent) => void;

  async nodeFinished(node: SolutionNode): Promise<void> {
    this.nodes.push(node);
  }

  async event(e: RunEvent): Promise<void> {
    this.events.push(e);
    this.onEvent?.(e);
  }
}

export { MemoryInbox as QueueInbox } from "../../src/runs/memory-inbox.ts";

export function fakeSearchDeps(
  coder: Coder,
  executor: Executor,
  sink: RunSink,
  extra: Partial<SearchDeps> = {},
): SearchDeps {
  let tick = 0;
  return {
    coder,
    executor,
    sink,
    policy: new GreedyPolicy(),
    judge: { judge: async () => ({ problem: null, holdout: null, separated: false }) },
    clock: { now: () => new Date(Date.UTC(2026, 0, 1, 0, 0, tick++)) },
    resolve: (rel) => `/runs/test/${rel}`,
    exists: async () => true,
    saveOutput: async () => {},
    logger: silentLogger,
    ...extra,
  };
}

export const testBrief = {
  task: "Predict y; metric score",
  dataPreview: "train.csv: 10 rows",
  timeLimitSec: 60,
  packages: ["numpy"],
  totalSteps: 0,
};

export const testLimits = { timeoutMs: 1000, memoryMb: 512, outputCap: 100_000 };

/** Options of a test search: 12 steps, one at a time, seed 7, unless `over` says otherwise. */
export function testSearchOptions(over: Partial<SearchOptions> = {}): SearchOptions {
  return {
    runId: "r1",
    brief: testBrief,
    steps: 12,
    parallel: 1,
    seed: 7,
    limits: testLimits,
    inputDir: "/in",
    ...over,
  };
}
