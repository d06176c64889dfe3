/**
 * Which Python and which machine-learning packages the sandbox really has, asked of the sandbox itself: a
 * small probe script (sandbox-packages.py) runs through the executor like any solution, so the answer holds
 * for whatever interpreter or image that executor uses (bubblewrap, Docker, local, warm or cold). The probe
 * only looks packages up (`importlib.util.find_spec`, `importlib.metadata.version`); it imports none of them.
 * The answer is kept per executor object, so a runner serving many runs asks once; when the probe fails, the
 * prompts fall back to the packages every supported sandbox is built with, and a warning says so.
 */
import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import type { Logger } from "../logger.ts";
import type { Executor, ScriptJob } from "../search/types.ts";

/** What the prompts list when the sandbox cannot be asked: what every supported sandbox is built with. */
export const FALLBACK_PACKAGES: readonly string[] = ["numpy", "pandas", "scikit-learn", "scipy"];

export interface PackageCandidate {
  /** Name as prompts show it (the usual distribution name). */
  name: string;
  /** Top-level module whose presence means the package is there. */
  module: string;
  /** Distribution names to read the version from, in order. */
  distributions: string[];
}

const candidate = (name: string, module = name, distributions = [name]): PackageCandidate => ({
  name,
  module,
  distributions,
});

/** The packages the probe looks for: those a machine-learning script is likely to want. */
export const PACKAGE_CANDIDATES: readonly PackageCandidate[] = [
  candidate("numpy"),
  candidate("pandas"),
  candidate("scikit-learn", "sklearn"),
  candidate("scipy"),
  candidate("xgboost"),
  candidate("lightgbm"),
  candidate("catboost"),
  candidate("torch"),
  candidate("torchvision"),
  candidate("tensorflow", "tensorflow", ["tensorflow", "tensorflow-cpu", "tensorflow-gpu"]),
  candidate("keras"),
  candidate("statsmodels"),
  candidate("scikit-image", "skimage"),
  candidate("opencv", "cv2", [
    "opencv-python",
    "opencv-python-headless",
    "opencv-contrib-python",
    "opencv-contrib-python-headless",
  ]),
  candidate("matplotlib"),
  candidate("seaborn"),
  candidate("polars"),
  candidate("pyarrow"),
  candidate("optuna"),
  candidate("transformers"),
  candidate("joblib"),
  candidate("Pillow", "PIL", ["Pillow", "pillow"]),
];

/** The line the probe prints its answer on, before the JSON. */
export const PROBE_MARKER = "AIDE_SANDBOX_PACKAGES ";

const PROBE_SOURCE = readFileSync(new URL("./sandbox-packages.py", import.meta.url), "utf8");

const probeAnswer = z.object({
  python: z.string().min(1),
  packages: z.array(z.object({ name: z.string().min(1), version: z.string().nullable() })),
});

export type SandboxProbe = z.infer<typeof probeAnswer>;

export interface ProbeOptions {
  /** An existing directory the job may see as ./input (the run's input directory). */
  inputDir: string;
  /** Where the probe's temporary node directory is made (the run's directory: every executor can mount it). */
  workDir: string;
  /** Default 60 s. */
  timeoutMs?: number;
  /** Default 1024 MB. */
  memoryMb?: number;
  signal?: AbortSignal;
}

/** The probe script: the candidates as a Python literal (JSON is one), then sandbox-packages.py. */
export function probeScript(candidates: readonly PackageCandidate[] = PACKAGE_CANDIDATES): string {
  const list = candidates.map((c) => [c.name, c.module, c.distributions]);
  return `CANDIDATES = ${JSON.stringify(list)}\n${PROBE_SOURCE}`;
}

/** Runs the probe through `executor` once (no cache). Throws when it fails or prints no valid answer. */
export async function probeSandbox(executor: Executor, opts: ProbeOptions): Promise<SandboxProbe> {
  await mkdir(opts.workDir, { recursive: true });
  const nodeDir = await mkdtemp(join(opts.workDir, ".sandbox-probe-"));
  const job: ScriptJob = {
    nodeId: -1,
    code: probeScript(),
    inputDir: opts.inputDir,
    nodeDir,
    timeoutMs: opts.timeoutMs ?? 60_000,
    memoryMb: opts.memoryMb ?? 1024,
    outputCap: 100_000,
  };
  try {
    const result = await executor.run(job, opts.signal);
    const line = result.output.split("\n").find((l) => l.startsWith(PROBE_MARKER));
    const tail = result.output.trim().slice(-500) || "(no output)";
    if (!line) {
      const how = result.timedOut
        ? "timed out"
        : `ended with exit code ${result.exitCode ?? "none"}${result.signal ? ` (${result.signal})` : ""}`;
      throw new Error(`the package probe ${how} without an answer: ${tail}`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(line.slice(PROBE_MARKER.length));
    } catch {
      throw new Error(`the package probe printed no valid JSON: ${line.slice(0, 500)}`);
    }
    const answer = probeAnswer.safeParse(parsed);
    if (!answer.success) throw new Error(`the package probe's answer has an unexpected shape: ${line.slice(0, 500)}`);
    return answer.data;
  } finally {
    await rm(nodeDir, { recursive: true, force: true }).catch(() => undefined);
  }
}

/** The probe's answer as prompts list it: "Python 3.11.2" first, then "scikit-learn 1.2.1" (a bare name when no version is known). */
export function describeSandbox(probe: SandboxProbe): string[] {
  return [`Python ${probe.python}`, ...probe.packages.map((p) => (p.version ? `${p.name} ${p.version}` : p.name))];
}

const answers = new WeakMap<Executor, Promise<SandboxProbe>>();

/**
 * What prompts should list for scripts run by `executor`: the probe's answer (asked once per executor
 * object; runs asking at the same time share one probe), or FALLBACK_PACKAGES with a warning when the probe
 * fails. A failure is not kept: the next run asks again.
 */
export async function sandboxPackages(executor: Executor, opts: ProbeOptions & { logger: Logger }): Promise<string[]> {
  let answer = answers.get(executor);
  if (!answer) {
    answer = probeSandbox(executor, opts);
    answers.set(executor, answer);
  }
  try {
    return describeSandbox(await answer);
  } catch (err) {
    if (answers.get(executor) === answer) answers.delete(executor);
    opts.logger.warn(
      { err, executor: executor.name },
      `could not ask the sandbox which Python packages it has; prompts list ${FALLBACK_PACKAGES.join(", ")}`,
    );
    return [...FALLBACK_PACKAGES];
  }
}
