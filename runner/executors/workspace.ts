/**
 * What a script finds in every executor, whatever the sandbox: its code as `/workspace/solution.py` (cwd
 * /workspace), the task input read-only at ./input, the node's `working/` writable at ./working, and an
 * environment of a few fixed variables. On the host the node directory holds `solution.py` and `working/`.
 * Also the limits every executor applies by default.
 */
import { mkdir, stat, writeFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { join, resolve } from "node:path";
import { DataError } from "../../src/errors.ts";
import type { ScriptJob } from "../../src/search/types.ts";

/** Where the job's directory appears inside a sandbox; scripts run with this as their cwd. */
export const WORKSPACE = "/workspace";
export const SCRIPT_NAME = "solution.py";
/** The scripts' HOME inside bubblewrap, on its private /tmp (recreated after each warm script). */
export const SANDBOX_HOME = "/tmp/home";

/** Largest file a script may write (RLIMIT_FSIZE), in MB. */
export const DEFAULT_FILE_SIZE_MB = 8192;
/** Processes and threads a script may have at once. */
export const DEFAULT_PIDS_MAX = 512;

/** Thread caps (OMP/OpenBLAS/MKL) and CPUs a script gets by default: min(4, cores). */
export function defaultThreads(): number {
  return Math.max(1, Math.min(4, availableParallelism()));
}

/**
 * The only variables a script sees. Nothing of this process's environment is copied, so API keys and
 * tokens cannot leak in.
 */
export function cleanEnv(home: string, threads = defaultThreads()): Record<string, string> {
  const t = String(Math.max(1, Math.floor(threads)));
  return {
    PATH: "/usr/local/bin:/usr/bin:/bin",
    HOME: home,
    LANG: "C.UTF-8",
    PYTHONUNBUFFERED: "1",
    PYTHONDONTWRITEBYTECODE: "1",
    OMP_NUM_THREADS: t,
    OPENBLAS_NUM_THREADS: t,
    MKL_NUM_THREADS: t,
    NUMEXPR_NUM_THREADS: t,
  };
}

/** RLIMIT_FSIZE in bytes for a cap in MB. */
export function fileSizeBytes(fileSizeMb = DEFAULT_FILE_SIZE_MB): number {
  return Math.floor(fileSizeMb * 1024 * 1024);
}

/** The job's input directory, absolute, with its mode; a DataError when it is not a directory. */
export async function inputDirOf(job: ScriptJob): Promise<{ inputDir: string; mode: number }> {
  const inputDir = resolve(job.inputDir);
  try {
    const st = await stat(inputDir);
    if (st.isDirectory()) return { inputDir, mode: st.mode };
  } catch {
    // missing: said below
  }
  throw new DataError(`The task's input directory ${inputDir} does not exist.`);
}

export interface NodeFiles {
  nodeDir: string;
  workingDir: string;
  scriptPath: string;
}

/** The job's node directory on the host, absolute. */
export function nodeFilesOf(job: ScriptJob): NodeFiles {
  const nodeDir = resolve(job.nodeDir);
  return { nodeDir, workingDir: join(nodeDir, "working"), scriptPath: join(nodeDir, SCRIPT_NAME) };
}

/** Creates the node directory with its `working/` and writes the script. */
export async function writeNodeFiles(job: ScriptJob): Promise<NodeFiles> {
  const files = nodeFilesOf(job);
  await mkdir(files.workingDir, { recursive: true });
  await writeFile(files.scriptPath, job.code);
  return files;
}
