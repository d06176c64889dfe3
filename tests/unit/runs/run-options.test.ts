/**
 * The run options' one schema and every entry point that takes them: the same value is refused everywhere with the
 * same sentence (aide run, aide submit, /aide start in chat, RunService.start), `more N` keeps a run within the
 * steps limit, and Discord's slash-command options and the config carry the schema's numbers.
 */
import { join } from "node:path";
import type { Redis } from "ioredis";
import { afterEach, describe, expect, it, vi } from "vitest";
import { commandDefinitions } from "../../../bots/discord/commands.ts";
import { runCommand, type RunFlags } from "../../../cli/commands/run.ts";
import { main } from "../../../cli/main.ts";
import { loadConfig } from "../../../src/config.ts";
import { UsageError } from "../../../src/errors.ts";
import { silentLogger } from "../../../src/logger.ts";
import { parseCommand } from "../../../src/runs/chat/commands.ts";
import { RUN_OPTION_LIMITS, runOptionsSchema } from "../../../src/run-options-schema.ts";
import { checkRunOptions, readRunOption } from "../../../src/runs/run-options.ts";
import { RunService, type Actor } from "../../../src/runs/service.ts";
import { parseSteer } from "../../../src/runs/steer-parse.ts";
import type { Store } from "../../../src/store/index.ts";
import type { RunOptions, RunRecord } from "../../../src/store/types.ts";

const DATA = join(import.meta.dirname, "../../../examples/loan-default/input");
const ada: Actor = { platform: "slack", userId: "U-ADA", displayName: "Ada" };
const valid: RunOptions = {
  steps: 20,
  parallel: 2,
  coder: "offline",
  metric: "rmse",
  timeoutSec: 600,
  budgetUsd: null,
};

const STEPS = (got: string) => `--steps takes a whole number from 1 to 10,000, got "${got}".`;
const PARALLEL = (got: string) => `--parallel takes a whole number from 1 to 64, got "${got}".`;
const TIMEOUT = (got: string) =>
  `--timeout takes a duration from 10s to 24h per script, e.g. 90s, 10m or 1h, got "${got}".`;
const METRIC = (got: string) =>
  `--metric takes a metric name such as rmse or roc_auc (up to 64 letters, digits and _ @ . + -), got "${got}".`;

/** Values typed at every entry point that takes the option (flag, text, the refusal). */
const REFUSED: Array<[flag: "steps" | "parallel" | "timeout" | "metric", text: string, problem: string]> = [
  ["steps", "0", STEPS("0")],
  ["steps", "10001", STEPS("10001")],
  ["steps", "2.5", STEPS("2.5")],
  ["steps", "1e3", STEPS("1e3")],
  ["steps", "ten", STEPS("ten")],
  ["parallel", "0", PARALLEL("0")],
  ["parallel", "65", PARALLEL("65")],
  ["parallel", "1000", PARALLEL("1000")],
  ["timeout", "5s", TIMEOUT("5s")],
  ["timeout", "25h", TIMEOUT("25h")],
  ["timeout", "soon", TIMEOUT("soon")],
  ["metric", "m".repeat(65), METRIC(`${"m".repeat(39)}…`)],
  ["metric", "r'm", METRIC("r'm")],
];

/** A store and Redis that hold one run and record what the service asks of them. */
function fakeService(run?: Partial<RunRecord>) {
  const created: unknown[] = [];
  const steers: unknown[] = [];
  const record = {
    id: "r1a2b3c4d",
    status: "running",
    owner: ada,
    admins: [],
    progress: { totalSteps: 20 },
    ...run,
  } as RunRecord;
  const store = {
    createRun: vi.fn(async (r: { options: RunOptions }) => {
      created.push(r);
      return { ...record, options: r.options };
    }),
    bindThread: vi.fn(async () => undefined),
    requireRun: vi.fn(async () => record),
    addSteer: vi.fn(async (_id: string, command: unknown) => {
      steers.push(command);
      return { id: "r1a2b3c4d:1", seq: 1, command };
    }),
  };
  const multi = { incr: () => multi, expire: () => multi, exec: async () => [[null, 1]] };
  const redis = { multi: () => multi, publish: async () => 1 };
  const enqueue = vi.fn(async () => undefined);
  const runs = new RunService({
    store: store as unknown as Store,
    redis: redis as unknown as Redis,
    enqueue,
    logger: silentLogger,
  });
  return { runs, created, steers, enqueue };
}

function start(runs: RunService, options: unknown) {
  return runs.start({
    task: "Predict y",
    links: ["https://x.test/d.csv"],
    options: options as RunOptions,
    actor: ada,
    origin: { platform: "slack", channel: "C1", thread: null },
  });
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("the run options' limits", () => {
  it("are read from the schema", () => {
    expect(RUN_OPTION_LIMITS).toEqual({
      steps: { min: 1, max: 10_000 },
      parallel: { min: 1, max: 64 },
      timeoutSec: { min: 10, max: 86_400 },
      metric: { maxLength: 64 },
      budgetUsd: { min: 0.01, max: 10_000 },
      budgetTokens: { min: 1000, max: 1_000_000_000 },
      holdout: { min: 0.01, max: 0.5 },
    });
    expect(runOptionsSchema.shape.steps.maxValue).toBe(RUN_OPTION_LIMITS.steps.max);
  });

  it("are the config's too: a default outside them is refused when the config loads", () => {
    expect(() => loadConfig({ env: {}, overrides: { search: { steps: 0 } } })).toThrow(
      /Invalid configuration at search\.steps/,
    );
    expect(() => loadConfig({ env: {}, overrides: { chat: { defaultParallel: 65 } } })).toThrow(
      /Invalid configuration at chat\.defaultParallel/,
    );
    expect(() => loadConfig({ env: {}, overrides: { execution: { timeoutSec: 5 } } })).toThrow(
      /Invalid configuration at execution\.timeoutSec/,
    );
    expect(loadConfig({ env: {}, overrides: { search: { steps: 10_000, parallel: 64 } } }).search).toMatchObject({
      steps: 10_000,
      parallel: 64,
    });
  });

  it("are Discord's slash-command option limits", () => {
    const start = (
      commandDefinitions()[0]!.options as Array<{ name: string; options?: Array<Record<string, unknown>> }>
    ).find((o) => o.name === "start")!;
    const option = (name: string) => start.options!.find((o) => o.name === name)!;
    expect(option("steps")).toMatchObject({ min_value: 1, max_value: 10_000 });
    expect(option("parallel")).toMatchObject({ min_value: 1, max_value: 64 });
    expect(option("metric")).toMatchObject({ max_length: 64 });
    // What Discord lets through the chat parser takes, and one step beyond is refused with the parser's sentence.
    for (const name of ["steps", "parallel"] as const) {
      const { min_value: min, max_value: max } = option(name) as { min_value: number; max_value: number };
      expect(parseCommand(`start t https://x.test/d.csv --${name} ${min}`)).toMatchObject({
        kind: "start",
        [name]: min,
      });
      expect(parseCommand(`start t https://x.test/d.csv --${name} ${max}`)).toMatchObject({
        kind: "start",
        [name]: max,
      });
      expect(parseCommand(`start t https://x.test/d.csv --${name} ${max + 1}`)).toEqual({
        kind: "invalid",
        problem: (name === "steps" ? STEPS : PARALLEL)(String(max + 1)),
      });
    }
  });
});

describe("every entry point refuses the same values with the same sentence", () => {
  it.each(REFUSED)("--%s %j", async (flag, text, problem) => {
    expect(readRunOption(flag, text)).toEqual({ problem });

    // /aide start in chat (and Discord's slash command, translated to the same text).
    expect(parseCommand(`start Predict y https://x.test/d.csv --${flag} ${text}`)).toEqual({
      kind: "invalid",
      problem,
    });

    // aide run: refused before any output, executor or model check.
    const err = await runCommand({ task: "Predict y", data: DATA, [flag]: text } as RunFlags).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).userMessage).toBe(problem);

    // aide submit: one line, exit code 2, before any service is opened.
    const written: string[] = [];
    vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    expect(await main(["node", "aide", "submit", "--task", "Predict y", "--data", DATA, `--${flag}`, text])).toBe(2);
    expect(written.join("")).toBe(`aide: ${problem}\n`);
  });

  it.each([
    ["steps 0", { steps: 0 }, STEPS("0")],
    ["steps 10001", { steps: 10_001 }, STEPS("10001")],
    ["steps 2.5", { steps: 2.5 }, STEPS("2.5")],
    ["parallel 0", { parallel: 0 }, PARALLEL("0")],
    ["parallel 1000", { parallel: 1000 }, PARALLEL("1000")],
    ["timeoutSec 5", { timeoutSec: 5 }, TIMEOUT("5")],
    ["timeoutSec 90000", { timeoutSec: 90_000 }, TIMEOUT("90000")],
    ["a metric of 65 characters", { metric: "m".repeat(65) }, METRIC(`${"m".repeat(39)}…`)],
    ["an empty metric", { metric: "" }, METRIC("")],
    [
      "budgetUsd 0",
      { budgetUsd: 0 },
      `--budget takes dollars from $0.01 to $10,000, e.g. $2.50 (a queued run's budget is in dollars), got "0".`,
    ],
    ["coder gpt", { coder: "gpt" }, `--coder takes offline or openai, got "gpt".`],
    ["no steps", { steps: undefined }, "--steps takes a whole number from 1 to 10,000, got none."],
  ])("RunService.start refuses %s before anything is saved or queued", async (_what, over, problem) => {
    const { runs, created, enqueue } = fakeService();
    const err = await start(runs, { ...valid, ...over }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).userMessage).toBe(problem);
    expect(created).toEqual([]);
    expect(enqueue).not.toHaveBeenCalled();
  });

  it("RunService.start saves options within the limits as given, the limits themselves included", async () => {
    const { runs, created, enqueue } = fakeService();
    const edge: RunOptions = {
      steps: 10_000,
      parallel: 64,
      coder: "openai",
      metric: "ROC AUC",
      timeoutSec: 86_400,
      budgetUsd: 10_000,
    };
    await start(runs, edge);
    await start(runs, { ...edge, steps: 1, parallel: 1, timeoutSec: 10, metric: null, budgetUsd: 0.01 });
    expect(created.map((r) => (r as { options: RunOptions }).options)).toEqual([
      edge,
      { ...edge, steps: 1, parallel: 1, timeoutSec: 10, metric: null, budgetUsd: 0.01 },
    ]);
    expect(enqueue).toHaveBeenCalledTimes(2);
  });

  it("RunService.start refuses options it does not know", async () => {
    const { runs, created } = fakeService();
    const err = await start(runs, { ...valid, seed: 3 }).catch((e: unknown) => e);
    expect((err as UsageError).userMessage).toMatch(/^Invalid run options: .*"seed"/);
    expect(created).toEqual([]);
    expect(checkRunOptions(valid)).toEqual({ value: valid });
  });

  it("takes the holdout share as a fraction, a percentage or off", () => {
    expect(readRunOption("holdout", "0.2")).toEqual({ value: 0.2 });
    expect(readRunOption("holdout", "15%")).toEqual({ value: 0.15 });
    expect(readRunOption("holdout", "off")).toEqual({ value: null });
    const takes = "--holdout takes a share of the labelled rows from 0.01 to 0.5 (0.15 or 15%), or off, got";
    expect(readRunOption("holdout", "0.9")).toEqual({ problem: `${takes} "0.9".` });
    expect(readRunOption("holdout", "half")).toEqual({ problem: `${takes} "half".` });
  });

  it("takes the budget as aide run and aide submit read it", () => {
    expect(readRunOption("budget", "200k")).toEqual({ value: { tokens: 200_000 } });
    expect(readRunOption("budget", "$2.50")).toEqual({ value: { usd: 2.5 } });
    const budget = `--budget takes tokens from 1,000 to 1,000,000,000 (200k, 1.5M) or dollars from $0.01 to $10,000 ($2.50), got`;
    expect(readRunOption("budget", "500")).toEqual({ problem: `${budget} "500".` });
    expect(readRunOption("budget", "$0")).toEqual({ problem: `${budget} "$0".` });
    expect(readRunOption("budget", "$20000")).toEqual({ problem: `${budget} "$20000".` });
    expect(readRunOption("budgetUsd", "$2.50")).toEqual({ value: 2.5 });
    expect(readRunOption("budgetUsd", "200k")).toEqual({
      problem: `--budget takes dollars from $0.01 to $10,000, e.g. $2.50 (a queued run's budget is in dollars), got "200k".`,
    });
  });

  it("reads durations in whole seconds and metric names with spaces", () => {
    expect(readRunOption("timeout", "1h30m")).toEqual({ value: 5400 });
    expect(readRunOption("timeout", "90.4s")).toEqual({ value: 90 });
    expect(readRunOption("metric", " root mean squared error ")).toEqual({ value: "root mean squared error" });
    expect(readRunOption("metric", "a  b")).toEqual({ problem: METRIC("a  b") });
  });
});

describe("more N", () => {
  const MORE = `"more" takes a number of steps from 1 to 10,000, e.g. "more 10".`;

  it.each(["more 0", "more 10001", "+2.5", "more ten"])("%j is refused by the parser with the steps limit", (text) => {
    expect(parseSteer(text)).toEqual({ error: MORE });
  });

  it("is taken up to the steps limit", () => {
    expect(parseSteer("more 10000")).toEqual({ command: { kind: "more", steps: 10_000 } });
  });

  it("keeps a run within the steps limit in RunService.steer, and refuses a count outside it from any caller", async () => {
    const { runs, steers } = fakeService({ progress: { totalSteps: 9995 } as RunRecord["progress"] });
    await expect(runs.steer("r1a2b3c4d", { kind: "more", steps: 6 }, ada)).rejects.toThrow(
      new UsageError(`A run makes at most 10,000 steps; this one has 9,995, so "more" can add at most 5.`),
    );
    await expect(runs.steer("r1a2b3c4d", { kind: "more", steps: 0 }, ada)).rejects.toThrow(new UsageError(MORE));
    expect(steers).toEqual([]);
    await runs.steer("r1a2b3c4d", { kind: "more", steps: 5 }, ada);
    expect(steers).toEqual([{ kind: "more", steps: 5 }]);
  });

  it("says when a run has no room left", async () => {
    const { runs } = fakeService({ progress: { totalSteps: 10_000 } as RunRecord["progress"] });
    await expect(runs.steer("r1a2b3c4d", { kind: "more", steps: 1 }, ada)).rejects.toThrow(/so "more" can add none\.$/);
  });
});
