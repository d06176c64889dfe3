/**
 * Starts a local redis-server (tests, `aide demo`, a single-machine deployment) and checks that a Redis answers.
 *
 * The server runs in the foreground (`--daemonize no`) as our child, so we know its pid without reading a
 * pidfile. With `detached: true` it gets its own process group, is unref'd and outlives the starter; the pid
 * is also written to `<dir>/redis-<port>.pid` so another process can stop it later (`stopRedisPid`).
 */
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync, rmSync, existsSync } from "node:fs";
import { join } from "node:path";
import { Redis } from "ioredis";
import { AideError } from "../errors.ts";
import { PortInUse, startOnPort, waitUntilServing } from "./local-server.ts";
import { stopPid } from "./process-utils.ts";

export interface RedisServerOptions {
  /** 0 or undefined: pick a free port. */
  port?: number;
  /** Directory for the log and pid files (created if missing). */
  dir: string;
  /** Let the server outlive this process (own process group, not tied to our stdio). Default false. */
  detached?: boolean;
  /** The redis-server binary. Default `redis-server` on PATH. */
  bin?: string;
  /** How long to wait for PING to answer. Default 10 s. */
  readyTimeoutMs?: number;
  /**
   * Keep the data across restarts in an append-only file in `dir` (fsync every second), as a deployment's Redis
   * does (docker-compose.yml). Default false: memory only.
   */
  appendOnly?: boolean;
}

export interface RedisServerHandle {
  url: string;
  port: number;
  pid: number;
  /** SIGTERM, wait for exit (SIGKILL after 5 s). Idempotent. */
  stop(): Promise<void>;
}

const INSTALL_HINT = "redis-server is not installed. Install it with: apt-get install -y redis-server";

export function startRedisServer(opts: RedisServerOptions): Promise<RedisServerHandle> {
  return startOnPort(
    opts.port,
    (port) => startOnFreshPort(port, opts),
    (port, cause) =>
      new AideError("redis", `Port ${port} is already in use; cannot start redis-server there.`, { cause }),
  );
}

async function startOnFreshPort(port: number, opts: RedisServerOptions): Promise<RedisServerHandle> {
  mkdirSync(opts.dir, { recursive: true });
  const url = `redis://127.0.0.1:${port}`;
  // Something (maybe another Redis) already listens there: do not start, and do not touch its log file.
  if (await redisAnswers(url, 300)) throw new PortInUse(`port ${port} in use`);
  const logFile = join(opts.dir, `redis-${port}.log`);
  const pidFile = join(opts.dir, `redis-${port}.pid`);
  rmSync(logFile, { force: true });
  const bin = opts.bin ?? "redis-server";
  const args = [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--appendonly",
    opts.appendOnly ? "yes" : "no",
    "--appendfsync",
    "everysec",
    "--daemonize",
    "no",
    "--dir",
    opts.dir,
    "--logfile",
    logFile,
  ];
  const child = spawn(bin, args, { detached: opts.detached ?? false, stdio: "ignore" });

  if (opts.detached) child.unref();
  const pid = await waitUntilServing({
    child,
    port,
    logFile,
    timeoutMs: opts.readyTimeoutMs ?? 10_000,
    pollMs: 25,
    portInUseLog: /address already in use/i,
    portInUseWindow: 4000,
    logChars: 500,
    answeringPid: () => redisServerPid(url, 500),
    errors: {
      spawn: (err) =>
        err.code === "ENOENT"
          ? new AideError("redis", INSTALL_HINT, { cause: err, detail: `${bin} not found` })
          : new AideError("redis", "Could not start redis-server.", { cause: err, detail: err.message }),
      exited: (detail) => new AideError("redis", "redis-server exited during startup.", { detail }),
      timeout: (log) =>
        new AideError("redis", "redis-server did not answer in time.", { detail: `${url}; log: ${log}` }),
    },
  });
  writeFileSync(pidFile, `${pid}\n`);
  // An attached server goes down with its starter, even when the starter forgets to stop it.
  const onExit = () => {
    try {
      process.kill(pid, "SIGTERM");
    } catch {
      /* already gone */
    }
  };
  if (!opts.detached) process.once("exit", onExit);
  let stopping: Promise<void> | null = null;
  return {
    url,
    port,
    pid,
    stop() {
      process.removeListener("exit", onExit);
      stopping ??= stopRedisPid(pid).finally(() => rmSync(pidFile, { force: true }));
      return stopping;
    },
  };
}

/** Stops a redis-server by pid (e.g. one started detached by another process): SIGTERM, then SIGKILL after `graceMs`. */
export function stopRedisPid(pid: number, graceMs = 5_000): Promise<void> {
  return stopPid(pid, graceMs);
}

/** Reads the pid written by `startRedisServer` into `dir` for `port`, or null. */
export function readRedisPid(dir: string, port: number): number | null {
  const file = join(dir, `redis-${port}.pid`);
  if (!existsSync(file)) return null;
  const pid = Number.parseInt(readFileSync(file, "utf8").trim(), 10);
  return Number.isFinite(pid) && pid > 0 ? pid : null;
}

/** True when a Redis at `url` answers PING (an auth error also counts: something is answering). */
export async function redisAnswers(url: string, timeoutMs = 1_000): Promise<boolean> {
  const client = quickClient(url, timeoutMs);
  try {
    await client.connect();
    const pong = await client.ping();
    return pong === "PONG";
  } catch (err) {
    return err instanceof Error && /NOAUTH|WRONGPASS/.test(err.message);
  } finally {
    client.disconnect();
  }
}

/** The `process_id` a Redis at `url` reports (INFO server), or null when it does not answer. */
export async function redisServerPid(url: string, timeoutMs = 1_000): Promise<number | null> {
  const client = quickClient(url, timeoutMs);
  try {
    await client.connect();
    const info = await client.info("server");
    const m = /^process_id:(\d+)/m.exec(info);
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  } finally {
    client.disconnect();
  }
}

function quickClient(url: string, timeoutMs: number): Redis {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
    reconnectOnError: () => false,
  });
  client.on("error", () => {});
  return client;
}
