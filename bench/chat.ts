/**
 * The service as deployed, measured from outside: `aide slack` (the real Bolt app, HTTP mode) and `aide runner`,
 * compiled (bin/aide.mjs), as two separate processes sharing local Redis and MongoDB (through AIDE_DATA_DIR),
 * the fake Slack Web API (tests/fakes/slack-api.ts) over real sockets, and a run started by a signed `/aide
 * start` with a data link on a local file server. While the run makes its steps, thread replies steer it (from its first new best on, one
 * every 2.5 s).
 *
 * Latency: from an event's emission in the runner (its `at`, set when the search emits it) to the fake Slack
 * receiving the API call the event causes at once: the new-best post (best.improved) and the steering
 * confirmation (steer.applied). Card edits are paced on purpose (at most one per second per message) and are
 * not counted. Peak RSS: VmHWM of each process at the end of the run.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { loadConfig } from "../src/config.ts";
import { silentLogger } from "../src/logger.ts";
import { readEvents, type StoredRunEvent } from "../src/queue/events.ts";
import { resolveServices } from "../src/services/connect.ts";
import { startFileServer } from "../tests/fakes/file-server.ts";
import { SlackSender, startFakeSlackApi, type FakeMessage, type FakeSlackApi } from "../tests/fakes/slack-api.ts";
import { exampleArchive } from "../tests/integration/runs/support.ts";
import { median } from "./overhead.ts";

/** The `aide` command as shipped: compiled JavaScript (bin/aide.mjs builds dist/ first when it is stale). */
export const COMPILED_AIDE = fileURLToPath(new URL("../bin/aide.mjs", import.meta.url));
/** The same command from the TypeScript sources through tsx's loader, as it ran before the compiled build. */
export const TSX_AIDE = fileURLToPath(new URL("./aide-tsx.mjs", import.meta.url));
const BOT_TOKEN = "xoxb-bench-token";
const SIGNING_SECRET = "bench-signing-secret-0123456789";
const USER = { id: "UBENCH", name: "bench" };
const CHANNEL = "CBENCH";

export interface ChatBenchResult {
  steps: number;
  seconds: number;
  /** ms from emission to the post; `publishedMs`: of which from emission to the event's entry in Redis. */
  latencies: Array<{ type: string; ms: number; publishedMs: number }>;
  p50: number;
  p95: number;
  runnerPeakMb: number;
  botPeakMb: number;
  runnerStartMb: number;
  botStartMb: number;
}

interface Proc {
  child: ChildProcess;
  stderr: string;
}

function startAide(
  entry: string,
  args: string[],
  env: Record<string, string>,
  ready: RegExp,
  timeoutMs: number,
  nodeArgs: string[] = [],
): Promise<Proc & { match: RegExpMatchArray }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeArgs, entry, ...args], { env, stdio: ["ignore", "ignore", "pipe"] });
    const proc: Proc = { child, stderr: "" };
    const timer = setTimeout(
      () => reject(new Error(`aide ${args[0]} not ready within ${timeoutMs} ms:\n${proc.stderr}`)),
      timeoutMs,
    );
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (s: string) => {
      proc.stderr += s;
      const m = ready.exec(proc.stderr);
      if (m) {
        clearTimeout(timer);
        resolve({ ...proc, match: m });
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`aide ${args[0]} exited (${code}) before it was ready:\n${proc.stderr}`));
    });
  });
}

async function memoryMb(pid: number, field: "VmHWM" | "VmRSS"): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kb = Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

async function stop(proc: Proc | null): Promise<void> {
  if (!proc || proc.child.exitCode !== null) return;
  const exited = new Promise<void>((r) => proc.child.once("exit", () => r()));
  proc.child.kill("SIGINT");
  const timer = setTimeout(() => proc.child.kill("SIGKILL"), 20_000);
  await exited;
  clearTimeout(timer);
}

async function until<T>(probe: () => T | undefined | null | false, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
}

/** Pairs each posting event with the first matching thread post received at or after its emission. */
function pairLatencies(
  entries: Array<{ entryId: string; event: StoredRunEvent }>,
  posts: Array<{ text: string; at: number }>,
  runId: string,
): Array<{ type: string; ms: number; publishedMs: number }> {
  const out: Array<{ type: string; ms: number; publishedMs: number }> = [];
  const used = new Set<number>();
  for (const { entryId, event: e } of entries) {
    const emitted = Date.parse(e.at);
    let matches: (text: string) => boolean;
    if (e.type === "best.improved") matches = (t) => t.includes(`New best in run ${runId}: node ${e.node.id},`);
    else if (e.type === "steer.applied" && e.command.kind === "guidance") {
      const text = e.command.text;
      // The reply's "queued" answer carries the same text but comes before the event: the time filter skips it.
      matches = (t) => t.includes(text);
    } else continue;
    const i = posts.findIndex((p, k) => !used.has(k) && p.at >= emitted - 1 && matches(p.text));
    if (i < 0) continue;
    used.add(i);
    // A stream entry id starts with the Redis server's clock (ms) when the event was added.
    out.push({ type: e.type, ms: posts[i]!.at - emitted, publishedMs: Number(entryId.split("-")[0]) - emitted });
  }
  return out;
}

interface Deployment {
  dataDir: string;
  fake: FakeSlackApi;
  files: Awaited<ReturnType<typeof startFileServer>>;
  bot: Proc & { match: RegExpMatchArray };
  runner: Proc;
}

/**
 * `aide slack` (HTTP mode, against the fake Slack) and `aide runner` started from `entry`, sharing local Redis
 * and MongoDB through a fresh AIDE_DATA_DIR, for `f`; everything is stopped and removed afterwards.
 */
async function withDeployment<T>(entry: string, nodeArgs: string[], f: (d: Deployment) => Promise<T>): Promise<T> {
  const dataDir = await mkdtemp(join(tmpdir(), "aide-bench-chat-"));
  const fake: FakeSlackApi = await startFakeSlackApi({
    botToken: BOT_TOKEN,
    users: [{ id: USER.id, name: USER.name, realName: "Bench" }],
  });
  const files = await startFileServer();
  files.route("/loan-default.tar.gz", {
    kind: "file",
    body: await exampleArchive("loan-default"),
    contentType: "application/gzip",
  });
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: process.env.HOME ?? "/root",
    AIDE_DATA_DIR: dataDir,
    AIDE_LOG_LEVEL: "warn",
    AIDE_DATA_ALLOW_PRIVATE_HOSTS: "1",
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: fake.apiUrl,
    ...(process.env.NODE_OPTIONS ? { NODE_OPTIONS: process.env.NODE_OPTIONS } : {}),
  };
  let bot: (Proc & { match: RegExpMatchArray }) | null = null;
  let runner: Proc | null = null;
  try {
    bot = await startAide(entry, ["slack", "--port", "0"], env, /listening on port (\d+)/, 120_000, nodeArgs);
    runner = await startAide(
      entry,
      ["runner", "--concurrency", "1"],
      env,
      /aide runner: runner \S+/,
      120_000,
      nodeArgs,
    );
    return await f({ dataDir, fake, files, bot, runner });
  } finally {
    await stop(runner);
    await stop(bot);
    await new Promise<void>((resolve) => {
      const s = spawn(process.execPath, [entry, "services", "stop"], { env, stdio: "ignore" });
      s.once("exit", () => resolve());
      s.once("error", () => resolve());
    });
    await files.close();
    await fake.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** Resident memory (VmRSS, MB) of `aide slack` and `aide runner` right after they say they are ready. */
export async function startupMemory(entry: string): Promise<{ botMb: number; runnerMb: number }> {
  return withDeployment(entry, [], async ({ bot, runner }) => ({
    botMb: await memoryMb(bot.child.pid!, "VmRSS"),
    runnerMb: await memoryMb(runner.child.pid!, "VmRSS"),
  }));
}

/** The 20-step steered run through the compiled `aide slack` and `aide runner` (see the top of this file). */
export async function chatDeployment(opts: { steps: number; steers: number }): Promise<ChatBenchResult> {
  // AIDE_BENCH_PROFILE=<dir>: CPU profiles of both processes (written when they exit) and a heap snapshot of
  // each at the end of the run, for `node --cpu-prof` / `--heapsnapshot-signal` analysis.
  const profileDir = process.env.AIDE_BENCH_PROFILE;
  const nodeArgs = profileDir
    ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`, "--heapsnapshot-signal=SIGUSR2", `--diagnostic-dir=${profileDir}`]
    : [];
  return withDeployment(COMPILED_AIDE, nodeArgs, async ({ dataDir, fake, files, bot, runner }) => {
    let redis: Redis | null = null;
    try {
      const botStartMb = await memoryMb(bot.child.pid!, "VmRSS");
      const runnerStartMb = await memoryMb(runner.child.pid!, "VmRSS");
      const sender = new SlackSender(`http://127.0.0.1:${bot.match[1]}/slack/events`, SIGNING_SECRET, fake.teamId);
      const started = Date.now();
      const res = await sender.command({
        command: "/aide",
        text: `start Predict loan default; metric roc_auc ${files.url("/loan-default.tar.gz")} --steps ${opts.steps}`,
        user_id: USER.id,
        user_name: USER.name,
        channel_id: CHANNEL,
      });
      if (res.status !== 200) throw new Error(`/aide start answered ${res.status}`);
      const card = await until(
        () => fake.messages.find((m) => m.channel === CHANNEL && m.threadTs === null),
        30_000,
        "the run's card",
      );
      const thread = () => fake.thread(CHANNEL, card.ts);
      // Mentions may come first ("<@U..> Run r... finished.").
      const isSummary = (m: FakeMessage) => /(^|\s)Run \S+ (finished|stopped|ended)/.test(m.text);
      const urls = await resolveServices(loadConfig({ env: { AIDE_DATA_DIR: dataDir } }), silentLogger);
      redis = new Redis(urls.redisUrl);
      let runId: string | null = null;
      for (const deadline = Date.now() + 60_000; !runId && Date.now() < deadline; ) {
        // The first event of the run (run.started) names it; XREAD BLOCK waits for it.
        const res = (await redis.call("XREAD", "COUNT", 1, "BLOCK", 1000, "STREAMS", "aide:events", "0")) as Array<
          [string, Array<[string, string[]]>]
        > | null;
        const fields = res?.[0]?.[1]?.[0]?.[1] ?? [];
        const i = fields.indexOf("runId");
        if (i >= 0) runId = fields[i + 1] ?? null;
      }
      if (!runId) throw new Error("the run did not start");
      // Replies come while the run makes its steps, a few seconds apart (as people type), from its first result on.
      await until(() => thread().some((m) => m.text.includes("New best in run")), 5 * 60_000, "the first new best");
      for (let i = 1; i <= opts.steers && !thread().some(isSummary); i++) {
        await new Promise((r) => setTimeout(r, 2500));
        const ts = `${Math.floor(Date.now() / 1000)}.${String(i).padStart(6, "0")}`;
        await sender.event({
          type: "message",
          channel: CHANNEL,
          user: USER.id,
          text: `bench guidance ${i}: prefer simple models`,
          ts,
          thread_ts: card.ts,
          event_ts: ts,
          channel_type: "channel",
        });
      }
      await until(() => thread().some(isSummary), 15 * 60_000, "the run's final summary");
      const seconds = (Date.now() - started) / 1000;
      const botPeakMb = await memoryMb(bot.child.pid!, "VmHWM");
      const runnerPeakMb = await memoryMb(runner.child.pid!, "VmHWM");
      if (profileDir) {
        bot.child.kill("SIGUSR2");
        runner.child.kill("SIGUSR2");
        await new Promise((r) => setTimeout(r, 5000));
      }

      const entries = await readEvents(redis, runId, "0", 10_000);
      const events = entries.map((e) => e.event);
      const posts = fake.calls
        .filter((c) => c.method === "chat.postMessage" && c.ok && c.args.thread_ts === card.ts)
        .map((c) => ({ text: String(c.args.text ?? ""), at: fake.startedAt + c.at }));
      const latencies = pairLatencies(entries, posts, runId);
      if (profileDir) {
        // The whole timeline, for reading next to the profiles: events (emitted, in Redis) and every API call.
        const timeline = [
          ...entries.map((x) => ({
            t: Date.parse(x.event.at) - started,
            redis: Number(x.entryId.split("-")[0]) - started,
            what: `event ${x.event.type}`,
          })),
          ...fake.calls.map((c) => ({
            t: fake.startedAt + c.at - started,
            what: `api ${c.method} ${String(c.args.text ?? "").slice(0, 60)}`,
          })),
        ].sort((a, b) => a.t - b.t);
        await writeFile(join(profileDir, "timeline.json"), JSON.stringify(timeline, null, 1));
      }
      const ms = latencies.map((l) => l.ms);
      return {
        steps: events.filter((e) => e.type === "step.finished").length,
        seconds,
        latencies,
        p50: median(ms),
        p95: percentile(ms, 95),
        runnerPeakMb,
        botPeakMb,
        runnerStartMb,
        botStartMb,
      };
    } finally {
      redis?.disconnect();
    }
  });
}
