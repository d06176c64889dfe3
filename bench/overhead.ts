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
    return {
      isBug: false,
      summary: "ok",
      metric: null,
      lowerIsBetter: null,
      usage: { promptTokens: 0, completionTokens: 0, costUsd: 0 },
    };
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

/**
 * Steady-state wall time per step of a search with an instant coder: from the first step's end to the last
 * step's end, divided by the steps in between (policy, prompt context, writing the script, running it, the
 * submission check, the review, the journal). A run's one-off start (a warm interpreter importing
 * scikit-learn, `prepareMs`) and its first step (`firstStepMs`) are reported apart.
 */
export async function steadyStepMs(
  executor: Executor,
  steps: number,
  script = TRIVIAL_SCRIPT,
): Promise<{ stepMs: number; firstStepMs: number; prepareMs: number }> {
  const dir = await tinyTask();
  const config = loadConfig({ env: {}, overrides: { search: { steps } } });
  const finished: number[] = [];
  const t = performance.now();
  const scope = { inputDir: join(dir, "input"), runDir: join(dir, "run"), memoryMb: config.execution.memoryMb };
  // As when a coder takes a moment to write the first script: the warm interpreter is up before it arrives.
  await executor.prepareRun?.(scope);
  const prepared = performance.now();
  await executeRun({
    runId: "bench-steady",
    task: "Predict y.",
    inputDir: scope.inputDir,
    runDir: scope.runDir,
    config,
    coder: new InstantCoder(script),
    executor,
    sink: {
      nodeFinished: async () => {},
      event: async (e) => void (e.type === "step.finished" && finished.push(performance.now())),
    },
    logger: silentLogger,
  });
  if (finished.length !== steps) throw new Error(`expected ${steps} finished steps, got ${finished.length}`);
  return {
    stepMs: (finished[steps - 1]! - finished[0]!) / (steps - 1),
    firstStepMs: finished[0]! - prepared,
    prepareMs: prepared - t,
  };
}

/** Median ms to run one script through an executor. */
export async function executorRunMs(executor: Executor, code: string, n: number): Promise<number> {
  const dir = await tinyTask();
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const r = await executor.run({
      nodeId: i,
      code,
      inputDir: join(dir, "input"),
      nodeDir: join(dir, "nodes", String(i)),
      timeoutMs: 60_000,
      memoryMb: 4096,
      outputCap: 100_000,
    });
    if (r.exitCode !== 0) throw new Error(`benchmark script failed in ${executor.name}: ${r.output.slice(-500)}`);
    times.push(performance.now() - t);
  }
  return median(times);
}

export const SKLEARN_SCRIPT = "import sklearn.ensemble, pandas, numpy\nprint('ok')\n";

/** A small real step: read a CSV, fit a logistic regression, write a submission. */
export const SKLEARN_FIT_SCRIPT = `import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.metrics import roc_auc_score
train = pd.read_csv("./input/train.csv")
test = pd.read_csv("./input/test.csv")
X, y = train.drop(columns=["id", "y"]), train["y"]
X_tr, X_va, y_tr, y_va = train_test_split(X, y, test_size=0.25, random_state=0)
model = LogisticRegression(max_iter=500).fit(X_tr, y_tr)
auc = roc_auc_score(y_va, model.predict_proba(X_va)[:, 1])
model.fit(X, y)
pd.DataFrame({"id": test["id"], "y": model.predict_proba(test.drop(columns=["id"]))[:, 1]}).to_csv("./working/submission.csv", index=False)
print(f'AIDE_METRIC {{"name": "roc_auc", "value": {auc:.4f}, "lower_is_better": false}}')
`;

/** A task directory for SKLEARN_FIT_SCRIPT: 2,000 training rows, 500 test rows, 10 numeric features. */
export async function sklearnTask(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "aide-bench-sklearn-"));
  await mkdir(join(dir, "input"));
  await mkdir(join(dir, "working"));
  let seed = 7;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const row = (id: number, withY: boolean) => {
    const x = Array.from({ length: 10 }, () => rand() * 2 - 1);
    const y = x[0]! + 0.5 * x[1]! - 0.3 * x[2]! + (rand() - 0.5) > 0 ? 1 : 0;
    return [id, ...x.map((v) => v.toFixed(4)), ...(withY ? [y] : [])].join(",");
  };
  const cols = Array.from({ length: 10 }, (_, i) => `x${i}`).join(",");
  await writeFile(
    join(dir, "input", "train.csv"),
    `id,${cols},y\n${Array.from({ length: 2000 }, (_, i) => row(i, true)).join("\n")}\n`,
  );
  await writeFile(
    join(dir, "input", "test.csv"),
    `id,${cols}\n${Array.from({ length: 500 }, (_, i) => row(2000 + i, false)).join("\n")}\n`,
  );
  await writeFile(
    join(dir, "input", "sample_submission.csv"),
    `id,y\n${Array.from({ length: 500 }, (_, i) => `${2000 + i},0`).join("\n")}\n`,
  );
  await writeFile(join(dir, "solution.py"), SKLEARN_FIT_SCRIPT);
  return dir;
}

/** Median ms of a fresh `python3 solution.py` in the task directory (exit included), n runs. */
export function freshPythonMs(taskDir: string, n: number): number {
  return bareStartMs(["solution.py"], n, taskDir);
}

/** Median ms of the same script through an executor, n runs (after one unmeasured run). */
export async function executorScriptMs(executor: Executor, taskDir: string, code: string, n: number): Promise<number> {
  const times: number[] = [];
  const scope = { inputDir: join(taskDir, "input"), runDir: join(taskDir, "run"), memoryMb: 4096 };
  await executor.prepareRun?.(scope);
  for (let i = 0; i <= n; i++) {
    const t = performance.now();
    const r = await executor.run({
      nodeId: i,
      code,
      inputDir: scope.inputDir,
      nodeDir: join(scope.runDir, "nodes", String(i)),
      timeoutMs: 120_000,
      memoryMb: 4096,
      outputCap: 100_000,
    });
    if (r.exitCode !== 0) throw new Error(`benchmark script failed in ${executor.name}: ${r.output.slice(-500)}`);
    if (i > 0) times.push(performance.now() - t);
  }
  await executor.releaseRun?.(scope);
  return median(times);
}

export function executors() {
  return {
    sandbox: new SandboxExecutor({ logger: silentLogger }),
    warmSandbox: new SandboxExecutor({ logger: silentLogger, warm: true }),
    local: new LocalExecutor({ logger: silentLogger }),
  };
}
