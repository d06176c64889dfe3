/**
 * Runs scripts directly on the host, WITHOUT isolation: a script can read and write anything the user
 * can, and reach the network. Only for users who pass an explicit unsafe flag. It keeps the rest of the
 * contract: the clean environment, time limit, output cap, RLIMIT_AS memory cap and file-size cap.
 */
import { mkdtemp, rm, symlink, unlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ExecutorError } from "../../src/errors.ts";
import type { Logger } from "../../src/logger.ts";
import type { ExecutionResult, Executor, ScriptJob } from "../../src/search/types.ts";
import { findExecutable, runLimited } from "./process.ts";
import { DEFAULT_PYTHON } from "./sandbox.ts";
import { toExecutionResult } from "./script-supervisor.ts";
import { cleanEnv, inputDirOf, writeNodeFiles } from "./workspace.ts";

export interface LocalOptions {
  logger: Logger;
  pythonPath?: string;
  graceMs?: number;
  fileSizeMb?: number;
  outputCeiling?: number;
  threads?: number;
}

export class LocalExecutor implements Executor {
  readonly name = "local (UNSAFE, no sandbox)";
  private warned = false;

  constructor(private readonly opts: LocalOptions) {}

  async run(job: ScriptJob, signal?: AbortSignal): Promise<ExecutionResult> {
    const python = this.opts.pythonPath ?? DEFAULT_PYTHON;
    if (!(await findExecutable(python))) {
      throw new ExecutorError(
        `Python was not found at ${python}. Install it with \`apt-get install python3 python3-sklearn python3-pandas python3-numpy\`.`,
      );
    }
    if (!this.warned) {
      this.warned = true;
      this.opts.logger.warn(
        "running scripts WITHOUT a sandbox (local executor): they can read and change your files and use the network",
      );
    }
    const { inputDir } = await inputDirOf(job);
    const { nodeDir, workingDir, scriptPath } = await writeNodeFiles(job);
    const link = join(nodeDir, "input");
    await unlink(link).catch(() => undefined);
    await symlink(inputDir, link, "dir");

    const home = await mkdtemp(join(tmpdir(), "aide-home-"));
    try {
      const r = await runLimited({
        command: python,
        args: [scriptPath],
        cwd: nodeDir,
        env: cleanEnv(home, this.opts.threads),
        timeoutMs: job.timeoutMs,
        memoryMb: job.memoryMb,
        outputCap: job.outputCap,
        signal,
        logger: this.opts.logger,
        memoryLimit: "rlimit",
        graceMs: this.opts.graceMs,
        outputCeiling: this.opts.outputCeiling,
        fileSizeMb: this.opts.fileSizeMb,
      });
      return toExecutionResult(r, workingDir);
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  }
}
