/**
 * Security: every inbound request is verified. The service's only inbound HTTP endpoint is the Slack bot's
 * receiver (HTTP mode, POST /slack/events for commands, events and interactivity); Discord interactions arrive
 * over the gateway WebSocket the bot opens itself with its token, and the runner listens on nothing. This file
 * checks both halves:
 *  - the listening sockets of a process running the Slack bot, the Discord bot and a runner are exactly the Slack
 *    receiver's (the fakes' own ports aside);
 *  - every kind of Slack request (slash command, event callback, block action, url_verification) is refused with
 *    401 when unsigned, signed with another secret, altered after signing, stale, or with a malformed timestamp or
 *    signature version; an ssl_check cannot smuggle a command; other paths and methods get 404; an oversized body
 *    gets 413; and none of these reaches the controller (no run, no post, no ephemeral, no response_url answer).
 *    Afterwards a correctly signed request still works.
 */
import { createHmac } from "node:crypto";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import http from "node:http";
import { describe, expect, it } from "vitest";
import { SECRETS, SLACK_USERS, until, useChatWorld } from "./world.ts";

const world = useChatWorld({ runner: { executor: "sandbox" }, discord: true });

/** TCP ports this process listens on (from /proc/net/tcp{,6} and this process's socket descriptors). */
function listeningPorts(): number[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      // closed meanwhile
    }
  }
  const ports = new Set<number>();
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    for (const line of readFileSync(table, "utf8").split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== "0A") continue; // 0A: LISTEN
      if (inodes.has(f[9]!)) ports.add(parseInt(f[1]!.split(":")[1]!, 16));
    }
  }
  return [...ports].sort((a, b) => a - b);
}

const portOf = (url: string) => Number(new URL(url).port);

function sign(
  body: string,
  opts: { secret?: string; timestamp?: number | string; version?: string } = {},
): Record<string, string> {
  const ts = String(opts.timestamp ?? Math.floor(Date.now() / 1000));
  const mac = createHmac("sha256", opts.secret ?? SECRETS.slackSigningSecret)
    .update(`v0:${ts}:${body}`)
    .digest("hex");
  return { "x-slack-request-timestamp": ts, "x-slack-signature": `${opts.version ?? "v0"}=${mac}` };
}

type Kind = "command" | "event" | "interaction" | "url_verification";

function body(kind: Kind, channel: string, responseUrl: string): { body: string; contentType: string } {
  const form = "application/x-www-form-urlencoded";
  switch (kind) {
    case "command":
      return {
        contentType: form,
        body: new URLSearchParams({
          command: "/aide",
          text: `start Predict default ${world.dataUrl}`,
          user_id: SLACK_USERS.starter.id,
          user_name: "ada",
          channel_id: channel,
          team_id: world.slack.teamId,
          response_url: responseUrl,
          trigger_id: `t.${channel}.${Math.random()}`,
        }).toString(),
      };
    case "event": {
      const ts = `${Math.floor(Date.now() / 1000)}.000${Math.floor(Math.random() * 1000)}`;
      return {
        contentType: "application/json",
        body: JSON.stringify({
          type: "event_callback",
          team_id: world.slack.teamId,
          api_app_id: "AFAKE",
          event_id: `Ev${Math.random()}`,
          event_time: 1,
          event: {
            type: "app_mention",
            user: SLACK_USERS.starter.id,
            text: `<@${world.slack.botUserId}> start Predict default ${world.dataUrl}`,
            ts,
            channel,
            event_ts: ts,
          },
        }),
      };
    }
    case "interaction":
      return {
        contentType: form,
        body: new URLSearchParams({
          payload: JSON.stringify({
            type: "block_actions",
            user: { id: SLACK_USERS.stranger.id, name: "bob" },
            team: { id: world.slack.teamId },
            channel: { id: channel },
            container: { channel_id: channel, message_ts: "1.0" },
            trigger_id: `t${Math.random()}`,
            message: { ts: "1.0" },
            response_url: responseUrl,
            actions: [{ type: "button", action_id: "aide_stop", value: "r0000000000", block_id: "b" }],
          }),
        }).toString(),
      };
    case "url_verification":
      return {
        contentType: "application/json",
        body: JSON.stringify({ type: "url_verification", token: "x", challenge: "CHALLENGE-echo-me" }),
      };
  }
}

/** One request on a fresh connection (no keep-alive: a 413 closes the connection mid-upload). */
function post(
  path: string,
  payload: string,
  headers: Record<string, string>,
  method = "POST",
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = http.request(
      { host: "127.0.0.1", port: world.slackBot.port, path, method, headers, agent: false },
      (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", reject);
      },
    );
    // The server may answer (413) and close before the whole body is written: that error is not the answer.
    req.on("error", (err) => {
      if (!answered) reject(err);
    });
    req.end(method === "GET" || method === "HEAD" ? undefined : payload);
  });
}

/** What refused requests must not have caused: runs, posts, ephemerals, answers, steering. */
async function nothingHappened(channel: string, responseUrl: string): Promise<void> {
  await new Promise((r) => setTimeout(r, 100));
  expect(await world.store.listRuns({ platform: "slack", channel })).toEqual([]);
  expect(world.slack.messages.filter((m) => m.channel === channel)).toEqual([]);
  expect(world.slack.ephemerals.filter((m) => m.channel === channel)).toEqual([]);
  expect(world.slack.responses.filter((r) => responseUrl.endsWith(r.path))).toEqual([]);
}

const BAD_SIGNATURES: Array<[string, (b: string) => Record<string, string>]> = [
  ["no signature headers", () => ({})],
  ["a signature made with another secret", (b) => sign(b, { secret: "not-the-signing-secret" })],
  ["a stale timestamp (6 minutes old)", (b) => sign(b, { timestamp: Math.floor(Date.now() / 1000) - 360 })],
  ["a timestamp that is not a number", (b) => sign(b, { timestamp: "soon" })],
  ["an unknown signature version", (b) => sign(b, { version: "v1" })],
  ["an empty signature", (b) => ({ ...sign(b), "x-slack-signature": "" })],
  ["a signature of the body before it was altered", (b) => sign(b.slice(0, -1))],
  [
    "a timestamp header without a signature",
    (b) => ({ "x-slack-request-timestamp": sign(b)["x-slack-request-timestamp"]! }),
  ],
];

describe("inbound requests", () => {
  it("the process listens only on the Slack receiver's port (Discord and the runner open no inbound endpoint)", () => {
    const fakes = [
      portOf(world.slack.origin),
      world.files.port,
      portOf(world.openai.baseURL),
      portOf(world.discord.rest.api),
      portOf(world.discord.gateway.url),
    ];
    const ours = listeningPorts().filter((p) => !fakes.includes(p));
    expect(ours).toEqual([world.slackBot.port]);
  });

  for (const kind of ["command", "event", "interaction", "url_verification"] as Kind[]) {
    it(`a ${kind.replace("_", " ")} is refused with 401 and does nothing when ${BAD_SIGNATURES.length} kinds of bad signature are tried`, async () => {
      const sent: Array<{ channel: string; responseUrl: string }> = [];
      for (const [what, headersFor] of BAD_SIGNATURES) {
        const channel = `CIN${kind.slice(0, 3).toUpperCase()}${sent.length}`;
        const responseUrl = world.slack.responseUrl();
        const { body: b, contentType } = body(kind, channel, responseUrl);
        const res = await post("/slack/events", b, { "content-type": contentType, ...headersFor(b) });
        expect(res.status, what).toBe(401);
        expect(res.text).not.toContain("CHALLENGE-echo-me");
        sent.push({ channel, responseUrl });
      }
      for (const { channel, responseUrl } of sent) await nothingHappened(channel, responseUrl);
    });
  }

  it("an ssl_check cannot smuggle a command past the signature check", async () => {
    const channel = "CINSSL";
    const responseUrl = world.slack.responseUrl();
    const smuggled = `ssl_check=1&${body("command", channel, responseUrl).body}`;
    const res = await post("/slack/events", smuggled, { "content-type": "application/x-www-form-urlencoded" });
    expect(res.status).toBe(200);
    await nothingHappened(channel, responseUrl);
  });

  it.each([
    ["GET", "/slack/events"],
    ["PUT", "/slack/events"],
    ["POST", "/slack/install"],
    ["GET", "/slack/install"],
    ["GET", "/slack/oauth_redirect"],
    ["POST", "/"],
    ["GET", "/health"],
    ["POST", "/slack/events/../events2"],
    ["POST", "/SLACK/EVENTS"],
  ])("%s %s is not an endpoint (404) and does nothing", async (method, path) => {
    const channel = `CINPATH${method}${path.length}`;
    const responseUrl = world.slack.responseUrl();
    const { body: b } = body("command", channel, responseUrl);
    const res = await post(path, b, { "content-type": "application/x-www-form-urlencoded", ...sign(b) }, method);
    expect(res.status).toBe(404);
    await nothingHappened(channel, responseUrl);
  });

  it("an oversized body is refused (413) before anything parses it; the receiver keeps working", async () => {
    const channel = "CINBIG";
    const responseUrl = world.slack.responseUrl();
    const big = `${body("command", channel, responseUrl).body}&pad=${"x".repeat(6 * 1024 * 1024)}`;
    const unsigned = await post("/slack/events", big, { "content-type": "application/x-www-form-urlencoded" });
    expect(unsigned.status).toBe(413);
    const signed = await post("/slack/events", big, {
      "content-type": "application/x-www-form-urlencoded",
      ...sign(big),
    });
    expect(signed.status).toBe(413);
    await nothingHappened(channel, responseUrl);
  });

  it("a correctly signed but malformed body is refused (400) and does nothing", async () => {
    const channel = "CINBAD";
    const broken = `{"type":"event_callback","event":{"type":"app_mention","channel":"${channel}"`;
    const res = await post("/slack/events", broken, { "content-type": "application/json", ...sign(broken) });
    expect(res.status).toBe(400);
    await nothingHappened(channel, "");
  });

  it("after all of that, correctly signed requests work: url_verification echoes, /aide help answers", async () => {
    const { body: v } = body("url_verification", "CINOK", "");
    const verified = await post("/slack/events", v, { "content-type": "application/json", ...sign(v) });
    expect(verified.status).toBe(200);
    expect(verified.text).toContain("CHALLENGE-echo-me");
    const responseUrl = world.slack.responseUrl();
    const res = await world.sender.command({
      text: "help",
      user_id: SLACK_USERS.stranger.id,
      channel_id: "CINOK",
      response_url: responseUrl,
    });
    expect(res.status).toBe(200);
    await until(() => world.slack.responses.find((r) => responseUrl.endsWith(r.path)), 10_000, "the help answer");
  });
});
