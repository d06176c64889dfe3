/**
 * A fake Slack, over real sockets, for end-to-end tests of the Slack bot.
 *
 * 1. `startFakeSlackApi()`: an HTTP server speaking the Slack Web API wire format. Requests are POSTs with a
 *    form-encoded or JSON body and the token in `Authorization: Bearer` (or a `token` field); answers are
 *    `{ ok: true, ... }` or `{ ok: false, error }` with HTTP 200, as Slack does. It implements the methods the bot
 *    uses (auth.test, chat.postMessage, chat.update, chat.postEphemeral, files.getUploadURLExternal, the upload
 *    URL it hands out, files.completeUploadExternal, users.info, conversations.info), keeps a small model of the
 *    workspace (messages with their edits, ephemeral messages, shared files, response_url replies), records
 *    every call, and can be scripted to fail: `ok:false` errors, HTTP 429 with Retry-After, HTTP 5xx.
 * 2. `SlackSender`: sends SIGNED requests (v0 signature over `v0:<timestamp>:<body>`, X-Slack-Request-Timestamp)
 *    to the app's receiver, as Slack does: slash commands (form), events (JSON event_callback) and
 *    interactivity (form with `payload`), with optional retry headers, bad signatures or stale timestamps.
 */
import { createHmac, randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";

export interface FakeSlackUser {
  id: string;
  name: string;
  realName?: string;
  displayName?: string;
}

export interface FakeSlackOptions {
  /** The bot token the fake accepts; other tokens get `invalid_auth`. */
  botToken?: string;
  botUserId?: string;
  botId?: string;
  teamId?: string;
  users?: FakeSlackUser[];
}

export interface RecordedSlackCall {
  /** Web API method name (`chat.postMessage`), or `upload` for the file upload URL, `response_url` for replies. */
  method: string;
  args: Record<string, any>;
  token: string | null;
  /** ms since the fake started. */
  at: number;
  status: number;
  /** The `ok` of the answer (false for HTTP errors too). */
  ok: boolean;
  error?: string;
}

export interface FakeMessage {
  channel: string;
  ts: string;
  /** Set for replies in a thread. */
  threadTs: string | null;
  user: string;
  text: string;
  blocks: any[];
  /** Earlier contents, oldest first (each chat.update pushes the content it replaces). */
  history: Array<{ text: string; blocks: any[] }>;
  /** ms since the fake started, of each accepted chat.update. */
  updatedAt: number[];
}

export interface FakeEphemeral {
  channel: string;
  user: string;
  threadTs: string | null;
  text: string;
  blocks: any[];
}

export interface FakeFile {
  id: string;
  name: string;
  title: string;
  length: number;
  content: Buffer | null;
  /** Set when files.completeUploadExternal shared it. */
  channel: string | null;
  threadTs: string | null;
  initialComment: string | null;
}

export interface FakeResponse {
  path: string;
  body: any;
}

/**
 * A scripted failure for the next `times` calls of the named methods (in the order rules were added); `"*"` in
 * `methods` matches every method (file uploads included). With `durationMs` the rule also ends that long after
 * it was added (use `times: Infinity` for an outage that lasts a while). `outage` answers HTTP 500 and HTTP 429
 * (with Retry-After) in turns, as an API having a bad minute does.
 */
export type FailureRule = { methods: string[]; times: number; durationMs?: number } & (
  | { kind: "error"; error: string }
  | { kind: "rate_limited"; retryAfterSec: number }
  | { kind: "http"; status: number }
  | { kind: "outage"; retryAfterSec: number }
);

export interface FakeSlackApi {
  readonly origin: string;
  /** Date.now() when the fake started: `calls[i].at` is relative to it. */
  readonly startedAt: number;
  /** What the app gets as SLACK_API_URL: `<origin>/api/`. */
  readonly apiUrl: string;
  readonly botToken: string;
  readonly botUserId: string;
  readonly teamId: string;
  readonly calls: RecordedSlackCall[];
  readonly messages: FakeMessage[];
  readonly ephemerals: FakeEphemeral[];
  readonly files: FakeFile[];
  readonly responses: FakeResponse[];
  /** Calls of one method (accepted or not). */
  callsOf(method: string): RecordedSlackCall[];
  /** Messages in a thread (replies only, oldest first). */
  thread(channel: string, threadTs: string): FakeMessage[];
  message(channel: string, ts: string): FakeMessage | undefined;
  /** Files shared into a thread. */
  filesIn(channel: string, threadTs: string): FakeFile[];
  /** A response_url the app may reply to (recorded in `responses`). */
  responseUrl(): string;
  /** Makes the next calls of `methods` fail; returns the rule so a test can see how much of it was used. */
  fail(rule: FailureRule): FailureRule & { used: number };
  clearFailures(): void;
  addUser(user: FakeSlackUser): void;
  /** Polls `check` until it returns a truthy value, or throws after `timeoutMs` naming `what`. */
  waitFor<T>(check: () => T | undefined | null | false, timeoutMs: number, what: string): Promise<T>;
  close(): Promise<void>;
}

function json(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

async function readBody(req: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Form fields that carry JSON (blocks, files...) are decoded, as Slack does. */
const JSON_FIELDS = new Set(["blocks", "attachments", "files", "metadata"]);

function decodeArgs(raw: Buffer, contentType: string): Record<string, any> {
  if (raw.length === 0) return {};
  if (contentType.includes("application/json")) return JSON.parse(raw.toString("utf8")) as Record<string, any>;
  const out: Record<string, any> = {};
  for (const [k, v] of new URLSearchParams(raw.toString("utf8"))) {
    if (JSON_FIELDS.has(k)) {
      try {
        out[k] = JSON.parse(v);
        continue;
      } catch {
        /* keep the string */
      }
    }
    out[k] = v;
  }
  return out;
}

export async function startFakeSlackApi(options: FakeSlackOptions = {}): Promise<FakeSlackApi> {
  const started = Date.now();
  const botToken = options.botToken ?? "xoxb-fake-bot-token";
  const botUserId = options.botUserId ?? "UBOT";
  const botId = options.botId ?? "BBOT";
  const teamId = options.teamId ?? "TFAKE";
  const users = new Map<string, FakeSlackUser>((options.users ?? []).map((u) => [u.id, u]));
  const calls: RecordedSlackCall[] = [];
  const messages: FakeMessage[] = [];
  const ephemerals: FakeEphemeral[] = [];
  const files: FakeFile[] = [];
  const responses: FakeResponse[] = [];
  type ActiveRule = FailureRule & { used: number; endsAt: number };
  const rules: ActiveRule[] = [];
  const sockets = new Set<Socket>();
  let tsCounter = 0;
  let fileCounter = 0;
  let origin = "";

  const now = () => Date.now() - started;
  const nextTs = () => {
    tsCounter += 1;
    return `${1_700_000_000 + Math.floor(tsCounter / 1000)}.${String(100 + (tsCounter % 1000)).padStart(6, "0")}`;
  };

  /** The failure to answer this call with, if a rule applies; an outage rule resolves to 500 or 429 by turns. */
  function takeFailure(method: string): FailureRule | undefined {
    const t = Date.now();
    const rule = rules.find(
      (r) => r.used < r.times && t < r.endsAt && (r.methods.includes(method) || r.methods.includes("*")),
    );
    if (!rule) return undefined;
    rule.used += 1;
    if (rule.kind !== "outage") return rule;
    return rule.used % 2 === 1
      ? { methods: rule.methods, times: 1, kind: "http", status: 500 }
      : { methods: rule.methods, times: 1, kind: "rate_limited", retryAfterSec: rule.retryAfterSec };
  }

  type Answer = { ok: true; [k: string]: unknown } | { ok: false; error: string; [k: string]: unknown };

  function requireChannel(args: Record<string, any>, key = "channel"): string | null {
    const c = args[key];
    return typeof c === "string" && c.length > 0 ? c : null;
  }

  function contentOf(args: Record<string, any>): { text: string; blocks: any[] } | null {
    const blocks = Array.isArray(args.blocks) ? args.blocks : [];
    const text = typeof args.text === "string" ? args.text : "";
    if (!text && blocks.length === 0) return null;
    return { text, blocks };
  }

  /** Enforces a few of Slack's documented Block Kit limits, so the bot's rendering is checked against them. */
  function blocksError(blocks: any[]): string | null {
    if (blocks.length > 50) return "invalid_blocks";
    for (const b of blocks) {
      if (b.type === "section") {
        if (b.text && (typeof b.text.text !== "string" || b.text.text.length > 3000 || b.text.text.length === 0))
          return "invalid_blocks";
        if (
          b.fields &&
          (b.fields.length > 10 || b.fields.some((f: any) => typeof f.text !== "string" || f.text.length > 2000))
        )
          return "invalid_blocks";
        if (!b.text && !b.fields) return "invalid_blocks";
      } else if (b.type === "header") {
        if (b.text?.type !== "plain_text" || b.text.text.length > 150) return "invalid_blocks";
      } else if (b.type === "actions") {
        if (!Array.isArray(b.elements) || b.elements.length > 25) return "invalid_blocks";
        const ids = b.elements.map((e: any) => e.action_id);
        if (new Set(ids).size !== ids.length) return "invalid_blocks";
        if (b.elements.some((e: any) => e.type === "button" && (e.text?.text?.length ?? 0) > 75))
          return "invalid_blocks";
      } else if (b.type === "context") {
        if (!Array.isArray(b.elements) || b.elements.length === 0 || b.elements.length > 10) return "invalid_blocks";
      } else if (b.type !== "divider" && b.type !== "image") {
        return "invalid_blocks";
      }
    }
    return null;
  }

  function apiMethod(method: string, args: Record<string, any>): Answer {
    switch (method) {
      case "api.test":
        return { ok: true, args };
      case "auth.test":
        return {
          ok: true,
          url: `${origin}/`,
          team: "Fake Team",
          user: "aide",
          team_id: teamId,
          user_id: botUserId,
          bot_id: botId,
        };
      case "chat.postMessage": {
        const channel = requireChannel(args);
        if (!channel) return { ok: false, error: "channel_not_found" };
        const content = contentOf(args);
        if (!content) return { ok: false, error: "no_text" };
        const bad = blocksError(content.blocks);
        if (bad) return { ok: false, error: bad };
        const threadTs = typeof args.thread_ts === "string" && args.thread_ts ? args.thread_ts : null;
        // A thread may hang under a person's message, which this fake does not model: any thread_ts is accepted.
        const msg: FakeMessage = {
          channel,
          ts: nextTs(),
          threadTs,
          user: botUserId,
          ...content,
          history: [],
          updatedAt: [],
        };
        messages.push(msg);
        return {
          ok: true,
          channel,
          ts: msg.ts,
          message: {
            type: "message",
            user: botUserId,
            bot_id: botId,
            text: msg.text,
            blocks: msg.blocks,
            ts: msg.ts,
            thread_ts: threadTs ?? undefined,
          },
        };
      }
      case "chat.update": {
        const channel = requireChannel(args);
        const msg = messages.find((m) => m.channel === channel && m.ts === args.ts);
        if (!msg) return { ok: false, error: "message_not_found" };
        const content = contentOf(args);
        if (!content) return { ok: false, error: "no_text" };
        const bad = blocksError(content.blocks);
        if (bad) return { ok: false, error: bad };
        msg.history.push({ text: msg.text, blocks: msg.blocks });
        msg.text = content.text;
        msg.blocks = content.blocks;
        msg.updatedAt.push(now());
        return {
          ok: true,
          channel: msg.channel,
          ts: msg.ts,
          text: msg.text,
          message: { text: msg.text, blocks: msg.blocks },
        };
      }
      case "chat.postEphemeral": {
        const channel = requireChannel(args);
        if (!channel) return { ok: false, error: "channel_not_found" };
        if (typeof args.user !== "string" || !args.user) return { ok: false, error: "user_not_in_channel" };
        const content = contentOf(args);
        if (!content) return { ok: false, error: "no_text" };
        const bad = blocksError(content.blocks);
        if (bad) return { ok: false, error: bad };
        ephemerals.push({
          channel,
          user: args.user,
          threadTs: typeof args.thread_ts === "string" ? args.thread_ts : null,
          ...content,
        });
        return { ok: true, message_ts: nextTs() };
      }
      case "files.getUploadURLExternal": {
        const length = Number(args.length);
        if (typeof args.filename !== "string" || !args.filename) return { ok: false, error: "invalid_arguments" };
        if (!Number.isInteger(length) || length < 0) return { ok: false, error: "invalid_arguments" };
        fileCounter += 1;
        const id = `F${String(fileCounter).padStart(8, "0")}`;
        files.push({
          id,
          name: args.filename,
          title: args.filename,
          length,
          content: null,
          channel: null,
          threadTs: null,
          initialComment: null,
        });
        return { ok: true, upload_url: `${origin}/upload/${id}`, file_id: id };
      }
      case "files.completeUploadExternal": {
        const list = Array.isArray(args.files) ? args.files : [];
        if (list.length === 0) return { ok: false, error: "invalid_arguments" };
        const done: FakeFile[] = [];
        for (const item of list) {
          const f = files.find((x) => x.id === item.id);
          if (!f || f.content === null) return { ok: false, error: "file_not_found" };
          if (typeof item.title === "string" && item.title) f.title = item.title;
          f.channel = typeof args.channel_id === "string" ? args.channel_id : null;
          f.threadTs = typeof args.thread_ts === "string" ? args.thread_ts : null;
          f.initialComment = typeof args.initial_comment === "string" ? args.initial_comment : null;
          done.push(f);
        }
        return { ok: true, files: done.map((f) => ({ id: f.id, name: f.name, title: f.title, size: f.length })) };
      }
      case "users.info": {
        const u = users.get(String(args.user));
        if (!u) return { ok: false, error: "user_not_found" };
        return {
          ok: true,
          user: {
            id: u.id,
            team_id: teamId,
            name: u.name,
            real_name: u.realName ?? u.name,
            profile: { display_name: u.displayName ?? "", real_name: u.realName ?? u.name },
          },
        };
      }
      case "conversations.info":
        return {
          ok: true,
          channel: {
            id: String(args.channel),
            name: `channel-${String(args.channel).toLowerCase()}`,
            is_channel: true,
            is_member: true,
          },
        };
      default:
        return { ok: false, error: "unknown_method" };
    }
  }

  async function handleUpload(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    id: string,
    raw: Buffer,
  ): Promise<void> {
    const file = files.find((f) => f.id === id);
    const failure = takeFailure("upload");
    const record = (status: number, ok: boolean, error?: string) =>
      calls.push({
        method: "upload",
        args: { file_id: id, bytes: raw.length },
        token: null,
        at: now(),
        status,
        ok,
        error,
      });
    if (failure?.kind === "rate_limited") {
      record(429, false, "ratelimited");
      res.writeHead(429, { "retry-after": String(failure.retryAfterSec) });
      res.end();
      return;
    }
    if (failure?.kind === "http") {
      record(failure.status, false, `http_${failure.status}`);
      res.writeHead(failure.status);
      res.end("upstream failure");
      return;
    }
    if (!file) {
      record(404, false, "file_not_found");
      res.writeHead(404);
      res.end();
      return;
    }
    // The client sends the bytes either raw or as a multipart form (@slack/web-api uses a form with one part).
    const type = req.headers["content-type"] ?? "";
    let content = raw;
    if (type.startsWith("multipart/form-data")) {
      const form = await new Response(new Uint8Array(raw), { headers: { "content-type": type } }).formData();
      for (const value of form.values()) {
        if (typeof value !== "string") {
          content = Buffer.from(await value.arrayBuffer());
          break;
        }
      }
    }
    file.content = content;
    record(200, true);
    res.writeHead(200, { "content-type": "text/plain" });
    res.end(`OK - ${content.length}`);
  }

  const server = http.createServer((req, res) => {
    void (async () => {
      const raw = await readBody(req);
      const path = (req.url ?? "/").split("?")[0]!;
      if (req.method !== "POST") {
        json(res, 405, { ok: false, error: "method_not_allowed" });
        return;
      }
      if (path.startsWith("/upload/")) {
        await handleUpload(req, res, path.slice("/upload/".length), raw);
        return;
      }
      if (path.startsWith("/response/")) {
        const body = decodeArgs(raw, req.headers["content-type"] ?? "application/json");
        responses.push({ path, body });
        calls.push({ method: "response_url", args: body, token: null, at: now(), status: 200, ok: true });
        json(res, 200, { ok: true });
        return;
      }
      if (!path.startsWith("/api/")) {
        json(res, 404, { ok: false, error: "not_found" });
        return;
      }
      const method = path.slice("/api/".length);
      let args: Record<string, any>;
      try {
        args = decodeArgs(raw, req.headers["content-type"] ?? "");
      } catch {
        calls.push({ method, args: {}, token: null, at: now(), status: 200, ok: false, error: "invalid_json" });
        json(res, 200, { ok: false, error: "invalid_json" });
        return;
      }
      const auth = req.headers.authorization ?? "";
      const token = auth.startsWith("Bearer ")
        ? auth.slice("Bearer ".length)
        : typeof args.token === "string"
          ? args.token
          : null;
      delete args.token;
      const record = (status: number, ok: boolean, error?: string) =>
        calls.push({ method, args, token, at: now(), status, ok, error });

      const failure = takeFailure(method);
      if (failure?.kind === "rate_limited") {
        record(429, false, "ratelimited");
        json(res, 429, { ok: false, error: "ratelimited" }, { "retry-after": String(failure.retryAfterSec) });
        return;
      }
      if (failure?.kind === "http") {
        record(failure.status, false, `http_${failure.status}`);
        res.writeHead(failure.status, { "content-type": "text/plain" });
        res.end("internal error");
        return;
      }
      if (failure?.kind === "error") {
        record(200, false, failure.error);
        json(res, 200, { ok: false, error: failure.error });
        return;
      }
      if (method !== "api.test" && token !== botToken) {
        record(200, false, token ? "invalid_auth" : "not_authed");
        json(res, 200, { ok: false, error: token ? "invalid_auth" : "not_authed" });
        return;
      }
      const answer = apiMethod(method, args);
      record(200, answer.ok, answer.ok ? undefined : answer.error);
      json(res, 200, answer);
    })().catch((err: unknown) => {
      if (!res.headersSent) json(res, 500, { ok: false, error: "fake_internal_error", detail: String(err) });
    });
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    origin,
    startedAt: started,
    apiUrl: `${origin}/api/`,
    botToken,
    botUserId,
    teamId,
    calls,
    messages,
    ephemerals,
    files,
    responses,
    callsOf: (method) => calls.filter((c) => c.method === method),
    thread: (channel, threadTs) => messages.filter((m) => m.channel === channel && m.threadTs === threadTs),
    message: (channel, ts) => messages.find((m) => m.channel === channel && m.ts === ts),
    filesIn: (channel, threadTs) => files.filter((f) => f.channel === channel && f.threadTs === threadTs),
    responseUrl: () => `${origin}/response/${randomBytes(6).toString("hex")}`,
    fail(rule) {
      const r: ActiveRule = {
        ...rule,
        used: 0,
        endsAt: rule.durationMs === undefined ? Infinity : Date.now() + rule.durationMs,
      };
      rules.push(r);
      return r;
    },
    clearFailures: () => void rules.splice(0),
    addUser: (u) => void users.set(u.id, u),
    async waitFor(check, timeoutMs, what) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const v = check();
        if (v) return v as never;
        if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Signed requests to the app, as Slack sends them.

export interface SignOptions {
  /** Seconds since the epoch put in X-Slack-Request-Timestamp; default now. */
  timestamp?: number;
  /** Sign with this secret instead of the right one. */
  secret?: string;
  /** Send this signature verbatim. */
  signature?: string;
  /** X-Slack-Retry-Num / X-Slack-Retry-Reason, as Slack sets on redelivery. */
  retryNum?: number;
  retryReason?: string;
}

export interface SignedResponse {
  status: number;
  body: string;
  /** ms from sending to the complete answer. */
  elapsedMs: number;
}

export interface SlashCommandFields {
  text: string;
  user_id: string;
  user_name?: string;
  channel_id: string;
  channel_name?: string;
  command?: string;
  team_id?: string;
  trigger_id?: string;
  response_url?: string;
}

export function slackSignature(secret: string, timestamp: number, body: string): string {
  return `v0=${createHmac("sha256", secret).update(`v0:${timestamp}:${body}`).digest("hex")}`;
}

export class SlackSender {
  private seq = 0;

  /** `url`: the app's endpoint, e.g. http://127.0.0.1:PORT/slack/events. */
  constructor(
    readonly url: string,
    private readonly signingSecret: string,
    private readonly teamId = "TFAKE",
  ) {}

  nextId(prefix: string): string {
    this.seq += 1;
    return `${prefix}${Date.now().toString(36)}${this.seq}`;
  }

  /** A slash command, form-encoded. */
  command(fields: SlashCommandFields, sign: SignOptions = {}): Promise<SignedResponse> {
    const form = new URLSearchParams({
      token: "deprecated-verification-token",
      team_id: fields.team_id ?? this.teamId,
      team_domain: "fake",
      channel_id: fields.channel_id,
      channel_name: fields.channel_name ?? "general",
      user_id: fields.user_id,
      user_name: fields.user_name ?? fields.user_id.toLowerCase(),
      command: fields.command ?? "/aide",
      text: fields.text,
      api_app_id: "AFAKE",
      is_enterprise_install: "false",
      response_url: fields.response_url ?? "",
      trigger_id: fields.trigger_id ?? this.nextId("trigger."),
    });
    return this.send(form.toString(), "application/x-www-form-urlencoded", sign);
  }

  /** An Events API event_callback with `event` inside. Returns the response and the event_id used. */
  async event(
    event: Record<string, unknown>,
    opts: SignOptions & { eventId?: string } = {},
  ): Promise<SignedResponse & { eventId: string }> {
    const eventId = opts.eventId ?? this.nextId("Ev");
    const body = JSON.stringify({
      token: "deprecated-verification-token",
      team_id: this.teamId,
      api_app_id: "AFAKE",
      event,
      type: "event_callback",
      event_id: eventId,
      event_time: Math.floor(Date.now() / 1000),
      authorizations: [{ team_id: this.teamId, user_id: "UBOT", is_bot: true, is_enterprise_install: false }],
    });
    const res = await this.send(body, "application/json", opts);
    return { ...res, eventId };
  }

  /** An interactivity payload (block_actions...), form-encoded as `payload=<json>`. */
  interaction(payload: Record<string, unknown>, sign: SignOptions = {}): Promise<SignedResponse> {
    const form = new URLSearchParams({ payload: JSON.stringify(payload) });
    return this.send(form.toString(), "application/x-www-form-urlencoded", sign);
  }

  /** A click on a button of a message, as a block_actions payload. */
  clickButton(
    args: {
      userId: string;
      userName?: string;
      channel: string;
      messageTs: string;
      threadTs?: string;
      actionId: string;
      value: string;
      blockId?: string;
    },
    sign: SignOptions = {},
  ): Promise<SignedResponse> {
    return this.interaction(
      {
        type: "block_actions",
        team: { id: this.teamId, domain: "fake" },
        user: {
          id: args.userId,
          username: args.userName ?? args.userId.toLowerCase(),
          name: args.userName ?? args.userId.toLowerCase(),
          team_id: this.teamId,
        },
        api_app_id: "AFAKE",
        token: "deprecated-verification-token",
        container: { type: "message", message_ts: args.messageTs, channel_id: args.channel, is_ephemeral: false },
        trigger_id: this.nextId("trigger."),
        channel: { id: args.channel, name: "general" },
        message: {
          type: "message",
          ts: args.messageTs,
          thread_ts: args.threadTs,
          user: "UBOT",
          bot_id: "BBOT",
          text: "",
        },
        response_url: "",
        actions: [
          {
            type: "button",
            action_id: args.actionId,
            block_id: args.blockId ?? "aide_card",
            value: args.value,
            text: { type: "plain_text", text: args.actionId },
            action_ts: `${Date.now() / 1000}`,
          },
        ],
      },
      sign,
    );
  }

  private async send(body: string, contentType: string, sign: SignOptions): Promise<SignedResponse> {
    const timestamp = sign.timestamp ?? Math.floor(Date.now() / 1000);
    const headers: Record<string, string> = {
      "content-type": contentType,
      "x-slack-request-timestamp": String(timestamp),
      "x-slack-signature": sign.signature ?? slackSignature(sign.secret ?? this.signingSecret, timestamp, body),
    };
    if (sign.retryNum !== undefined) {
      headers["x-slack-retry-num"] = String(sign.retryNum);
      headers["x-slack-retry-reason"] = sign.retryReason ?? "http_timeout";
    }
    const t0 = Date.now();
    const res = await fetch(this.url, { method: "POST", headers, body });
    const text = await res.text();
    return { status: res.status, body: text, elapsedMs: Date.now() - t0 };
  }
}
