/**
 * The chat layer end to end: a `/aide start` command through the ChatController, a real run in an in-process
 * Runner (sandbox executor, offline coder, example data served as a tar.gz), and the ChatBridge turning its
 * events into posts and edits on a recording ChatSurface; replies and buttons steer the run in between.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../../src/logger.ts";
import { EVENTS_STREAM, type StoredRunEvent } from "../../../src/queue/events.ts";
import { ChatBridge } from "../../../src/runs/chat/bridge.ts";
import { ChatController } from "../../../src/runs/chat/controller.ts";
import type {
  ChatBlock,
  ChatMessage,
  ChatRequest,
  ChatSurface,
  ChatUser,
  MessageRef,
  ThreadRef,
} from "../../../src/runs/chat/types.ts";
import type { Store } from "../../../src/store/index.ts";
import { SandboxExecutor } from "../../../runner/executors/sandbox.ts";
import { Runner } from "../../../runner/worker.ts";
import { startFileServer, type FileServer } from "../../fakes/file-server.ts";
import { useMongo } from "../../support/mongo.ts";
import { useRedisServer } from "../../support/redis.ts";
import { collectUntilEnd, exampleArchive, runnerConfig, service } from "../runs/support.ts";

/** A ChatSurface that records everything, Slack-like: message ids are timestamps, a thread is its root's ts. */
class RecordingSurface implements ChatSurface {
  readonly platform = "slack" as const;
  readonly posts: Array<{ where: ThreadRef; message: ChatMessage; ref: MessageRef }> = [];
  readonly edits: Array<{ ref: MessageRef; message: ChatMessage }> = [];
  readonly threads: Array<{ ref: MessageRef; name: string }> = [];
  readonly ephemerals: Array<{ where: ThreadRef; userId: string; message: ChatMessage }> = [];
  private seq = 0;

  async post(where: ThreadRef, message: ChatMessage): Promise<MessageRef> {
    const ref: MessageRef = {
      platform: "slack",
      channel: where.channel,
      messageId: `1700000000.${String(++this.seq).padStart(6, "0")}`,
      thread: where.thread,
    };
    this.posts.push({ where, message, ref });
    return ref;
  }
  async edit(ref: MessageRef, message: ChatMessage): Promise<void> {
    this.edits.push({ ref, message });
  }
  async openThread(ref: MessageRef, name: string): Promise<string> {
    this.threads.push({ ref, name });
    return ref.messageId;
  }
  async ephemeral(where: ThreadRef, userId: string, message: ChatMessage): Promise<void> {
    this.ephemerals.push({ where, userId, message });
  }
  inThread(thread: string): ChatMessage[] {
    return this.posts.filter((p) => p.where.thread === thread).map((p) => p.message);
  }
}

const mongo = useMongo();
const redisServer = useRedisServer({ flush: false });
const CHANNEL = "C-CHAT";
const ada: ChatUser = { userId: "U-START", displayName: "Ada", isAdmin: false };
const bob: ChatUser = { userId: "U-OTHER", displayName: "Bob", isAdmin: false };
const fan: ChatUser = { userId: "U-FAN", displayName: "Fay", isAdmin: false };
const gone: ChatUser = { userId: "U-GONE", displayName: "Gus", isAdmin: false };

let store: Store;
let files: FileServer;
let svc: ReturnType<typeof service>;
let runner: Runner;
let surface: RecordingSurface;
let controller: ChatController;
let bridge: ChatBridge;

const config = () =>
  runnerConfig({
    chat: { notifyIntervalSec: 0, snippetLines: 20, maxAttachmentMb: 1, defaultSteps: 20, defaultParallel: 1 },
  });

const blocksOf = <K extends ChatBlock["kind"]>(m: ChatMessage, kind: K) =>
  m.blocks.filter((b): b is Extract<ChatBlock, { kind: K }> => b.kind === kind);
const fieldsOf = (m: ChatMessage) =>
  Object.fromEntries(blocksOf(m, "fields").flatMap((b) => b.fields.map((f) => [f.label, f.value])));
const buttonsOf = (m: ChatMessage) => blocksOf(m, "buttons").flatMap((b) => b.buttons.map((x) => x.action));

async function until<T>(what: string, f: () => T | undefined | null | false, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  store = await mongo.connect();
  files = await startFileServer();
  files.route("/loan-default.tar.gz", {
    kind: "file",
    body: await exampleArchive("loan-default"),
    contentType: "application/gzip",
  });
  svc = service(store, redisServer.url);
  runner = new Runner({
    config: runnerConfig(),
    store,
    redisUrl: redisServer.url,
    dataDir: mkdtempSync(join(tmpdir(), "aide-chat-runner-")),
    executor: new SandboxExecutor({ logger: silentLogger }),
    logger: silentLogger,
    concurrency: 1,
    lockDurationMs: 5000,
    // The platform's download rule is injected (bots/slack/files.ts in production): here, a marker for the file server.
    headersFor: (url) =>
      url.pathname === "/loan-default.tar.gz" ? { "x-chat-file-token": "from-headers-for" } : undefined,
  });
  runner.start();
  surface = new RecordingSurface();
  controller = new ChatController({ runs: svc.runs, store, surface, logger: silentLogger, config: config() });
  bridge = new ChatBridge({
    redis: redisServer.client(),
    store,
    surface,
    logger: silentLogger,
    config: config(),
    consumerName: "test-bot-1",
    blockMs: 200,
    claimIdleMs: 2000,
  });
  await bridge.start();
});

afterAll(async () => {
  await bridge?.stop();
  await runner?.close();
  await svc?.close();
  await files?.close();
});

describe("chat bridge and controller with a real run", () => {
  it("runs from /aide start to the final summary, steered from the thread and by buttons", async () => {
    const where: ThreadRef = { platform: "slack", channel: CHANNEL, thread: null };
    const link = files.url("/loan-default.tar.gz");
    const started = await controller.handle({
      kind: "command",
      text: `start Predict loan default probability. Metric: ROC AUC. Submit id,default. ${link} --steps 6`,
      user: ada,
      where,
    });
    expect(started?.text).toMatch(/^Started run `r[0-9a-z]{8}`: 6 steps, 1 data source/);

    // The root card went top-level into the channel, the thread was opened on it, and the binding knows the card.
    const root = surface.posts[0]!;
    expect(root.where).toEqual({ platform: "slack", channel: CHANNEL, thread: null });
    expect(surface.threads).toHaveLength(1);
    expect(surface.threads[0]!.name).toMatch(/^AIDE: Predict loan default/);
    const thread = surface.threads[0]!.ref.messageId;
    const [run] = await store.listRuns({ channel: CHANNEL });
    expect(run!.origin).toEqual({ platform: "slack", channel: CHANNEL, thread });
    expect(run!.links).toEqual([link]);
    expect(run!.followers).toEqual(["U-START"]);
    const binding = await store.getThreadBinding("slack", CHANNEL, thread);
    expect(binding).toMatchObject({ runId: run!.id, rootMessageId: root.ref.messageId });
    expect(surface.edits[0]!.ref.messageId).toBe(root.ref.messageId);
    expect(surface.edits[0]!.message.text).toContain(run!.id);
    expect(buttonsOf(surface.edits[0]!.message)).toEqual(["pause", "stop", "more10"]);

    const reply = (user: ChatUser, text: string) =>
      controller.handle({ kind: "reply", text, user, where: { platform: "slack", channel: CHANNEL, thread } });
    const button = (user: ChatUser, action: "pause" | "resume" | "stop" | "more10") =>
      controller.handle({ kind: "button", action, runId: run!.id, user, where });

    let paused = false;
    let stopAsked = false;
    const events = await collectUntilEnd(svc.redis, run!.id, 240_000, async (e) => {
      if (e.type === "step.finished" && e.node.id === 0) {
        expect((await reply(bob, "use a random forest"))?.text).toMatch(/Guidance noted/);
        expect((await reply(ada, "verbose on"))?.text).toMatch(/Verbose on/);
        expect((await reply(fan, "follow"))?.text).toMatch(/Fay will be mentioned/);
        await reply(gone, "follow");
        expect((await reply(gone, "unfollow"))?.text).toMatch(/no longer be mentioned/);
        // A stranger may neither stop the run (button or reply) nor add steps: refused, to them only.
        expect(await button(bob, "stop")).toBeNull();
        expect(await reply(bob, "stop")).toBeNull();
        expect(await reply(bob, "more 5")).toBeNull();
        expect(await button(ada, "pause")).toBeNull();
      }
      if (e.type === "run.paused" && !paused) {
        paused = true;
        // The bridge shows the paused card (with Resume) before anyone resumes; resuming at once could let the
        // bridge read the run already running again, and the paused card would never be drawn.
        await until("the paused card", () =>
          surface.edits.some((x) => x.ref.messageId === root.ref.messageId && buttonsOf(x.message)[0] === "resume"),
        );
        expect(await button(ada, "resume")).toBeNull();
        expect(await button(ada, "more10")).toBeNull();
      }
      if (e.type === "step.finished" && e.node.id === 5 && !stopAsked) {
        stopAsked = true;
        expect((await reply(ada, "stop"))?.text).toMatch(/Stopping after the current step/);
      }
    });
    const last = events.at(-1)!;
    expect(last.type === "run.finished" && last.reason).toBe("stopped");
    const applied = events.flatMap((e) => (e.type === "steer.applied" ? [e.command.kind] : []));
    expect(applied).toEqual(["guidance", "pause", "resume", "more", "stop"]);

    // The final summary: chart, best script and submission, all followers but the one who unfollowed mentioned.
    const summary = await until("the final summary", () =>
      surface.inThread(thread).find((m) => m.files?.some((f) => f.name === `aide_${run!.id}_metric.png`)),
    );
    const done = await store.requireRun(run!.id);
    expect(done.status).toBe("stopped");
    // Loan-default holds rows out: the best is shown by its holdout score beside its own validation number.
    expect(summary.text).toMatch(
      new RegExp(
        `^Run ${run!.id} was stopped\\. Best: roc_auc: holdout [\\d.]+ · validation [\\d.]+ \\(higher is better\\), node \\d+\\.$`,
        "i",
      ),
    );
    expect(summary.files!.map((f) => f.name)).toEqual([
      `aide_${run!.id}_metric.png`,
      `best_node_${done.progress.bestNodeId}.py`,
      "submission.csv",
    ]);
    const png = summary.files![0]!.content;
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(png.readUInt32BE(16)).toBe(900);
    writeFileSync(join(tmpdir(), "aide-chat-final-chart.png"), png);
    expect(summary.files![2]!.content.toString().split("\n")[0]).toBe("id,default");
    expect(summary.mentions).toEqual(["U-START", "U-FAN"]);
    // The runner fetched the data with the headers its injected `headersFor` gave, and only those.
    const downloads = files.requests.filter((r) => r.path.startsWith("/loan-default.tar.gz"));
    expect(downloads.length).toBeGreaterThan(0);
    for (const d of downloads) {
      expect(d.headers["x-chat-file-token"]).toBe("from-headers-for");
      expect(d.headers.authorization).toBeUndefined();
    }

    // The tree page: linked from the summary and the card with the run's own token; each new best carries a small chart.
    const token = await store.viewToken(run!.id);
    const treeUrl = `http://localhost:3100/runs/${run!.id}?token=${token}`;
    expect(summary.blocks).toContainEqual({ kind: "link", url: treeUrl, label: "Open the solution tree" });
    expect(surface.edits.at(-1)!.message.blocks).toContainEqual({
      kind: "link",
      url: treeUrl,
      label: "Open the solution tree",
    });
    const bestPosts = surface.inThread(thread).filter((m) => m.text.startsWith("New best"));
    expect(bestPosts.length).toBeGreaterThan(0);
    for (const b of bestPosts) {
      const chart = b.files!.find((f) => f.mime === "image/png")!;
      expect(chart.name).toMatch(new RegExp(`^aide_${run!.id}_metric_node\\d+\\.png$`));
      expect([chart.content.readUInt32BE(16), chart.content.readUInt32BE(20)]).toEqual([600, 320]);
    }
    // `chart` and `tree` on demand.
    const chart = await reply(ada, "chart");
    expect(chart!.files!.map((f) => [f.name, f.content.readUInt32BE(16)])).toEqual([
      [`aide_${run!.id}_metric.png`, 900],
    ]);
    const tree = await reply(bob, "tree");
    expect(tree!.blocks).toContainEqual({ kind: "link", url: treeUrl, label: "Open the solution tree" });
    expect(tree!.files!.map((f) => f.mime)).toEqual(["image/png"]);
    const journal = await store.loadJournal(run!.id);
    expect(fieldsOf(summary).Nodes).toMatch(new RegExp(`^${journal.length} \\(`));
    expect(fieldsOf(summary).Coder).toBe("offline (no model)");

    const posts = surface.inThread(thread);
    // New bests: snippet (cut at 20 lines), the full script as a file; the first mentions the starter.
    const bests = posts.filter((m) => m.text.startsWith("New best"));
    expect(bests.length).toBeGreaterThan(0);
    for (const m of bests) {
      const code = blocksOf(m, "code")[0]!;
      expect(code.code.split("\n").length).toBeLessThanOrEqual(20);
      expect(m.files![0]!.name).toMatch(/^best_node_\d+\.py$/);
      expect(
        code.totalLines === undefined ||
          code.totalLines === m.files![0]!.content.toString().trimEnd().split("\n").length,
      ).toBe(true);
    }
    expect(bests[0]!.mentions).toContain("U-START");
    expect(bests.length).toBe(events.filter((e) => e.type === "best.improved").length);

    // Steering acknowledged in the thread, and visible in later steps: the offline coder uses a random forest.
    expect(posts.some((m) => /^Guidance applied: /.test(m.text))).toBe(true);
    expect(posts.some((m) => /^Paused/.test(m.text))).toBe(true);
    expect(posts.some((m) => /^Resumed/.test(m.text))).toBe(true);
    expect(posts.some((m) => /^Budget raised/.test(m.text))).toBe(true);
    expect(posts.some((m) => m.text === "Ada asked to pause the run (after the current step).")).toBe(true);
    const guidanceAt = events.findIndex((e) => e.type === "steer.applied");
    const after = new Set(events.slice(guidanceAt).flatMap((e) => (e.type === "step.started" ? [e.nodeId] : [])));
    expect(journal.filter((n) => after.has(n.id)).some((n) => /RandomForest/.test(n.code))).toBe(true);

    // Refusals went to Bob only, as ephemeral messages; nobody else got any.
    expect(surface.ephemerals.map((x) => x.userId)).toEqual(["U-OTHER", "U-OTHER", "U-OTHER"]);
    expect(surface.ephemerals[0]!.message.text).toMatch(/Only the run's starter \(Ada\) or an admin can stop this run/);
    expect(surface.ephemerals[2]!.message.text).toMatch(/change its budget/);

    // Verbose: a line per step finished after it was turned on.
    expect(posts.filter((m) => /^Step \d+ \(node \d+/.test(m.text)).length).toBeGreaterThanOrEqual(journal.length - 2);

    // The card was edited in place: paused with Resume at some point, 16 steps after +10, and ends without buttons.
    const cardEdits = surface.edits.filter((x) => x.ref.messageId === root.ref.messageId).map((x) => x.message);
    expect(cardEdits.some((m) => buttonsOf(m)[0] === "resume")).toBe(true);
    expect(cardEdits.some((m) => /of 16$/.test(fieldsOf(m).Step ?? ""))).toBe(true);
    const final = await until("the final card", () => {
      const c = surface.edits.filter((x) => x.ref.messageId === root.ref.messageId).at(-1)!.message;
      return fieldsOf(c).Status === "Stopped" ? c : null;
    });
    expect(buttonsOf(final)).toEqual([]);
    expect(fieldsOf(final)["Best so far"]).toMatch(new RegExp(`\\(node ${done.progress.bestNodeId}\\)$`));

    // Thread commands after the end: best, tree, status; steering a finished run is refused.
    expect((await reply(bob, "best"))?.files?.[0]?.name).toBe(`best_node_${done.progress.bestNodeId}.py`);
    expect(blocksOf((await reply(bob, "tree"))!, "code")[0]!.code).toContain("★ best");
    expect(fieldsOf((await reply(bob, "status"))!).Status).toBe("Stopped");
    expect(await reply(ada, "pause")).toBeNull();
    expect(surface.ephemerals.at(-1)!.message.text).toMatch(/already stopped/);
    expect(
      await controller.handle({
        kind: "reply",
        text: "hello",
        user: bob,
        where: { platform: "slack", channel: CHANNEL, thread: "9.9" },
      }),
    ).toBeNull();

    // Redelivery posts nothing twice: an already handled event added to the stream again, and handled directly.
    const count = surface.posts.length;
    const raw = (await svc.redis.xrange(EVENTS_STREAM, "-", "+")) as Array<[string, string[]]>;
    const bestEntry = raw.find(([, f]) => f[f.indexOf("type") + 1] === "best.improved")!;
    await svc.redis.xadd(EVENTS_STREAM, "*", ...bestEntry[1]);
    const summaryEntry = raw.find(([, f]) => f[f.indexOf("type") + 1] === "run.finished")!;
    await svc.redis.xadd(EVENTS_STREAM, "*", ...summaryEntry[1]);
    await new Promise((r) => setTimeout(r, 1500));
    expect(surface.posts.length).toBe(count);
    const bestEvent = JSON.parse(bestEntry[1][bestEntry[1].indexOf("data") + 1]!) as StoredRunEvent;
    await bridge.handleEvent(bestEvent);
    expect(surface.posts.length).toBe(count);
    const pending = (await svc.redis.xpending(EVENTS_STREAM, "chat-slack")) as [number, ...unknown[]];
    expect(pending[0]).toBe(0);
  }, 300_000);

  it("answers commands without a run: help, bad input, missing data, large attachments, list, status, stop", async () => {
    const where: ThreadRef = { platform: "slack", channel: "C-OTHER", thread: null };
    const cmd = (text: string, user: ChatUser = ada, extra: Partial<Extract<ChatRequest, { kind: "command" }>> = {}) =>
      controller.handle({ kind: "command", text, user, where, ...extra });
    const posted = surface.posts.length;
    const eph = () => surface.ephemerals.at(-1)!.message.text;

    expect((await cmd(""))?.text).toMatch(/AIDE help/);
    expect(await cmd("start --steps 3 https://x.test/a.csv")).toBeNull();
    expect(eph()).toMatch(/needs a task description/);
    expect(await cmd("start Predict things")).toBeNull();
    expect(eph()).toMatch(/needs data/);
    expect(await cmd("start Predict things --steps lots")).toBeNull();
    expect(eph()).toMatch(/--steps takes a whole number/);
    expect(
      await cmd("start Predict things", ada, {
        attachments: [{ name: "big.csv", url: "https://files.slack.com/big.csv", size: 5 * 1024 * 1024 }],
      }),
    ).toBeNull();
    expect(eph()).toMatch(/big\.csv is 5 MB; attachments up to 1 MB/);
    expect(await cmd("jump")).toBeNull();
    expect(eph()).toMatch(/Unknown command "jump"/);
    expect(surface.posts.length).toBe(posted);
    expect((await cmd("list"))?.text).toMatch(/No runs/);
    expect((await cmd("status"))?.text).toMatch(/No active runs/);
    expect(await cmd("status r0nosuch1")).toBeNull();
    expect(eph()).toMatch(/r0nosuch1/);

    // A run started with an attachment (its url becomes a link), then stopped while queued by an admin.
    const admin: ChatUser = { userId: "U-ADMIN", displayName: "Root", isAdmin: true };
    await runner.close();
    // A mention with files and no verb starts a run too.
    const started = await cmd("Predict default --steps 20", ada, {
      attachments: [{ name: "d.tar.gz", url: files.url("/loan-default.tar.gz"), size: 1000 }],
    });
    expect(started?.text).toMatch(/Started run/);
    const [run] = await store.listRuns({ channel: "C-OTHER" });
    expect(run!.links).toEqual([files.url("/loan-default.tar.gz")]);
    expect(run!.options.steps).toBe(20);
    expect((await cmd("list"))?.text).toContain(run!.id);
    expect(await cmd(`stop ${run!.id}`, bob)).toBeNull();
    expect(eph()).toMatch(/Only the run's starter/);
    expect((await cmd(`stop ${run!.id}`, admin))?.text).toMatch(/Stopping run/);
    expect((await store.requireRun(run!.id)).status).toBe("stopped");
    const card = surface.edits.at(-1)!;
    expect(fieldsOf(card.message).Status).toBe("Stopped");
    expect(buttonsOf(card.message)).toEqual([]);
  }, 60_000);
});
