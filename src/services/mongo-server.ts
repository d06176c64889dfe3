/**
 * Starts the embedded MongoDB-protocol server (src/store/embedded) in a process of its own, and checks that a
 * MongoDB answers. Used by tests, `aide demo` and `aide services start` when MONGODB_URI is unset.
 *
 * The server process is this very file (`node [--import tsx] mongo-server.{ts,js} --serve ...`: tsx from the
 * sources, plain node from the compiled dist/). Its data lives in `<dir>/data` (snapshot + journal, see
 * src/store/README.md), its output goes to `<dir>/mongo.log`.
 * With `detached: true` it gets its own process group and outlives the starter; without, it also exits when the
 * process that started it is gone (it watches its parent's pid), so a crashed test run leaves nothing behind.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import mongoose from "mongoose";
import { AideError } from "../errors.ts";
import { PortInUse, startOnPort, waitUntilServing } from "./local-server.ts";
import { pidAlive as alive, stopPid } from "./process-utils.ts";

export interface MongoServerOptions {
  /** 0 or undefined: pick a free port. */
  port?: number;
  /** Directory for the data (`data/`), the log and the pid file; created if missing. */
  dir: string;
  /** Let the server outlive this process (own process group, not tied to our stdio or pid). Default false. */
  detached?: boolean;
  /** How long to wait for the server to answer. Default 20 s (tsx compiles on first start). */
  readyTimeoutMs?: number;
  /** Keep data in memory only (nothing under `<dir>/data`). Default false. */
  memoryOnly?: boolean;
}

export interface MongoServerHandle {
  uri: string;
  port: number;
  pid: number;
  /** SIGTERM (the server writes a final snapshot), wait for exit, SIGKILL after 5 s. Idempotent. */
  stop(): Promise<void>;
}

/** The command our server answers with its pid and data dir; a real mongod answers "no such command". */
const INFO_COMMAND = "aideServerInfo";

const thisFile = fileURLToPath(import.meta.url);

export function startMongoServer(opts: MongoServerOptions): Promise<MongoServerHandle> {
  return startOnPort(
    opts.port,
    (port) => startOnFreshPort(port, opts),
    (port, cause) =>
      new AideError("mongo", `Port ${port} is already in use; cannot start the embedded MongoDB server there.`, {
        cause,
      }),
  );
}

async function startOnFreshPort(port: number, opts: MongoServerOptions): Promise<MongoServerHandle> {
  mkdirSync(opts.dir, { recursive: true });
  const uri = `mongodb://127.0.0.1:${port}`;
  if (await mongoAnswers(uri, 300)) throw new PortInUse(`port ${port} in use`);
  const logFile = join(opts.dir, "mongo.log");
  const pidFile = join(opts.dir, `mongo-${port}.pid`);
  // From the sources (tests, bench) the server needs tsx's loader; the compiled build (dist/) runs as it is.
  const loader = thisFile.endsWith(".ts") ? ["--import", import.meta.resolve("tsx")] : [];
  const args = [...loader, thisFile, "--serve", "--port", String(port)];
  if (!opts.memoryOnly) args.push("--data", join(opts.dir, "data"));
  if (!opts.detached) args.push("--parent", String(process.pid));
  const logFd = openSync(logFile, "a");
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, args, { detached: opts.detached ?? false, stdio: ["ignore", logFd, logFd] });
  } finally {
    closeSync(logFd);
  }
  if (opts.detached) child.unref();
  const pid = await waitUntilServing({
    child,
    port,
    logFile,
    timeoutMs: opts.readyTimeoutMs ?? 20_000,
    pollMs: 30,
    portInUseLog: /EADDRINUSE/,
    portInUseWindow: 600,
    logChars: 800,
    answeringPid: () => mongoServerPid(uri, 500),
    errors: {
      spawn: (err) => new AideError("mongo", "Could not start the embedded MongoDB server.", { cause: err }),
      exited: (detail) => new AideError("mongo", "The embedded MongoDB server exited during startup.", { detail }),
      timeout: (log) =>
        new AideError("mongo", "The embedded MongoDB server did not answer in time.", {
          detail: `${uri}; log: ${log}`,
        }),
    },
  });
  writeFileSync(pidFile, `${pid}\n`);
  let stopping: Promise<void> | null = null;
  return {
    uri,
    port,
    pid,
    stop() {
      stopping ??= stopMongoPid(pid).finally(() => rmSync(pidFile, { force: true }));
      return stopping;
    },
  };
}

/** Stops a server by pid (e.g. one started detached by another process): SIGTERM, then SIGKILL after `graceMs`. */
export function stopMongoPid(pid: number, graceMs = 5_000): Promise<void> {
  return stopPid(pid, graceMs);
}

async function withClient<T>(
  uri: string,
  timeoutMs: number,
  f: (c: mongoose.mongo.MongoClient) => Promise<T>,
): Promise<T> {
  const client = new mongoose.mongo.MongoClient(uri, {
    serverSelectionTimeoutMS: timeoutMs,
    connectTimeoutMS: timeoutMs,
    socketTimeoutMS: timeoutMs * 2,
    directConnection: !uri.startsWith("mongodb+srv:"),
  });
  try {
    await client.connect();
    return await f(client);
  } finally {
    await client.close(true).catch(() => {});
  }
}

/**
 * For a plain single-host `mongodb://host:port` URI: false when nothing accepts connections there. The driver
 * would otherwise keep retrying until its server-selection timeout, which makes "is it up yet?" polls slow.
 */
function nothingListens(uri: string, timeoutMs: number): Promise<boolean> {
  const m = /^mongodb:\/\/(?:[^@/]*@)?([^/:,?]+):(\d+)(?:[/?]|$)/.exec(uri);
  if (!m) return Promise.resolve(false);
  return new Promise((resolve) => {
    const sock = connect({ host: m[1], port: Number(m[2]) });
    const done = (refused: boolean) => {
      sock.destroy();
      resolve(refused);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once("connect", () => done(false));
    sock.once("error", (err: NodeJS.ErrnoException) => done(err.code === "ECONNREFUSED"));
  });
}

/** True when a MongoDB (real or embedded) at `uri` answers a ping. */
export async function mongoAnswers(uri: string, timeoutMs = 1_000): Promise<boolean> {
  if (await nothingListens(uri, timeoutMs)) return false;
  try {
    return await withClient(uri, timeoutMs, async (c) => (await c.db("admin").command({ ping: 1 })).ok === 1);
  } catch {
    return false;
  }
}

/** The pid of the embedded server answering at `uri`, or null (nothing answers, or it is not ours). */
export async function mongoServerPid(uri: string, timeoutMs = 1_000): Promise<number | null> {
  if (await nothingListens(uri, timeoutMs)) return null;
  try {
    return await withClient(uri, timeoutMs, async (c) => {
      const info = await c.db("admin").command({ [INFO_COMMAND]: 1 });
      return typeof info.pid === "number" ? info.pid : null;
    });
  } catch {
    return null;
  }
}

// ------------------------------------------------------------------------------------------------ the server process

/** Takes `<dataDir>.lock` for this pid; a lock held by a live process means another server owns the data. */
function lockDataDir(dataDir: string): () => void {
  const lock = `${dataDir}.lock`;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(lock, "wx");
      writeFileSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return () => {
        try {
          if (readFileSync(lock, "utf8").trim() === String(process.pid)) rmSync(lock, { force: true });
        } catch {
          /* already gone */
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const holder = Number.parseInt(readFileSync(lock, "utf8").trim(), 10);
      if (Number.isFinite(holder) && holder > 0 && holder !== process.pid && alive(holder)) {
        throw new Error(`data directory ${dataDir} is in use by the server with pid ${holder}`);
      }
      rmSync(lock, { force: true }); // stale: its owner died
    }
  }
  throw new Error(`could not lock ${dataDir}`);
}

async function serve(argv: string[]): Promise<void> {
  const arg = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const port = Number(arg("--port") ?? "0");
  const dataDir = arg("--data") ?? null;
  const parent = arg("--parent") ? Number(arg("--parent")) : null;
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const unlock = dataDir ? lockDataDir(dataDir) : () => {};
  const { startEmbeddedMongo } = await import("../store/embedded/server.ts");
  const server = await startEmbeddedMongo({
    port,
    dir: dataDir,
    info: { command: INFO_COMMAND, answer: () => ({ pid: process.pid, dataDir }) },
  });
  console.log(
    `${new Date().toISOString()} embedded MongoDB listening on ${server.uri} pid ${process.pid} data ${dataDir ?? "(memory only)"}`,
  );
  let closing = false;
  const shutdown = async (why: string) => {
    if (closing) return;
    closing = true;
    console.log(`${new Date().toISOString()} stopping (${why})`);
    try {
      await server.stop();
    } finally {
      unlock();
      process.exit(0);
    }
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
  process.on("SIGHUP", () => void shutdown("SIGHUP"));
  if (parent) {
    setInterval(() => {
      if (!alive(parent)) void shutdown(`parent ${parent} exited`);
    }, 1_000).unref();
  }
}

if (process.argv[1] && pathToFileURL(process.argv[1]).href === import.meta.url && process.argv.includes("--serve")) {
  serve(process.argv.slice(2)).catch((err: unknown) => {
    console.error(`${new Date().toISOString()} embedded MongoDB failed:`, err);
    process.exit(1);
  });
}
