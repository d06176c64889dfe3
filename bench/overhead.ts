import { spawnSync } from "node:child_process";
import { mkdtemp, mkdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../src/config.ts";
import { silentLogger } from "../src/logger.ts";
import { executeRun } from "../src/runs/execute.ts";
import type { Coder, Executor, RunSink } from "../src/search/types.ts";
import { SandboxExecutor } from "../runner/executors/sandbox.ts";
import { LocalExecutor } from "../runner/executors/local.ts";

const PYTHON = "/usr/bin/python3";
const noSink: RunSink = { nodeFinished: async () => {}, event: async () => {} };

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Milliseconds of a bare `python3 <args>` process, median of n runs. */
export function bareStartMs(args: string[], n: number, cwd?: string): number {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const r = spawnSync(PYTHON, args, { cwd, stdio: "ignore" });
    if (r.status !== 0) throw new Error(`${PYTHON} ${args.join(" ")} failed`);
    times.push(performance.now() - t);
  }
  return median(times);
}

/** A coder that answers at once with a trivial script that prints a metric and writes a submission. */
export class InstantCoder implements Coder {
  readonly name = "instant (benchmark)";
  constructor(private readonly script: string) {}
  async propose() {
    return { plan: "trivial", code: this.script, usage: { promptTokens: 0, completionTokens: 0, costUsd: 0 } };
  }
  async review() {
    return { isBug: false, summary: "ok", metric: null, lowerIsBetter: null, usage: { promptTokens: 0, completionTokens: 0, costUsd: 0 } };
  }
}

export const TRIVIAL_SCRIPT = `open("./working/submission.csv", "w").write("id,y\\n1,0\\n")
print('AIDE_METRIC {"name": "score", "value": 1, "lower_is_better": false}')
`;

async function tinyTask(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "aide-bench-overhead-"));
  await mkdir(join(dir, "input"));
  await writeFile(join(dir, "input", "train.csv"), "id,x,y\n1,1,1\n");
  await writeFile(join(dir, "input", "test.csv"), "id,x\n1,1\n");
  await writeFile(join(dir, "input", "sample_submission.csv"), "id,y\n1,0\n");
  return dir;
}

/** Wall time per step of whole searches (policy, prompt context, execution, checks, journal) with an instant coder. */
export async function perStepMs(executor: Executor, steps: number): Promise<number> {
  const dir = await tinyTask();
  const config = loadConfig({ env: {}, overrides: { search: { steps } } });
  const t = performance.now();
  await executeRun({
    runId: "bench-overhead",
    task: "Predict y.",
    inputDir: join(dir, "input"),
    runDir: join(dir, "run"),
    config,
    coder: new InstantCoder(TRIVIAL_SCRIPT),
    executor,
    sink: noSink,
    logger: silentLogger,
  });
  return (performance.now() - t) / steps;
}

/** Median ms to run one script through an executor. */
export async function executorRunMs(executor: Executor, code: string, n: number): Promise<number> {
  const dir = await tinyTask();
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const r = await executor.run({ nodeId: i, code, inputDir: join(dir, "input"), nodeDir: join(dir, "nodes", String(i)), timeoutMs: 60_000, memoryMb: 4096, outputCap: 100_000 });
    if (r.exitCode !== 0) throw new Error(`benchmark script failed in ${executor.name}: ${r.output.slice(-500)}`);
    times.push(performance.now() - t);
  }
  return median(times);
}

export const SKLEARN_SCRIPT = "import sklearn.ensemble, pandas, numpy\nprint('ok')\n";

export function executors() {
  return { sandbox: new SandboxExecutor({ logger: silentLogger }), local: new LocalExecutor({ logger: silentLogger }) };
}
