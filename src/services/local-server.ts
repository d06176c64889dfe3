import type { ChildProcess } from "node:child_process";
import type { AideError } from "../errors.ts";
import { sleep } from "../util/sleep.ts";
import { freePort, readTail } from "./process-utils.ts";

/** The port asked for is taken (found before starting, or said in the server's log). */
export class PortInUse extends Error {}

/**
 * Starts a local server on `port`, or on a free port picked here when none is given: a picked port can be
 * taken between picking and binding, so that case is tried again a few times. `inUse` is the error for a
 * given port that is taken.
 */
export async function startOnPort<T>(
  port: number | undefined,
  start: (port: number) => Promise<T>,
  inUse: (port: number, cause: PortInUse) => AideError,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    const p = port || (await freePort());
    try {
      return await start(p);
    } catch (err) {
      if (!(err instanceof PortInUse)) throw err;
      if (!port && attempt < 4) continue;
      throw inUse(p, err);
    }
  }
}

export interface ServingWait {
  child: ChildProcess;
  port: number;
  logFile: string;
  timeoutMs: number;
  pollMs: number;
  /** How the server's log says its port is taken, looked for in the last `portInUseWindow` characters. */
  portInUseLog: RegExp;
  portInUseWindow: number;
  /** Characters of the log's end quoted in errors. */
  logChars: number;
  /** The pid of the server answering on the port, if any: it must be ours, not one that took the port meanwhile. */
  answeringPid: () => Promise<number | null>;
  errors: {
    spawn: (err: NodeJS.ErrnoException) => AideError;
    exited: (detail: string) => AideError;
    timeout: (logTail: string) => AideError;
  };
}

/**
 * Waits until a just-spawned server answers on its port as itself, and returns its pid. Call it right after
 * `spawn`, before any await, so no `error` or `exit` event is missed. Kills the child when it does not answer
 * in time.
 */
export async function waitUntilServing(w: ServingWait): Promise<number> {
  let exited: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  let spawnError: NodeJS.ErrnoException | null = null;
  w.child.on("error", (err) => (spawnError = err));
  w.child.on("exit", (code, signal) => (exited = { code, signal }));
  const deadline = Date.now() + w.timeoutMs;
  for (;;) {
    if (spawnError) throw w.errors.spawn(spawnError);
    if (exited) {
      const log = readTail(w.logFile);
      if (w.portInUseLog.test(log.slice(-w.portInUseWindow))) throw new PortInUse(`port ${w.port} in use`);
      const how = exited as { code: number | null; signal: NodeJS.Signals | null };
      throw w.errors.exited(`exit code ${how.code} signal ${how.signal}; log: ${log.slice(-w.logChars)}`);
    }
    if (w.child.pid !== undefined && (await w.answeringPid()) === w.child.pid) return w.child.pid;
    if (Date.now() > deadline) {
      w.child.kill("SIGKILL");
      throw w.errors.timeout(readTail(w.logFile).slice(-w.logChars));
    }
    await sleep(w.pollMs);
  }
}
