import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../../src/config.ts";
import type { Logger } from "../../../src/logger.ts";
import { executeRun } from "../../../src/runs/execute.ts";
import {
  describeSandbox,
  FALLBACK_PACKAGES,
  PACKAGE_CANDIDATES,
  probeSandbox,
  probeScript,
  PROBE_MARKER,
  sandboxPackages,
} from "../../../src/runs/sandbox-packages.ts";
import { draftPrompt, findSection, SECTION } from "../../../src/search/prompts.ts";
import type { ExecutionResult, ScriptJob } from "../../../src/search/types.ts";
import { InterpretingExecutor, RecordingSink, ScriptedCoder } from "../../fakes/search-fakes.ts";

function capturingLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino(
    { level: "debug" },
    { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) },
  ) as unknown as Logger;
  return { logger, lines };
}

const ANSWER = {
  python: "3.11.2",
  packages: [
    { name: "numpy", version: "1.24.2" },
    { name: "scikit-learn", version: "1.2.1" },
    { name: "opencv", version: null },
  ],
};

function result(job: ScriptJob, output: string, exitCode: number | null = 0): ExecutionResult {
  return {
    exitCode,
    signal: null,
    timedOut: false,
    outOfMemory: false,
    durationMs: 5,
    output,
    outputCapped: false,
    workingDir: join(job.nodeDir, "working"),
  };
}

/** Answers the probe with `reply` (or throws it); interprets every other script like InterpretingExecutor. */
class ProbeAnswering extends InterpretingExecutor {
  readonly probes: Array<{ job: ScriptJob; dirExisted: boolean }> = [];
  constructor(private reply: (job: ScriptJob) => Promise<ExecutionResult>) {
    super();
  }
  answer(reply: (job: ScriptJob) => Promise<ExecutionResult>): void {
    this.reply = reply;
  }
  override async run(job: ScriptJob, signal?: AbortSignal): Promise<ExecutionResult> {
    if (!job.code.startsWith("CANDIDATES = ")) return super.run(job, signal);
    this.probes.push({ job, dirExisted: existsSync(job.nodeDir) });
    return this.reply(job);
  }
}

const answering =
  (answer: unknown = ANSWER) =>
  async (job: ScriptJob) =>
    result(job, `some warning\n${PROBE_MARKER}${JSON.stringify(answer)}\n`);

describe("the sandbox package probe", () => {
  let root: string;
  let opts: { inputDir: string; workDir: string; logger: Logger };
  let log: ReturnType<typeof capturingLogger>;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), "aide-probe-unit-"));
    mkdirSync(join(root, "input"));
    log = capturingLogger();
    opts = { inputDir: join(root, "input"), workDir: join(root, "nodes"), logger: log.logger };
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it("sends the candidates and the probe as one script, with a short limit, in a temporary node directory it removes", async () => {
    const executor = new ProbeAnswering(answering());
    expect(await probeSandbox(executor, opts)).toEqual(ANSWER);
    const { job, dirExisted } = executor.probes[0]!;
    expect(job.timeoutMs).toBe(60_000);
    expect(job.memoryMb).toBe(1024);
    expect(job.inputDir).toBe(opts.inputDir);
    expect(job.nodeDir.startsWith(join(opts.workDir, ".sandbox-probe-"))).toBe(true);
    expect(dirExisted).toBe(true);
    expect(existsSync(job.nodeDir)).toBe(false);
    expect(readdirSync(opts.workDir)).toEqual([]);
    expect(job.code).toBe(probeScript());
    const firstLine = job.code.split("\n")[0]!;
    const list = JSON.parse(firstLine.slice("CANDIDATES = ".length)) as Array<[string, string, string[]]>;
    expect(list.map((c) => c[0])).toEqual(PACKAGE_CANDIDATES.map((c) => c.name));
    expect(list.find((c) => c[0] === "scikit-learn")?.[1]).toBe("sklearn");
    expect(job.code).toContain("importlib.util.find_spec");
    expect(job.code).not.toMatch(/^\s*import (numpy|pandas|sklearn|torch)/m);
  });

  it("lists the interpreter first, then each package with its version (a bare name when none is known)", () => {
    expect(describeSandbox(ANSWER)).toEqual(["Python 3.11.2", "numpy 1.24.2", "scikit-learn 1.2.1", "opencv"]);
  });

  it("asks an executor once, even for runs that ask at the same time, and each executor for itself", async () => {
    const executor = new ProbeAnswering(answering());
    const [a, b] = await Promise.all([sandboxPackages(executor, opts), sandboxPackages(executor, opts)]);
    const c = await sandboxPackages(executor, opts);
    expect(a).toEqual(describeSandbox(ANSWER));
    expect(b).toEqual(a);
    expect(c).toEqual(a);
    expect(executor.probes).toHaveLength(1);

    const other = new ProbeAnswering(answering({ python: "3.12.1", packages: [{ name: "torch", version: "2.3.0" }] }));
    expect(await sandboxPackages(other, opts)).toEqual(["Python 3.12.1", "torch 2.3.0"]);
    expect(other.probes).toHaveLength(1);
    expect(executor.probes).toHaveLength(1);
    expect(log.lines.filter((l) => l.level === 40)).toEqual([]);
  });

  const failures: Array<[string, (job: ScriptJob) => Promise<ExecutionResult>, RegExp]> = [
    ["the executor throws", async () => Promise.reject(new Error("bwrap is not installed")), /bwrap is not installed/],
    [
      "the script fails",
      async (job) => result(job, "Traceback (most recent call last):\nSyntaxError: bad", 1),
      /exit code 1 without an answer: Traceback/,
    ],
    [
      "it times out",
      async (job) => ({ ...result(job, "", null), timedOut: true, signal: "SIGKILL" }),
      /timed out without an answer/,
    ],
    ["the answer is not JSON", async (job) => result(job, `${PROBE_MARKER}{not json\n`), /no valid JSON/],
    [
      "the answer has the wrong shape",
      async (job) => result(job, `${PROBE_MARKER}{"python": 3}\n`),
      /unexpected shape/,
    ],
  ];

  for (const [what, reply, reason] of failures) {
    it(`falls back to the fixed list with a warning when ${what}, and asks again next time`, async () => {
      const executor = new ProbeAnswering(reply);
      await expect(probeSandbox(executor, opts)).rejects.toThrow(reason);
      expect(await sandboxPackages(executor, opts)).toEqual([...FALLBACK_PACKAGES]);
      const warnings = log.lines.filter((l) => l.level === 40);
      expect(warnings).toHaveLength(1);
      expect(String(warnings[0]!.msg)).toContain("numpy, pandas, scikit-learn, scipy");
      expect(JSON.stringify(warnings[0]!.err)).toMatch(reason);
      expect(readdirSync(opts.workDir)).toEqual([]);

      // A failure is not kept: the next run asks again, and keeps a good answer.
      executor.answer(answering());
      expect(await sandboxPackages(executor, opts)).toEqual(describeSandbox(ANSWER));
      expect(await sandboxPackages(executor, opts)).toEqual(describeSandbox(ANSWER));
      expect(executor.probes).toHaveLength(3);
    });
  }

  it("feeds what it found to the prompts of a run: the draft prompt lists exactly that", async () => {
    const found = {
      python: "3.10.12",
      packages: [
        { name: "numpy", version: "1.26.4" },
        { name: "pandas", version: "2.2.1" },
        { name: "lightgbm", version: "4.3.0" },
      ],
    };
    const executor = new ProbeAnswering(answering(found));
    writeFileSync(join(opts.inputDir, "train.csv"), "id,y\n1,0\n");
    const coder = new ScriptedCoder(() => "metric=0.5");
    const config = loadConfig({ env: {}, overrides: { search: { steps: 1 } } });
    await executeRun({
      runId: "probe-prompt",
      task: "Predict y.",
      inputDir: opts.inputDir,
      runDir: join(root, "run"),
      config,
      coder,
      executor,
      sink: new RecordingSink(),
      logger: log.logger,
    });
    expect(executor.probes).toHaveLength(1);
    expect(executor.probes[0]!.job.memoryMb).toBe(config.execution.memoryMb);
    expect(executor.probes[0]!.job.nodeDir.startsWith(join(root, "run", "nodes", ".sandbox-probe-"))).toBe(true);
    expect(executor.jobs.filter((j) => !j.code.startsWith("CANDIDATES"))).toHaveLength(1);
    const ctx = coder.contexts[0]!;
    expect(ctx.packages).toEqual(["Python 3.10.12", "numpy 1.26.4", "pandas 2.2.1", "lightgbm 4.3.0"]);
    expect(findSection(draftPrompt(ctx), SECTION.packages)!.body).toBe(
      "Scripts run on Python 3.10.12. These Python packages are available; nothing else can be installed: " +
        "`numpy 1.26.4`, `pandas 2.2.1`, `lightgbm 4.3.0`.",
    );
  });
});
