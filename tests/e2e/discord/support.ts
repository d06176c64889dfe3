/**
 * A whole Discord world for an e2e test file: real Redis, a MongoDB (embedded, or MONGODB_URI), the fake Discord
 * (REST + gateway), a file server with the loan-default example as a tar.gz, an in-process Runner (bubblewrap
 * sandbox, offline coder) and the real bot (discord.js client, surface, controller, bridge).
 *
 *   const world = useDiscordWorld({ messageContent: false });   // at the top level of a test file
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { DiscordBot } from "../../../bots/discord/bot.ts";
import { loadConfig, type Config } from "../../../src/config.ts";
import { createLogger, silentLogger } from "../../../src/logger.ts";
import type { Store } from "../../../src/store/index.ts";
import type { RunRecord } from "../../../src/store/types.ts";
import { SandboxExecutor } from "../../../runner/executors/sandbox.ts";
import { Runner } from "../../../runner/worker.ts";
import {
  startFakeDiscord,
  waitFor,
  type FakeDiscord,
  type FakeMessage,
  type FakeUser,
} from "../../fakes/discord/index.ts";
import { startFileServer, type FileServer } from "../../fakes/file-server.ts";
import { useMongo } from "../../support/mongo.ts";
import { useRedisServer } from "../../support/redis.ts";
import { exampleArchive, service } from "../../integration/runs/support.ts";

/** AIDE_TEST_LOG=debug shows the bot's and the runner's logs. */
const logger = process.env.AIDE_TEST_LOG ? createLogger({ level: process.env.AIDE_TEST_LOG }) : silentLogger;

export const LOAN_TASK = "Predict loan default probability. Metric: ROC AUC. Submit id,default.";

export interface DiscordWorld {
  readonly discord: FakeDiscord;
  readonly store: Store;
  readonly bot: DiscordBot;
  readonly files: FileServer;
  readonly config: Config;
  readonly dataUrl: string;
  /** The tar.gz of the example, for attachments. */
  readonly archive: Buffer;
  /** A guild member who starts runs, one who does not, and one with Manage Server. */
  readonly ada: FakeUser;
  readonly bob: FakeUser;
  readonly root: FakeUser;
}

export function useDiscordWorld(options: { messageContent: boolean; editIntervalMs?: number }): DiscordWorld {
  const mongo = useMongo();
  const redis = useRedisServer({ flush: false });
  let world: DiscordWorld | null = null;
  let svc: ReturnType<typeof service> | null = null;
  let runner: Runner | null = null;
  let bot: DiscordBot | null = null;
  let discord: FakeDiscord | null = null;
  let files: FileServer | null = null;

  beforeAll(async () => {
    const store = await mongo.connect();
    files = await startFileServer();
    const archive = await exampleArchive("loan-default");
    files.route("/loan-default.tar.gz", { kind: "file", body: archive, contentType: "application/gzip" });
    discord = await startFakeDiscord();
    const config = loadConfig({
      env: {},
      overrides: {
        data: { allowPrivateHosts: true },
        chat: { notifyIntervalSec: 0 },
        discord: {
          apiUrl: discord.rest.api,
          applicationId: discord.applicationId,
          admins: [],
          adminPermissions: ["ManageGuild"],
        },
      },
    });
    svc = service(store, redis.url);
    runner = new Runner({
      config,
      store,
      redisUrl: redis.url,
      dataDir: mkdtempSync(join(tmpdir(), "aide-discord-runner-")),
      executor: new SandboxExecutor({ logger }),
      logger,
      concurrency: 2,
      lockDurationMs: 5000,
      stalledIntervalMs: 2000,
    });
    runner.start();
    bot = new DiscordBot({
      config,
      runs: svc.runs,
      store,
      redis: redis.client(),
      logger,
      token: discord.token,
      messageContent: options.messageContent,
      consumerName: "discord-e2e",
      editIntervalMs: options.editIntervalMs ?? 300,
      // Discord's 5 edits per 5 s per channel, on the tests' shorter clock (one card alone never fills it).
      delivery: { limits: { editsPerChannel: { max: 5, perMs: 1000 } } },
      bridgeBlockMs: 200,
    });
    await bot.start();
    world = {
      discord,
      store,
      bot,
      files,
      config,
      dataUrl: files.url("/loan-default.tar.gz"),
      archive,
      ada: discord.user("Ada"),
      bob: discord.user("Bob"),
      root: discord.user("Root"),
    };
  }, 60_000);

  afterAll(async () => {
    await bot?.stop().catch(() => undefined);
    await runner?.close().catch(() => undefined);
    await svc?.close().catch(() => undefined);
    await discord?.close().catch(() => undefined);
    await files?.close().catch(() => undefined);
  }, 60_000);

  return new Proxy({} as DiscordWorld, {
    get(_t, key) {
      if (!world) throw new Error("the Discord world is not started yet (use it inside tests)");
      return world[key as keyof DiscordWorld];
    },
  });
}

/** Waits for the run to reach one of `statuses`. */
export async function waitForStatus(
  world: DiscordWorld,
  runId: string,
  statuses: string[],
  timeoutMs: number,
): Promise<RunRecord> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const run = await world.store.requireRun(runId);
    if (statuses.includes(run.status)) return run;
    if (Date.now() > end)
      throw new Error(`run ${runId} is ${run.status}, not ${statuses.join("/")}, after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits for a bot message in a channel or thread matching `pred`. */
export function waitForBotMessage(
  world: DiscordWorld,
  channelId: string,
  pred: (m: FakeMessage) => boolean,
  timeoutMs: number,
  what: string,
): Promise<FakeMessage> {
  return waitFor(() => world.discord.botMessages(channelId).find(pred), timeoutMs, what);
}

/** All the text of a message: content, embed title/description/fields/footer. */
export function textOf(m: { content: string; embeds: any[] }): string {
  const parts = [m.content];
  for (const e of m.embeds ?? []) {
    parts.push(
      e.title ?? "",
      e.description ?? "",
      ...(e.fields ?? []).map((f: any) => `${f.name}: ${f.value}`),
      e.footer?.text ?? "",
    );
  }
  return parts.filter(Boolean).join("\n");
}
