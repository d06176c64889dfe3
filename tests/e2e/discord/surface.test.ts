/**
 * The Discord surface and the command registration against the fake Discord REST API (real HTTP, real
 * @discordjs/rest with the bot's options): message limits and splitting, embeds, files and upload size, mentions,
 * edit coalescing, 429s and 5xx retried by the shared delivery, coded give-ups, archived threads; and
 * `aide discord register`.
 */
import { Command } from "commander";
import { REST } from "discord.js";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { discordRestOptions } from "../../../bots/discord/rest.ts";
import { commandDefinitions } from "../../../bots/discord/commands.ts";
import { embedSize, renderMessage } from "../../../bots/discord/render.ts";
import { splitContent, truncateText } from "../../../bots/discord/split.ts";
import { DiscordSurface } from "../../../bots/discord/surface.ts";
import { registerDiscordCommand } from "../../../cli/commands/discord.ts";
import { silentLogger } from "../../../src/logger.ts";
import { DeliveryError, type RetryInfo } from "../../../src/runs/chat/delivery.ts";
import type { ChatMessage, ThreadRef } from "../../../src/runs/chat/types.ts";
import { startFakeDiscord, waitFor, type FakeDiscord } from "../../fakes/discord/index.ts";
import { useMongo } from "../../support/mongo.ts";
import { useRedisServer } from "../../support/redis.ts";

let discord: FakeDiscord;
let rest: REST;
let surface: DiscordSurface;
const retries: RetryInfo[] = [];

beforeAll(async () => {
  discord = await startFakeDiscord();
  rest = new REST(discordRestOptions(discord.rest.api)).setToken(discord.token);
  surface = new DiscordSurface({
    rest,
    logger: silentLogger,
    editIntervalMs: 400,
    retry: { retries: 2, minDelayMs: 50, maxDelayMs: 100 },
    onRetry: (r) => retries.push(r),
  });
});

afterAll(async () => {
  await surface?.close();
  rest?.clearHashSweeper();
  rest?.clearHandlerSweeper();
  await discord?.close();
});

const fences = (s: string) => s.split("\n").filter((l) => /^\s*```/.test(l)).length;

/** A long Python script: ordinary lines, long lines, a line longer than a message, and a ``` inside a string. */
function bigScript(lines = 400): string {
  const out: string[] = [];
  for (let i = 0; i < lines; i++)
    out.push(
      i % 37 === 0
        ? `x_${i} = "${"long ".repeat(60)}"`
        : `    value_${i} = compute(feature_${i}, weight=${i})  # step ${i}`,
    );
  out.splice(100, 0, `BLOB = "${"z".repeat(4500)}"`);
  out.splice(50, 0, 'MARKDOWN = """```not a fence```"""');
  return out.join("\n");
}

function channelWhere(): ThreadRef {
  return { platform: "discord", channel: discord.channel.id, thread: null };
}

async function newThread(): Promise<{ where: ThreadRef; threadId: string }> {
  const root = await surface.post(channelWhere(), {
    text: "root",
    blocks: [
      { kind: "header", text: "Root" },
      { kind: "fields", fields: [{ label: "Status", value: "Running" }] },
    ],
  });
  const threadId = await surface.openThread(root, "AIDE: a test thread");
  return { where: { platform: "discord", channel: discord.channel.id, thread: threadId }, threadId };
}

describe("splitting and rendering within Discord's limits", () => {
  it("splits an oversized snippet into chunks of at most 2000 characters with every code fence balanced", () => {
    const text = `### New best\n**Plan:** more trees\n\`\`\`python\n${bigScript()}\n\`\`\`\n-# the full script is attached`;
    const chunks = splitContent(text, 2000);
    expect(chunks.length).toBeGreaterThan(5);
    for (const c of chunks) {
      expect(c.length).toBeLessThanOrEqual(2000);
      expect(fences(c) % 2).toBe(0);
    }
    // Every chunk after the first that continues the code reopens it with the language.
    expect(chunks.slice(1, -1).every((c) => c.startsWith("```python"))).toBe(true);
    // Nothing lost: the code lines, glued back, are the original (long lines were cut, not dropped).
    const body = chunks
      .map((c) =>
        c
          .split("\n")
          .filter((l) => !/^\s*```/.test(l))
          .join("\n"),
      )
      .join("\n")
      .replace(/\n/g, "");
    expect(body).toContain("z".repeat(4500).slice(0, 1000));
    expect(body.replace(/\s/g, "").length).toBeGreaterThan(bigScript().replace(/\s/g, "").length * 0.99);
  });

  it("keeps short text as it is and closes a block a cut leaves open", () => {
    expect(splitContent("hello", 2000)).toEqual(["hello"]);
    const cut = truncateText(`\`\`\`py\n${"a = 1\n".repeat(500)}\`\`\``, 300);
    expect(cut.length).toBeLessThanOrEqual(300);
    expect(fences(cut)).toBe(2);
  });

  it("renders a card as one embed within the embed limits, with buttons and a shown chart", () => {
    const message: ChatMessage = {
      text: "t",
      blocks: [
        { kind: "header", text: "T".repeat(400) },
        {
          kind: "fields",
          fields: Array.from({ length: 40 }, (_, i) => ({
            label: `Field ${i}`,
            value: "v".repeat(i === 3 ? 3000 : 20),
          })),
        },
        { kind: "text", text: "d".repeat(9000) },
        {
          kind: "buttons",
          buttons: [
            { action: "pause", label: "Pause", runId: "r1" },
            { action: "stop", label: "Stop", style: "danger", runId: "r1" },
            { action: "more10", label: "+10 steps", runId: "r1" },
          ],
        },
        { kind: "context", text: "footer" },
      ],
      files: [{ name: "chart.png", content: Buffer.from("png"), mime: "image/png" }],
      mentions: ["42"],
    };
    const [p, ...rest] = renderMessage(message);
    expect(rest).toHaveLength(0);
    const e = p!.embeds[0]!;
    expect(e.title!.length).toBeLessThanOrEqual(256);
    expect(e.description!.length).toBeLessThanOrEqual(4096);
    expect(e.fields!.length).toBeLessThanOrEqual(25);
    for (const f of e.fields!) expect(f.value.length).toBeLessThanOrEqual(1024);
    expect(embedSize(e)).toBeLessThanOrEqual(6000);
    expect(e.image).toEqual({ url: "attachment://chart.png" });
    expect(p!.components[0]!.components.map((b) => (b as { custom_id: string }).custom_id)).toEqual([
      "aide:pause:r1",
      "aide:stop:r1",
      "aide:more10:r1",
    ]);
    expect(p!.content).toBe("<@42>");
    expect(p!.allowedMentions).toEqual({ parse: [], users: ["42"] });
  });
});

describe("links", () => {
  it("renders a link block as a masked link in a card's embed and in a plain message", () => {
    const url = "https://aide.example.com/runs/r1?token=a-b_c";
    const card = renderMessage({
      text: "t",
      blocks: [
        { kind: "header", text: "Card" },
        { kind: "link", url, label: "Watch the [tree] live" },
      ],
    });
    expect(card[0]!.embeds[0]!.description).toBe(`[Watch the tree live](${url})`);
    const plain = renderMessage({
      text: "t",
      blocks: [
        { kind: "code", language: "text", code: "#0 draft" },
        { kind: "link", url: `${url}(x)`, label: "Open" },
      ],
    });
    expect(plain.map((p) => p.content).join("\n")).toContain(`[Open](${url}%28x%29)`);
  });
});

describe("DiscordSurface against the REST API", () => {
  it("posts an oversized snippet as several messages within 2000 characters, fences balanced, the script on the last", async () => {
    const { where, threadId } = await newThread();
    const code = bigScript(120);
    await surface.post(where, {
      text: "New best",
      blocks: [
        { kind: "header", text: "New best: node 3, rmse = 0.1" },
        { kind: "code", language: "python", code },
        { kind: "context", text: "The full script is attached." },
      ],
      files: [{ name: "best_node_3.py", content: Buffer.from(code), mime: "text/x-python" }],
    });
    const posted = discord.botMessages(threadId);
    expect(posted.length).toBeGreaterThan(2);
    for (const m of posted) {
      expect(m.content.length).toBeLessThanOrEqual(2000);
      expect(fences(m.content) % 2).toBe(0);
    }
    expect(posted.at(-1)!.files.map((f) => f.name)).toEqual(["best_node_3.py"]);
    expect(posted.at(-1)!.files[0]!.data.toString()).toBe(code);
    expect(posted.at(-1)!.files[0]!.contentType).toMatch(/text\/x-python/);
  });

  it("retries a 429 after retry-after and posts the message exactly once", async () => {
    const { where, threadId } = await newThread();
    retries.length = 0;
    discord.rest.rateLimit({
      method: "POST",
      path: new RegExp(`^/channels/${threadId}/messages$`),
      times: 1,
      retryAfterSec: 0.5,
    });
    const t0 = Date.now();
    const ref = await surface.post(where, { text: "after a 429", blocks: [{ kind: "text", text: "after a 429" }] });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(450);
    const calls = discord.calls.filter((c) => c.path === `/channels/${threadId}/messages` && c.method === "POST");
    expect(calls.map((c) => c.status)).toEqual([429, 200]);
    expect(discord.botMessages(threadId).map((m) => m.content)).toEqual(["after a 429"]);
    expect(ref.messageId).toBe(discord.botMessages(threadId)[0]!.id);
    // The delivery did the waiting, with Discord's retry-after as its delay.
    expect(retries[0]).toMatchObject({ what: "message", attempt: 1, failure: { retryable: true } });
    expect(retries[0]!.delayMs).toBeGreaterThanOrEqual(450);
  });

  it("keeps a thread's posts in order and never repeats a posted chunk when a later one fails", async () => {
    const { where, threadId } = await newThread();
    const path = `/channels/${threadId}/messages`;
    // The REST client, but the fake is told to answer 502 to the second chunk just before it is sent.
    let posts = 0;
    const armed = new Proxy(rest, {
      get(target, prop) {
        if (prop === "post") {
          return (route: `/${string}`, options: Parameters<REST["post"]>[1]) => {
            if (route === path && ++posts === 2)
              discord.rest.fail({
                method: "POST",
                path: new RegExp(`^${path}$`),
                status: 502,
                body: { message: "Bad Gateway" },
                times: 1,
              });
            return target.post(route, options);
          };
        }
        const value = Reflect.get(target, prop, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const seen: RetryInfo[] = [];
    const flaky = new DiscordSurface({
      rest: armed,
      logger: silentLogger,
      retry: { retries: 2, minDelayMs: 50, maxDelayMs: 100 },
      onRetry: (r) => seen.push(r),
    });
    const long = "word ".repeat(700).trim();
    await Promise.all([
      flaky.post(where, { text: "long", blocks: [{ kind: "text", text: long }] }),
      flaky.post(where, { text: "after", blocks: [{ kind: "text", text: "after" }] }),
    ]);
    expect(discord.calls.filter((c) => c.method === "POST" && c.path === path).map((c) => c.status)).toEqual([
      200, 502, 200, 200,
    ]);
    const contents = discord.botMessages(threadId).map((m) => m.content);
    expect(contents).toHaveLength(3);
    expect(contents.slice(0, 2).join(" ")).toBe(long);
    expect(contents[2]).toBe("after");
    expect(seen).toEqual([
      expect.objectContaining({ what: "message", attempt: 1, failure: expect.objectContaining({ retryable: true }) }),
    ]);
    await flaky.close();
  });

  it("gives up with a coded error: unavailable after its retries, rejected at once for a refusal", async () => {
    const { where, threadId } = await newThread();
    const path = new RegExp(`^/channels/${threadId}/messages$`);
    discord.rest.fail({ method: "POST", path, status: 503, body: { message: "Service Unavailable" }, times: 3 });
    const down = await surface
      .post(where, { text: "x", blocks: [{ kind: "text", text: "x" }] })
      .catch((e: unknown) => e);
    expect(down).toBeInstanceOf(DeliveryError);
    expect(down).toMatchObject({ code: "unavailable", attempts: 3 });
    discord.rest.fail({
      method: "POST",
      path,
      status: 400,
      body: { code: 50035, message: "Invalid Form Body" },
      times: 1,
    });
    const before = discord.calls.length;
    const refused = await surface
      .post(where, { text: "y", blocks: [{ kind: "text", text: "y" }] })
      .catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: "rejected", attempts: 1 });
    expect(discord.calls.slice(before).filter((c) => path.test(c.path))).toHaveLength(1);
    expect(discord.botMessages(threadId)).toHaveLength(0);
  });

  it("coalesces rapid edits of a message: at most one per interval, the latest content wins", async () => {
    const ref = await surface.post(channelWhere(), {
      text: "card",
      blocks: [
        { kind: "header", text: "Card" },
        { kind: "fields", fields: [{ label: "Step", value: "0" }] },
      ],
    });
    const patches = () =>
      discord.calls.filter(
        (c) => c.method === "PATCH" && c.path === `/channels/${discord.channel.id}/messages/${ref.messageId}`,
      );
    for (let i = 1; i <= 8; i++)
      await surface.edit(ref, {
        text: "card",
        blocks: [
          { kind: "header", text: "Card" },
          { kind: "fields", fields: [{ label: "Step", value: String(i) }] },
        ],
      });
    await waitFor(() => patches().length >= 2 && patches(), 3000, "the coalesced edit");
    await new Promise((r) => setTimeout(r, 600));
    const sent = patches();
    expect(sent).toHaveLength(2);
    expect(sent[0]!.body.embeds[0].fields[0].value).toBe("1");
    expect(sent[1]!.body.embeds[0].fields[0].value).toBe("8");
    expect(sent[1]!.at - sent[0]!.at).toBeGreaterThanOrEqual(380);
    expect(discord.state.messages.get(ref.messageId)!.embeds[0].fields[0].value).toBe("8");
  });

  it("unarchives an archived thread before posting, and posts in the parent channel with a note when it may not", async () => {
    const { where, threadId } = await newThread();
    discord.archiveThread(threadId);
    await surface.post(where, {
      text: "into the archived thread",
      blocks: [{ kind: "text", text: "into the archived thread" }],
    });
    expect(discord.state.channels.get(threadId)!.thread_metadata!.archived).toBe(false);
    expect(
      discord.calls.some(
        (c) => c.method === "PATCH" && c.path === `/channels/${threadId}` && c.body.archived === false,
      ),
    ).toBe(true);
    expect(discord.botMessages(threadId).map((m) => m.content)).toEqual(["into the archived thread"]);

    discord.archiveThread(threadId, true);
    const ref = await surface.post(where, { text: "locked", blocks: [{ kind: "text", text: "the final summary" }] });
    const moved = discord.botMessages(discord.channel.id).find((m) => m.id === ref.messageId)!;
    expect(moved.content).toMatch(new RegExp(`thread <#${threadId}> is archived[\\s\\S]*the final summary`));
  });

  it("leaves out files over the upload size with a note, and limits mentions to the named users", async () => {
    const small = new DiscordSurface({ rest, logger: silentLogger, maxUploadBytes: 1000 });
    const { where, threadId } = await newThread();
    await small.post(where, {
      text: "files",
      blocks: [{ kind: "text", text: "Results for @everyone" }],
      files: [
        { name: "big.csv", content: Buffer.alloc(5000, 97), mime: "text/csv" },
        { name: "small.py", content: Buffer.from("print(1)"), mime: "text/x-python" },
      ],
      mentions: ["111", "222"],
    });
    const [m] = discord.botMessages(threadId);
    expect(m!.files.map((f) => f.name)).toEqual(["small.py"]);
    expect(m!.content).toMatch(/`big.csv` \(4\.9 KB\) is over Discord's upload limit of 1000 bytes and/);
    expect(m!.content.startsWith("<@111> <@222>")).toBe(true);
    expect(m!.allowed_mentions).toEqual({ parse: [], users: ["111", "222"] });
    await small.close();
  });

  it("falls back to a normal reply that mentions the user for an ephemeral message outside an interaction", async () => {
    const { where, threadId } = await newThread();
    await surface.ephemeral(where, "333", {
      text: "Only the starter may stop it.",
      blocks: [{ kind: "text", text: "Only the starter may stop it." }],
    });
    const [m] = discord.botMessages(threadId);
    expect(m!.content).toBe("<@333>\nOnly the starter may stop it.");
    expect(m!.allowed_mentions).toEqual({ parse: [], users: ["333"] });
  });
});

describe("aide discord register", () => {
  const ENV = ["DISCORD_TOKEN", "DISCORD_APPLICATION_ID", "DISCORD_API_URL"] as const;
  const saved: Record<string, string | undefined> = {};

  beforeAll(() => {
    for (const k of ENV) saved[k] = process.env[k];
    process.env.DISCORD_TOKEN = discord.token;
    process.env.DISCORD_APPLICATION_ID = discord.applicationId;
    process.env.DISCORD_API_URL = discord.rest.api;
  });
  afterAll(() => {
    for (const k of ENV) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  });

  async function aide(...args: string[]): Promise<string> {
    const program = new Command("aide").exitOverride();
    registerDiscordCommand(program);
    const out: string[] = [];
    const spy = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
      out.push(String(chunk));
      return true;
    });
    try {
      await program.parseAsync(args, { from: "user" });
    } finally {
      spy.mockRestore();
    }
    return out.join("");
  }

  it("PUTs the /aide command for a guild and globally", async () => {
    const guildOut = await aide("discord", "register", "--guild", discord.guildId);
    expect(guildOut).toMatch(new RegExp(`Registered /aide for server ${discord.guildId}`));
    const put = discord.calls.filter((c) => c.method === "PUT");
    expect(put.at(-1)!.path).toBe(`/applications/${discord.applicationId}/guilds/${discord.guildId}/commands`);
    expect(put.at(-1)!.headers.authorization).toBe(`Bot ${discord.token}`);
    const registered = discord.state.commands.get(discord.guildId)!.commands;
    expect(registered.map((c) => c.name)).toEqual(["aide"]);
    const subs = registered[0].options.map((o: { name: string }) => o.name);
    expect(subs).toEqual(["start", "status", "list", "stop", "steer", "help"]);
    const start = registered[0].options.find((o: { name: string }) => o.name === "start");
    expect(start.options.map((o: { name: string; type: number }) => `${o.name}:${o.type}`)).toEqual(
      expect.arrayContaining(["task:3", "data:3", "file:11", "steps:4", "metric:3", "timeout:3", "parallel:4"]),
    );
    expect(registered[0]).toMatchObject(JSON.parse(JSON.stringify(commandDefinitions()[0]!)));

    const globalOut = await aide("discord", "register");
    expect(globalOut).toMatch(/Registered \/aide globally/);
    expect(discord.calls.filter((c) => c.method === "PUT").at(-1)!.path).toBe(
      `/applications/${discord.applicationId}/commands`,
    );
  });

  it("refuses a malformed guild id", async () => {
    await expect(aide("discord", "register", "--guild", "nope")).rejects.toThrow(/--guild takes a server id/);
  });
});

describe("aide discord (the bot)", () => {
  const mongo = useMongo();
  const redis = useRedisServer({ flush: false });
  const ENV = ["DISCORD_TOKEN", "DISCORD_API_URL", "MONGODB_URI", "REDIS_URL", "AIDE_WEB", "AIDE_CODER"] as const;
  const saved: Record<string, string | undefined> = {};

  beforeAll(() => {
    for (const k of ENV) saved[k] = process.env[k];
    process.env.DISCORD_TOKEN = discord.token;
    process.env.DISCORD_API_URL = discord.rest.api;
    const uri = new URL(mongo.uri);
    uri.pathname = `/${mongo.dbName}`;
    process.env.MONGODB_URI = uri.toString();
    process.env.REDIS_URL = redis.url;
    process.env.AIDE_WEB = "off";
    process.env.AIDE_CODER = "offline";
  });
  afterAll(() => {
    for (const k of ENV) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  });

  it("connects to the gateway, says it is ready, and stops on SIGINT", async () => {
    const err: string[] = [];
    const spy = vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
      err.push(String(chunk));
      return true;
    });
    const identified = discord.gateway.identifies.length;
    const program = new Command("aide").exitOverride();
    registerDiscordCommand(program);
    try {
      const serving = program.parseAsync(["discord"], { from: "user" });
      await waitFor(() => err.some((l) => l.includes("Ctrl-C to stop")), 20_000);
      process.emit("SIGINT");
      await serving;
    } finally {
      spy.mockRestore();
    }
    const text = err.join("");
    expect(discord.gateway.identifies.length).toBe(identified + 1);
    expect(discord.gateway.identifies.at(-1)!.token).toBe(discord.token);
    expect(text).toMatch(/aide discord: runs are driven by `aide runner` processes/);
    expect(text).toMatch(
      /aide discord: connected as .+ in \d+ server\(s\); message content intent off\. Ctrl-C to stop\./,
    );
    expect(text).toMatch(/aide discord: stopping\./);
  }, 60_000);
});
