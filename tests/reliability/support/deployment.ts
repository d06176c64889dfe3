/**
 * A whole deployment on this machine, as docker-compose.yml describes it but with local processes: a persistent
 * Redis (AOF) and MongoDB-protocol server that a test can restart, `aide runner` worker processes, one `aide slack`
 * bot process in HTTP mode against the fake Slack Web API, and a file server holding the task's data.
 *
 * Runs are started and steered as a team would: signed `/aide start` commands and thread replies sent to the
 * bot. The test keeps its own connections (a Store and a Redis client) to look at what happened.
 *
 * `useDeployment(opts)` inside a describe block sets it all up in beforeAll and tears it down in afterAll.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll } from "vitest";
import { silentLogger } from "../../../src/logger.ts";
import { connectStore, type Store } from "../../../src/store/index.ts";
import type { RunRecord } from "../../../src/store/types.ts";
import { startFileServer, type FileServer } from "../../fakes/file-server.ts";
import { SlackSender, startFakeSlackApi, type FakeSlackApi } from "../../fakes/slack-api.ts";
import { exampleArchive } from "../../integration/runs/support.ts";
import { AIDE_BIN, spawnAide, spawnNode, type AideProcess } from "./processes.ts";
import { startPersistentMongo, startPersistentRedis, type RestartableServer } from "./services.ts";

export const SIGNING_SECRET = "reliability-signing-secret-4f9a2c";
export const BOT_TOKEN = "xoxb-reliability-bot-token-77e1";
export const STARTER = { id: "URELSTART", name: "ada" };
export const TEAMMATE = { id: "URELMATE", name: "bob" };
export const ADMIN = { id: "URELADMIN", name: "root" };
const DB_NAME = "aide_reliability";
/**
 * Where deployments keep their data and logs: under /var/tmp, not /tmp, because other test suites on a shared
 * machine sweep /tmp/aide-* while these tests still use their files. AIDE_RELIABILITY_DIR overrides it.
 */
export const WORK_ROOT = process.env.AIDE_RELIABILITY_DIR ?? join("/var/tmp", "aide-reliability");

export interface DeploymentOptions {
  /** `aide runner` processes started at the beginning. Default 1. */
  workers?: number;
  /** Runs each worker drives at once. Default 2. */
  workerConcurrency?: number;
  /** Where scripts run. Default sandbox (bubblewrap). */
  executor?: "sandbox" | "docker";
  /** Environment of the workers only (e.g. DOCKER_HOST of a private daemon). */
  workerEnv?: Record<string, string>;
  /** Seconds a worker's run lock lasts: a killed worker's runs move on after about twice this. Default 5. */
  lockDurationSec?: number;
  /**
   * The worker command, as arguments after `node` (`--concurrency N` is appended). Default `bin/aide.mjs runner
   * --executor <executor>`. The load test starts its own entry (the same runner with sleep-bound scripts).
   */
  workerArgs?: string[];
  /** More lines of the deployment's config file (YAML, top-level keys not set here). */
  configYaml?: string;
}

export interface StartedRun {
  run: RunRecord;
  channel: string;
  /** The status card's ts: the run's thread. */
  cardTs: string;
}

export interface Deployment {
  readonly dir: string;
  readonly redis: RestartableServer;
  readonly mongo: RestartableServer;
  readonly slack: FakeSlackApi;
  readonly sender: SlackSender;
  readonly files: FileServer;
  readonly bot: AideProcess;
  /** Every worker process started (live and dead), in start order. */
  readonly workers: AideProcess[];
  /** The test's own connections. */
  readonly store: Store;
  readonly redisClient: Redis;
  /** The loan-default example as a tar.gz link. */
  readonly dataUrl: string;
  readonly mongoUri: string;
  /** Starts one more worker and waits until it takes jobs. */
  startWorker(): Promise<AideProcess>;
  /** The worker process holding a run's lease right now, or null. */
  workerDriving(runId: string): Promise<AideProcess | null>;
  /** `/aide start` in `channel` by the starter; resolves once the run is saved and its card posted. */
  startRun(channel: string, opts: { steps: number; parallel?: number; task?: string }): Promise<StartedRun>;
  /** A reply in a run's thread (guidance or a command), as a channel member types it. */
  reply(run: StartedRun, text: string, user?: { id: string }): Promise<void>;
  /** Waits until the run reaches a final status in MongoDB. */
  waitForEnd(runId: string, timeoutMs: number): Promise<RunRecord>;
}

/** Sets the deployment up around the tests of the enclosing describe block. */
export function useDeployment(opts: DeploymentOptions = {}): Deployment {
  let d: DeploymentImpl | null = null;
  beforeAll(async () => {
    d = await DeploymentImpl.start(opts);
  }, 120_000);
  afterAll(async () => {
    await d?.close();
  }, 60_000);
  return new Proxy({} as Deployment, {
    get(_t, prop) {
      if (!d) throw new Error("the deployment is not started yet (use it inside tests or hooks)");
      const v = (d as unknown as Record<string | symbol, unknown>)[prop];
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(d) : v;
    },
  });
}

class DeploymentImpl implements Deployment {
  readonly workers: AideProcess[] = [];
  private workerSeq = 0;
  private replySeq = 0;

  private constructor(
    readonly dir: string,
    private readonly opts: DeploymentOptions,
    readonly redis: RestartableServer,
    readonly mongo: RestartableServer,
    readonly slack: FakeSlackApi,
    readonly files: FileServer,
    readonly store: Store,
    readonly redisClient: Redis,
    readonly bot: AideProcess,
    readonly sender: SlackSender,
    private readonly workerEnv: Record<string, string>,
  ) {}

  get dataUrl(): string {
    return this.files.url("/loan-default.tar.gz");
  }

  get mongoUri(): string {
    return `${this.mongo.url}/${DB_NAME}`;
  }

  static async start(opts: DeploymentOptions): Promise<DeploymentImpl> {
    mkdirSync(WORK_ROOT, { recursive: true });
    const dir = mkdtempSync(join(WORK_ROOT, "run-"));
    mkdirSync(join(dir, "logs"));
    const redis = await startPersistentRedis(join(dir, "redis"));
    const mongo = await startPersistentMongo(join(dir, "mongo"));
    const slack = await startFakeSlackApi({
      botToken: BOT_TOKEN,
      users: [
        { id: STARTER.id, name: STARTER.name, realName: "Ada Lovelace", displayName: "Ada" },
        { id: TEAMMATE.id, name: TEAMMATE.name, realName: "Bob Teammate", displayName: "Bob" },
        { id: ADMIN.id, name: ADMIN.name, realName: "Root Admin", displayName: "Root" },
      ],
    });
    const files = await startFileServer();
    files.route("/loan-default.tar.gz", {
      kind: "file",
      body: await exampleArchive("loan-default"),
      contentType: "application/gzip",
    });
    const store = await connectStore(`${mongo.url}/${DB_NAME}`, silentLogger);
    const redisClient = new Redis(redis.url, { maxRetriesPerRequest: null });
    redisClient.on("error", () => {});
    const configFile = join(dir, "aide.yaml");
    writeFileSync(
      configFile,
      [
        "runner:",
        `  lockDurationSec: ${opts.lockDurationSec ?? 5}`,
        "chat:",
        "  notifyIntervalSec: 0",
        "data:",
        "  allowPrivateHosts: true",
        "execution:",
        `  executor: ${opts.executor ?? "sandbox"}`,
        "  timeoutSec: 120",
        opts.configYaml ?? "",
        "",
      ].join("\n"),
    );
    const env = (extra: Record<string, string> = {}) => ({
      AIDE_CONFIG: configFile,
      REDIS_URL: redis.url,
      MONGODB_URI: `${mongo.url}/${DB_NAME}`,
      AIDE_DATA_DIR: join(dir, "data"),
      AIDE_LOG_LEVEL: "info",
      // No tree-page server: port 3100 belongs to whoever else runs one on this machine.
      AIDE_WEB: "0",
      ...extra,
    });
    const bot = spawnAide(
      "bot",
      ["slack", "--port", "0"],
      env({
        SLACK_BOT_TOKEN: BOT_TOKEN,
        SLACK_SIGNING_SECRET: SIGNING_SECRET,
        SLACK_API_URL: slack.apiUrl,
        SLACK_ADMINS: ADMIN.id,
      }),
      join(dir, "logs"),
    );
    const port = await bot.waitFor(/listening on port (\d+)/, 60_000).then(
      (m) => Number(m[1]),
      async (err: unknown) => {
        await bot.stop("SIGKILL");
        throw err;
      },
    );
    const sender = new SlackSender(`http://127.0.0.1:${port}/slack/events`, SIGNING_SECRET, slack.teamId);
    const d = new DeploymentImpl(
      dir,
      opts,
      redis,
      mongo,
      slack,
      files,
      store,
      redisClient,
      bot,
      sender,
      env(opts.workerEnv),
    );
    try {
      await Promise.all(Array.from({ length: opts.workers ?? 1 }, () => d.startWorker()));
    } catch (err) {
      await d.close();
      throw err;
    }
    return d;
  }

  async startWorker(): Promise<AideProcess> {
    const n = ++this.workerSeq;
    const command = this.opts.workerArgs ?? [AIDE_BIN, "runner", "--executor", this.opts.executor ?? "sandbox"];
    const w = spawnNode(
      `worker-${n}`,
      [...command, "--concurrency", String(this.opts.workerConcurrency ?? 2)],
      this.workerEnv,
      join(this.dir, "logs"),
    );
    this.workers.push(w);
    await w.waitFor(/: runner \S+, executor/, 60_000);
    return w;
  }

  async workerDriving(runId: string): Promise<AideProcess | null> {
    const token = await this.redisClient.get(`aide:run-lease:${runId}`);
    if (!token) return null;
    // Worker ids of `aide runner` are <host>-<pid>-<random>.
    const m = /-(\d+)-[0-9a-f]+\|/.exec(token);
    const pid = m ? Number(m[1]) : NaN;
    return this.workers.find((w) => w.pid === pid) ?? null;
  }

  async startRun(channel: string, opts: { steps: number; parallel?: number; task?: string }): Promise<StartedRun> {
    const task = opts.task ?? "Predict loan default. Metric: ROC AUC, higher is better. Submit id,default.";
    const res = await this.sender.command({
      text: `start ${task} ${this.dataUrl} --steps ${opts.steps} --parallel ${opts.parallel ?? 1}`,
      user_id: STARTER.id,
      user_name: STARTER.name,
      channel_id: channel,
      response_url: this.slack.responseUrl(),
    });
    if (res.status !== 200) throw new Error(`/aide start answered HTTP ${res.status}: ${res.body}`);
    const run = await poll(
      async () => (await this.store.listRuns({ platform: "slack", channel, limit: 1 }))[0] ?? null,
      60_000,
      `the run in ${channel}`,
    );
    const card = await poll(
      () => this.slack.messages.find((m) => m.channel === channel && m.threadTs === null) ?? null,
      30_000,
      `the card in ${channel}`,
    );
    return { run, channel, cardTs: card.ts };
  }

  async reply(run: StartedRun, text: string, user: { id: string } = TEAMMATE): Promise<void> {
    const ts = `${Math.floor(Date.now() / 1000)}.${String(++this.replySeq).padStart(6, "0")}`;
    const res = await this.sender.event({
      type: "message",
      channel: run.channel,
      user: user.id,
      text,
      ts,
      thread_ts: run.cardTs,
      event_ts: ts,
      channel_type: "channel",
    });
    if (res.status !== 200) throw new Error(`the reply answered HTTP ${res.status}: ${res.body}`);
  }

  waitForEnd(runId: string, timeoutMs: number): Promise<RunRecord> {
    return poll(
      async () => {
        const r = await this.store.getRun(runId).catch(() => null);
        return r && ["finished", "stopped", "failed"].includes(r.status) ? r : null;
      },
      timeoutMs,
      `run ${runId} to end`,
      250,
    );
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.stop("SIGTERM", 15_000)));
    await this.bot.stop("SIGTERM", 15_000);
    this.redisClient.disconnect();
    await this.store.close().catch(() => {});
    await this.slack.close();
    await this.files.close();
    await this.redis.close();
    await this.mongo.close();
    if (!process.env.AIDE_RELIABILITY_KEEP) rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Polls `check` until it returns a value (not null/undefined/false), or throws after `timeoutMs` naming `what`. */
export async function poll<T>(
  check: () => Promise<T | null | undefined | false> | T | null | undefined | false,
  timeoutMs: number,
  what: string,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== null && v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
