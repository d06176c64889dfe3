/**
 * The Slack bot end to end, over real sockets: the real Bolt app in HTTP mode on a random port, the fake Slack
 * Web API (tests/fakes/slack-api.ts) via SLACK_API_URL, real Redis and a MongoDB-protocol server (tests/support),
 * optionally an in-process Runner (sandbox executor, offline coder) fetching example data from a local file server.
 *
 * `useSlackBot()` at the top level of a test file sets all of it up once for the file.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { startSlackBot, type SlackBot } from "../../../bots/slack/bot.ts";
import { loadConfig, type Config } from "../../../src/config.ts";
import { silentLogger, createLogger, type Logger } from "../../../src/logger.ts";
import { readEvents } from "../../../src/queue/events.ts";
import type { StoredRunEvent } from "../../../src/queue/events.ts";
import type { Store } from "../../../src/store/index.ts";
import type { RunRecord } from "../../../src/store/types.ts";
import { SandboxExecutor } from "../../../runner/executors/sandbox.ts";
import { Runner } from "../../../runner/worker.ts";
import { startFileServer, type FileServer } from "../../fakes/file-server.ts";
import { SlackSender, startFakeSlackApi, type FakeSlackApi } from "../../fakes/slack-api.ts";
import { exampleArchive, service } from "../../integration/runs/support.ts";
import { useMongo } from "../../support/mongo.ts";
import { useRedisServer } from "../../support/redis.ts";

export const SIGNING_SECRET = "test-signing-secret-0123456789";
export const BOT_TOKEN = "xoxb-test-bot-token";
export const STARTER = { id: "UADA", name: "ada" };
export const STRANGER = { id: "UBOB", name: "bob" };
export const ADMIN = { id: "UADMIN", name: "root" };

export interface SlackHarness {
  readonly fake: FakeSlackApi;
  readonly sender: SlackSender;
  readonly bot: SlackBot;
  readonly store: Store;
  readonly files: FileServer;
  readonly config: Config;
  /** The loan-default example as a tar.gz link on the file server. */
  readonly dataUrl: string;
  /** The run started from a channel (the newest there), once it exists. */
  runIn(channel: string): Promise<RunRecord | null>;
  events(runId: string): Promise<StoredRunEvent[]>;
  waitForEvent(
    runId: string,
    match: (e: StoredRunEvent) => boolean,
    timeoutMs: number,
    what: string,
  ): Promise<StoredRunEvent>;
}

export function useSlackBot(opts: { runner?: boolean } = {}): SlackHarness {
  const mongo = useMongo();
  const redis = useRedisServer({ flush: false });
  let fake: FakeSlackApi;
  let sender: SlackSender;
  let bot: SlackBot;
  let store: Store;
  let files: FileServer;
  let config: Config;
  let runner: Runner | null = null;
  let svc: ReturnType<typeof service>;
  const logger: Logger = process.env.AIDE_TEST_LOG ? createLogger({ level: process.env.AIDE_TEST_LOG }) : silentLogger;

  beforeAll(async () => {
    fake = await startFakeSlackApi({
      botToken: BOT_TOKEN,
      users: [
        { id: STARTER.id, name: STARTER.name, realName: "Ada Lovelace", displayName: "Ada" },
        { id: STRANGER.id, name: STRANGER.name, realName: "Bob Stranger", displayName: "Bob" },
        { id: ADMIN.id, name: ADMIN.name, realName: "Root Admin", displayName: "Root" },
      ],
    });
    files = await startFileServer();
    files.route("/loan-default.tar.gz", {
      kind: "file",
      body: await exampleArchive("loan-default"),
      contentType: "application/gzip",
    });
    store = await mongo.connect();
    config = loadConfig({
      env: {
        SLACK_BOT_TOKEN: BOT_TOKEN,
        SLACK_SIGNING_SECRET: SIGNING_SECRET,
        SLACK_API_URL: fake.apiUrl,
        SLACK_ADMINS: ADMIN.id,
      },
      overrides: { data: { allowPrivateHosts: true }, chat: { notifyIntervalSec: 0 }, execution: { timeoutSec: 120 } },
    });
    svc = service(store, redis.url);
    bot = await startSlackBot({
      config,
      logger,
      runs: svc.runs,
      store,
      redis: redis.client(),
      port: 0,
      consumerName: "slack-test",
      bridge: { blockMs: 200, claimIdleMs: 5000 },
    });
    sender = new SlackSender(`http://127.0.0.1:${bot.port}${bot.eventsPath}`, SIGNING_SECRET, fake.teamId);
    if (opts.runner) {
      runner = new Runner({
        config,
        store,
        redisUrl: redis.url,
        dataDir: mkdtempSync(join(tmpdir(), "aide-slack-e2e-")),
        executor: new SandboxExecutor({ logger: silentLogger }),
        logger,
        concurrency: 2,
        lockDurationMs: 10_000,
        stalledIntervalMs: 5_000,
      });
      runner.start();
    }
  });

  afterAll(async () => {
    await runner?.close();
    await bot?.stop();
    await svc?.close();
    await files?.close();
    await fake?.close();
  });

  const harness: SlackHarness = {
    get fake() {
      return fake;
    },
    get sender() {
      return sender;
    },
    get bot() {
      return bot;
    },
    get store() {
      return store;
    },
    get files() {
      return files;
    },
    get config() {
      return config;
    },
    get dataUrl() {
      return files.url("/loan-default.tar.gz");
    },
    async runIn(channel) {
      const runs = await store.listRuns({ platform: "slack", channel, limit: 5 });
      return runs[0] ?? null;
    },
    async events(runId) {
      return (await readEvents(svc.redis, runId, undefined, 1000)).map((e) => e.event);
    },
    async waitForEvent(runId, match, timeoutMs, what) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = (await harness.events(runId)).find(match);
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
  };
  return harness;
}

/** Polls an async check until it returns a truthy value, or throws after `timeoutMs` naming `what`. */
export async function until<T>(
  check: () => Promise<T | null | undefined | false> | T | null | undefined | false,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** All text of a message: its fallback text and every text in its blocks. */
export function messageText(m: { text: string; blocks: any[] }): string {
  const parts = [m.text];
  const walk = (v: unknown) => {
    if (typeof v === "string") parts.push(v);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === "object") Object.values(v).forEach(walk);
  };
  walk(m.blocks);
  return parts.join("\n");
}

/** Button elements of a message's actions blocks. */
export function buttonsOf(m: { blocks: any[] }): Array<{ action_id: string; value: string }> {
  return m.blocks.filter((b) => b.type === "actions").flatMap((b) => b.elements);
}
