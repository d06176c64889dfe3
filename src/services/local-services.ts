/**
 * Local Redis and MongoDB for a single machine, used when REDIS_URL / MONGODB_URI are unset (`aide demo`,
 * `aide services start`, a bot and a runner on one box). The caller decides which it needs (`need`); configured
 * URLs always win and are not this module's business.
 *
 * The servers are started detached, so they are shared by every aide process on the machine and outlive the one
 * that started them. Their ports and pids are recorded in `<dataDir>/services.json`:
 *
 *   { "redis": { "url", "port", "pid", "startedAt" }, "mongo": { "uri", "port", "pid", "startedAt" } }
 *
 * A recorded server is reused when it answers and reports the recorded pid (a recycled pid or someone else's
 * server on the port is never taken for ours). Starting is serialised across processes by the lock file
 * `<dataDir>/services.lock` (created with O_EXCL; a lock whose holder died, or older than LOCK_STALE_MS, is
 * broken), so two aide processes starting at once start one server each kind, not two. A restarted server gets
 * its previous port back when that port is free, so URLs printed earlier stay right; the MongoDB data persists in
 * `<dataDir>/services/mongo/data`, Redis's in its append-only file in `<dataDir>/services/redis` (the queue, the run
 * leases and the event streams the bots have not posted yet: without it a restart of the machine left queued and
 * running runs stranded in MongoDB and their last chat posts unsent), as docker-compose.yml runs Redis.
 */
import { randomBytes } from "node:crypto";
import {
  closeSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import type { Logger } from "../logger.ts";
import { AideError } from "../errors.ts";
import { sleep } from "../util/sleep.ts";
import { mongoServerPid, startMongoServer, stopMongoPid } from "./mongo-server.ts";
import { redisServerPid, startRedisServer, stopRedisPid } from "./redis-server.ts";
import { pidAlive } from "./process-utils.ts";

export interface ServiceRecord {
  port: number;
  pid: number;
  startedAt: string;
}

export interface ServicesState {
  redis?: ServiceRecord & { url: string };
  mongo?: ServiceRecord & { uri: string };
}

export interface Need {
  redis: boolean;
  mongo: boolean;
}

export type EnsuredServices<N extends Need> = (N["redis"] extends true ? { redisUrl: string } : { redisUrl?: string }) &
  (N["mongo"] extends true ? { mongoUri: string } : { mongoUri?: string });

export interface ServiceStatus {
  kind: "redis" | "mongo";
  url: string;
  port: number;
  pid: number;
  startedAt: string;
  /** Answers and reports the recorded pid. */
  running: boolean;
}

/** A lock older than this is broken even when its holder still lives (a starter that hung). */
const LOCK_STALE_MS = 90_000;
/** How long a caller waits for another process's lock. */
const LOCK_WAIT_MS = 120_000;

/** `AIDE_DATA_DIR`, else `~/.aide`. */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.AIDE_DATA_DIR || join(homedir(), ".aide");
}

function stateFile(dataDir: string): string {
  return join(dataDir, "services.json");
}

export function readServicesState(dataDir: string): ServicesState {
  try {
    const parsed = JSON.parse(readFileSync(stateFile(dataDir), "utf8")) as ServicesState;
    return parsed && typeof parsed === "object" ? parsed : {};
  } catch {
    return {};
  }
}

function writeServicesState(dataDir: string, state: ServicesState): void {
  const file = stateFile(dataDir);
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(tmp, file);
}

async function redisIsOurs(rec: ServicesState["redis"]): Promise<boolean> {
  return !!rec && (await redisServerPid(rec.url, 1_000)) === rec.pid;
}

async function mongoIsOurs(rec: ServicesState["mongo"]): Promise<boolean> {
  return !!rec && (await mongoServerPid(rec.uri, 1_500)) === rec.pid;
}

/**
 * Returns the URLs of the local services in `need`, starting those that do not answer. Safe to call from many
 * processes at once.
 */
export async function ensureLocalServices<N extends Need>(opts: {
  dataDir?: string;
  need: N;
  logger: Logger;
}): Promise<EnsuredServices<N>> {
  const dataDir = opts.dataDir ?? defaultDataDir();
  const { need, logger } = opts;
  mkdirSync(dataDir, { recursive: true });

  const answer = (s: ServicesState): EnsuredServices<N> => {
    const out: { redisUrl?: string; mongoUri?: string } = {};
    if (need.redis && s.redis) out.redisUrl = s.redis.url;
    if (need.mongo && s.mongo) out.mongoUri = s.mongo.uri;
    return out as EnsuredServices<N>;
  };
  const healthy = async (s: ServicesState): Promise<{ redis: boolean; mongo: boolean }> => {
    const [redis, mongo] = await Promise.all([
      need.redis ? redisIsOurs(s.redis) : true,
      need.mongo ? mongoIsOurs(s.mongo) : true,
    ]);
    return { redis, mongo };
  };

  // Fast path, no lock: everything needed already runs.
  const seen = readServicesState(dataDir);
  const ok = await healthy(seen);
  if (ok.redis && ok.mongo) return answer(seen);

  return withLock(dataDir, logger, async () => {
    const state = readServicesState(dataDir); // another process may have started them while we waited
    const now = await healthy(state);
    if (need.redis && !now.redis) {
      await retire("redis", state.redis, logger);
      const dir = join(dataDir, "services", "redis");
      const redis = await startPreferringPort(state.redis?.port, (port) =>
        startRedisServer({ port, dir, detached: true, appendOnly: true }),
      );
      state.redis = { url: redis.url, port: redis.port, pid: redis.pid, startedAt: new Date().toISOString() };
      writeServicesState(dataDir, state);
      logger.info({ url: redis.url, pid: redis.pid }, "started local redis-server");
    }
    if (need.mongo && !now.mongo) {
      await retire("mongo", state.mongo, logger);
      const dir = join(dataDir, "services", "mongo");
      const mongo = await startPreferringPort(state.mongo?.port, (port) =>
        startMongoServer({ port, dir, detached: true }),
      );
      state.mongo = { uri: mongo.uri, port: mongo.port, pid: mongo.pid, startedAt: new Date().toISOString() };
      writeServicesState(dataDir, state);
      logger.info({ uri: mongo.uri, pid: mongo.pid, data: join(dir, "data") }, "started local MongoDB-protocol server");
    }
    return answer(state);
  });
}

/** What `services.json` records, and whether each recorded server still answers as ours. */
export async function localServicesStatus(dataDir: string = defaultDataDir()): Promise<ServiceStatus[]> {
  const state = readServicesState(dataDir);
  const out: ServiceStatus[] = [];
  if (state.redis) {
    const { url, port, pid, startedAt } = state.redis;
    out.push({ kind: "redis", url, port, pid, startedAt, running: await redisIsOurs(state.redis) });
  }
  if (state.mongo) {
    const { uri, port, pid, startedAt } = state.mongo;
    out.push({ kind: "mongo", url: uri, port, pid, startedAt, running: await mongoIsOurs(state.mongo) });
  }
  return out;
}

/** Stops the recorded servers (only processes that are verifiably ours) and clears the state file. */
export async function stopLocalServices(dataDir: string = defaultDataDir(), logger?: Logger): Promise<ServiceStatus[]> {
  mkdirSync(dataDir, { recursive: true });
  const noop = { info() {}, warn() {} } as unknown as Logger;
  const log = logger ?? noop;
  return withLock(dataDir, log, async () => {
    const before = await localServicesStatus(dataDir);
    const state = readServicesState(dataDir);
    await retire("redis", state.redis, log);
    await retire("mongo", state.mongo, log);
    writeServicesState(dataDir, {});
    return before;
  });
}

/**
 * Stops a recorded server that is ours but no longer healthy (or on stop). A recorded pid that now belongs to
 * some other program (pids are recycled) is left alone.
 */
async function retire(kind: "redis" | "mongo", rec: ServiceRecord | undefined, logger: Logger): Promise<void> {
  if (!rec || !processIsOurServer(rec.pid, kind)) return;
  logger.info({ kind, pid: rec.pid }, "stopping local service");
  if (kind === "redis") await stopRedisPid(rec.pid);
  else await stopMongoPid(rec.pid);
}

function processIsOurServer(pid: number, kind: "redis" | "mongo"): boolean {
  let cmdline: string;
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
  } catch {
    return false; // gone (or no /proc: then we cannot tell, and do not kill)
  }
  return kind === "redis"
    ? /redis-server/.test(cmdline)
    : /mongo-server\.[jt]s/.test(cmdline) && cmdline.includes("--serve");
}

/** Starts on `preferred` when given and free (stable URLs across restarts), else on any free port. */
async function startPreferringPort<T>(
  preferred: number | undefined,
  start: (port: number | undefined) => Promise<T>,
): Promise<T> {
  if (preferred) {
    try {
      return await start(preferred);
    } catch (err) {
      if (!(err instanceof AideError && /already in use/.test(err.userMessage))) throw err;
    }
  }
  return start(undefined);
}

// ------------------------------------------------------------------------------------------------ the lock

async function withLock<T>(dataDir: string, logger: Logger, f: () => Promise<T>): Promise<T> {
  const lock = join(dataDir, "services.lock");
  const token = `${process.pid} ${randomBytes(8).toString("hex")}`;
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      const fd = openSync(lock, "wx");
      try {
        writeSync(fd, `${token}\n`);
      } finally {
        closeSync(fd);
      }
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    breakIfStale(lock, logger);
    if (Date.now() > deadline) {
      throw new AideError(
        "services",
        "Another aide process is still starting the local services; try again in a minute.",
        { detail: lock },
      );
    }
    await sleep(25 + Math.random() * 50);
  }
  try {
    return await f();
  } finally {
    try {
      if (readFileSync(lock, "utf8").trim() === token) rmSync(lock, { force: true });
    } catch {
      /* broken by someone who took it for stale */
    }
  }
}

function breakIfStale(lock: string, logger: Logger): void {
  let content: string;
  let ageMs: number;
  try {
    content = readFileSync(lock, "utf8");
    ageMs = Date.now() - statSync(lock).mtimeMs;
  } catch {
    return; // released meanwhile
  }
  const holder = Number.parseInt(content.split(" ")[0] ?? "", 10);
  // An empty file is a lock being written right now, unless it has been empty for a while.
  const dead = content.trim() === "" ? ageMs > 5_000 : !(Number.isFinite(holder) && holder > 0 && pidAlive(holder));
  if (!dead && ageMs < LOCK_STALE_MS) return;
  // Remove it only if it is still the lock we judged (another waiter may have broken it and taken a new one).
  try {
    if (readFileSync(lock, "utf8") !== content) return;
    rmSync(lock, { force: true });
    logger.warn({ lock, holder, ageMs }, "broke a stale services lock");
  } catch {
    /* gone */
  }
}
