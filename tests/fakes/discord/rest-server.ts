/**
 * A fake Discord REST API over real HTTP on 127.0.0.1: what the bot and discord.js call during a run. Records
 * every call (method, path, query, headers, JSON body, multipart files parsed from `files[n]` and
 * `payload_json`), answers with v10-shaped objects, sends X-RateLimit headers, and can be scripted to answer 429
 * (with `retry-after`, X-RateLimit-* and a JSON body, as Discord does) or to fail a route.
 *
 * Routes: GET /api/v10/gateway[/bot], /users/@me, /applications/@me; POST /interactions/{id}/{token}/callback
 * (204); GET|PATCH|DELETE /webhooks/{app}/{token}/messages/{@original|id}; POST /webhooks/{app}/{token};
 * POST /channels/{id}/messages; GET|PATCH|DELETE /channels/{id}/messages/{mid};
 * POST /channels/{id}/messages/{mid}/threads; GET|PATCH /channels/{id}; GET|PUT /applications/{app}[/guilds/{g}]/commands.
 * Files uploaded (and files added with `addAttachment`) are served at /attachments/{id}/{name}, like the CDN.
 */
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import {
  publicMessage,
  snowflake,
  threadChannel,
  type FakeAttachment,
  type FakeMessage,
  type FakeState,
  type RecordedFile,
} from "./model.ts";

export interface RecordedCall {
  method: string;
  /** The path after /api/v10, decoded (`@original`, `@me`). */
  path: string;
  /** The path as sent (e.g. with `%40original`). */
  rawPath: string;
  query: string;
  headers: http.IncomingHttpHeaders;
  body: any;
  files: RecordedFile[];
  status: number;
  at: number;
}

export interface RateLimitRule {
  method?: string;
  /** Matched against the decoded path after /api/v10. */
  path: RegExp;
  /** How many matching requests get a 429. */
  times: number;
  retryAfterSec: number;
  global?: boolean;
}

export interface FailureRule {
  method?: string;
  path: RegExp;
  times: number;
  status: number;
  body: Record<string, unknown>;
}

export interface RestHooks {
  /** Called after a thread is created (the gateway sends THREAD_CREATE). */
  threadCreated(thread: unknown): void;
  threadUpdated(thread: unknown): void;
  /** Called after a message is created in a channel (the gateway sends MESSAGE_CREATE). */
  messageCreated(message: FakeMessage): void;
}

export interface FakeRestServer {
  readonly origin: string;
  /** `rest.api` for discord.js: `${origin}/api`. */
  readonly api: string;
  readonly calls: RecordedCall[];
  rateLimit(
    rule: Omit<RateLimitRule, "times" | "retryAfterSec"> & Partial<Pick<RateLimitRule, "times" | "retryAfterSec">>,
  ): void;
  fail(rule: Omit<FailureRule, "times"> & { times?: number }): void;
  /** Stores a file on the fake CDN and returns its attachment object (for slash-command attachments). */
  addAttachment(name: string, data: Buffer, contentType?: string): FakeAttachment;
  close(): Promise<void>;
}

const ARCHIVED = { code: 50083, message: "Thread is archived" };

function json(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = body === undefined ? "" : JSON.stringify(body);
  res.writeHead(status, { ...(text ? { "content-type": "application/json" } : {}), ...headers });
  res.end(text);
}

async function readBody(req: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Parses a JSON or multipart body (undici's FormData parser, as a server would). */
async function parseBody(req: http.IncomingMessage, raw: Buffer): Promise<{ body: any; files: RecordedFile[] }> {
  const type = req.headers["content-type"] ?? "";
  if (type.startsWith("multipart/form-data")) {
    const form = await new Request("http://fake.local/", {
      method: "POST",
      headers: { "content-type": type },
      body: new Uint8Array(raw),
    }).formData();
    let body: any = {};
    const files: RecordedFile[] = [];
    for (const [field, value] of form.entries()) {
      if (typeof value === "string") {
        if (field === "payload_json") body = JSON.parse(value);
        else body[field] = value;
      } else {
        files.push({ field, name: value.name, contentType: value.type, data: Buffer.from(await value.arrayBuffer()) });
      }
    }
    return { body, files };
  }
  if (raw.length === 0) return { body: null, files: [] };
  try {
    return { body: JSON.parse(raw.toString("utf8")), files: [] };
  } catch {
    return { body: raw.toString("utf8"), files: [] };
  }
}

export async function startFakeRest(
  state: FakeState,
  gatewayUrl: () => string,
  hooks: RestHooks,
): Promise<FakeRestServer> {
  const calls: RecordedCall[] = [];
  const rateLimits: RateLimitRule[] = [];
  const failures: FailureRule[] = [];
  const sockets = new Set<Socket>();
  let origin = "";

  const cdnAttachment = (name: string, data: Buffer, contentType: string, description?: string): FakeAttachment => {
    const id = snowflake();
    state.cdn.set(id, { name, data, contentType });
    const url = `${origin}/attachments/${id}/${encodeURIComponent(name)}`;
    return {
      id,
      filename: name,
      size: data.length,
      url,
      proxy_url: url,
      content_type: contentType,
      ...(description ? { description } : {}),
    };
  };

  const newMessage = (
    channelId: string,
    body: any,
    files: RecordedFile[],
    extra: Partial<FakeMessage> = {},
  ): FakeMessage => {
    const described = new Map<string, string>(
      (body?.attachments ?? []).map((a: any) => [String(a.filename), String(a.description ?? "")]),
    );
    const channel = state.channels.get(channelId);
    const mentioned = [...String(body?.content ?? "").matchAll(/<@!?(\d+)>/g)].map((m) => m[1]!);
    const allowed: string[] | null = body?.allowed_mentions ? (body.allowed_mentions.users ?? []) : null;
    return {
      id: snowflake(),
      channel_id: channelId,
      ...(channel ? { guild_id: channel.guild_id } : {}),
      author: state.bot,
      content: String(body?.content ?? ""),
      embeds: body?.embeds ?? [],
      components: body?.components ?? [],
      attachments: files.map((f) => cdnAttachment(f.name, f.data, f.contentType, described.get(f.name) || undefined)),
      // Only the users allowed_mentions lets through are notified, as on Discord.
      mentions: mentioned
        .filter((id) => allowed === null || allowed.includes(id))
        .map((id) => ({ id, username: id, global_name: null, discriminator: "0", avatar: null })),
      mention_roles: [],
      mention_everyone: false,
      allowed_mentions: body?.allowed_mentions,
      flags: Number(body?.flags ?? 0),
      type: 0,
      tts: false,
      pinned: false,
      timestamp: new Date().toISOString(),
      edited_timestamp: null,
      files,
      edits: [],
      ...extra,
    };
  };

  const applyEdit = (m: FakeMessage, body: any, files: RecordedFile[]) => {
    m.edits.push(body);
    if (body && "content" in body) m.content = String(body.content ?? "");
    if (body?.embeds) m.embeds = body.embeds;
    if (body?.components) m.components = body.components;
    if (files.length) {
      m.files.push(...files);
      m.attachments.push(...files.map((f) => cdnAttachment(f.name, f.data, f.contentType)));
    }
    m.edited_timestamp = new Date().toISOString();
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse, call: RecordedCall): Promise<number> => {
    const method = call.method;
    const path = call.path;
    const botAuth = req.headers.authorization === `Bot ${state.token}`;
    let m: string[] = [];
    /** Matches the path against a route, keeping the groups in `m`. */
    const route = (pattern: RegExp): boolean => {
      m = pattern.exec(path) ?? [];
      return m.length > 0;
    };

    const rule = rateLimits.find((r) => r.times > 0 && (!r.method || r.method === method) && r.path.test(path));
    if (rule) {
      rule.times--;
      const headers: Record<string, string> = {
        "retry-after": String(rule.retryAfterSec),
        "x-ratelimit-limit": "5",
        "x-ratelimit-remaining": "0",
        "x-ratelimit-reset": String(Date.now() / 1000 + rule.retryAfterSec),
        "x-ratelimit-reset-after": String(rule.retryAfterSec),
        "x-ratelimit-bucket": `fake-bucket-${path.split("/").slice(0, 3).join("-")}`,
        "x-ratelimit-scope": rule.global ? "global" : "user",
      };
      if (rule.global) headers["x-ratelimit-global"] = "true";
      json(
        res,
        429,
        { message: "You are being rate limited.", retry_after: rule.retryAfterSec, global: !!rule.global },
        headers,
      );
      return 429;
    }
    const failure = failures.find((f) => f.times > 0 && (!f.method || f.method === method) && f.path.test(path));
    if (failure) {
      failure.times--;
      json(res, failure.status, failure.body);
      return failure.status;
    }
    const refuse = (status: number, body: unknown): number => {
      json(res, status, body);
      return status;
    };
    const ok = (status: number, body?: unknown) => {
      json(res, status, body, {
        "x-ratelimit-limit": "50",
        "x-ratelimit-remaining": "49",
        "x-ratelimit-reset": String(Date.now() / 1000 + 1),
        "x-ratelimit-reset-after": "1",
        "x-ratelimit-bucket": `fake-${method}${path.split("/").slice(0, 3).join("-")}`,
      });
      return status;
    };
    const needBot = () => {
      if (botAuth) return false;
      json(res, 401, { message: "401: Unauthorized", code: 0 });
      return true;
    };

    if (method === "GET" && route(/^\/attachments\/(\d+)\/[^/]+$/)) {
      const file = state.cdn.get(m[1]!);
      if (!file) return refuse(404, { message: "Not found" });
      res.writeHead(200, { "content-type": file.contentType, "content-length": file.data.length });
      res.end(file.data);
      return 200;
    }
    if (method === "GET" && (path === "/gateway/bot" || path === "/gateway")) {
      if (path === "/gateway/bot" && needBot()) return 401;
      return ok(200, {
        url: gatewayUrl(),
        shards: 1,
        session_start_limit: { total: 1000, remaining: 999, reset_after: 14400000, max_concurrency: 1 },
      });
    }
    if (method === "GET" && path === "/users/@me") return needBot() ? 401 : ok(200, state.bot);
    if (method === "GET" && path === "/applications/@me")
      return needBot()
        ? 401
        : ok(200, { id: state.applicationId, name: "AIDE", flags: 0, bot_public: true, owner: state.owner });

    // Interactions: the callback needs no auth (the token is in the path).
    if (method === "POST" && route(/^\/interactions\/(\d+)\/([^/]+)\/callback$/)) {
      const it = state.interactions.get(m[1]!);
      if (!it || it.token !== m[2]) return refuse(404, { message: "Unknown interaction", code: 10062 });
      if (it.callbacks.length > 0)
        return refuse(400, { message: "Interaction has already been acknowledged.", code: 40060 });
      if (Date.now() - it.createdAt > 3000) return refuse(404, { message: "Unknown interaction", code: 10062 });
      it.callbacks.push({ type: call.body?.type, data: call.body?.data, at: Date.now() });
      if (call.body?.type === 4 && call.body.data) {
        it.original = newMessage(it.channelId, call.body.data, call.files, {
          interaction: { id: it.id, ephemeral: ((call.body.data.flags ?? 0) & 64) === 64 },
        });
      }
      res.writeHead(204);
      res.end();
      return 204;
    }
    if (route(/^\/webhooks\/(\d+)\/([^/]+)\/messages\/([^/]+)$/)) {
      const [, app, token, mid] = m;
      const it = [...state.interactions.values()].find((i) => i.token === token);
      if (!it || app !== state.applicationId) return refuse(404, { message: "Unknown Webhook", code: 10015 });
      const deferredEphemeral = ((it.callbacks[0]?.data?.flags ?? 0) & 64) === 64;
      const target = mid === "@original" ? it.original : (it.followups.find((f) => f.id === mid) ?? null);
      if (method === "GET")
        return target ? ok(200, publicMessage(target)) : refuse(404, { message: "Unknown Message", code: 10008 });
      if (method === "DELETE") {
        if (mid === "@original") it.deleted = true;
        res.writeHead(204);
        res.end();
        return 204;
      }
      if (method === "PATCH") {
        if (mid === "@original" && !it.original) {
          it.original = newMessage(it.channelId, call.body, call.files, {
            interaction: { id: it.id, ephemeral: deferredEphemeral },
            webhook_id: app,
          });
          it.original.edits.push(call.body);
          return ok(200, publicMessage(it.original));
        }
        if (!target) return refuse(404, { message: "Unknown Message", code: 10008 });
        applyEdit(target, call.body, call.files);
        return ok(200, publicMessage(target));
      }
    }
    if (method === "POST" && route(/^\/webhooks\/(\d+)\/([^/]+)$/)) {
      const it = [...state.interactions.values()].find((i) => i.token === m![2]);
      if (!it) return refuse(404, { message: "Unknown Webhook", code: 10015 });
      const msg = newMessage(it.channelId, call.body, call.files, {
        interaction: { id: it.id, ephemeral: ((call.body?.flags ?? 0) & 64) === 64 },
        webhook_id: m[1]!,
      });
      it.followups.push(msg);
      return ok(200, publicMessage(msg));
    }

    // Everything below needs the bot token.
    if (needBot()) return 401;

    if (route(/^\/channels\/(\d+)\/messages$/) && method === "POST") {
      const channel = state.channels.get(m[1]!);
      if (!channel) return refuse(404, { message: "Unknown Channel", code: 10003 });
      if (channel.thread_metadata?.archived) return refuse(400, ARCHIVED);
      const content = String(call.body?.content ?? "");
      if (content.length > 2000)
        return refuse(400, {
          message: "Invalid Form Body",
          code: 50035,
          errors: {
            content: { _errors: [{ code: "BASE_TYPE_MAX_LENGTH", message: "Must be 2000 or fewer in length." }] },
          },
        });
      if (!content && !call.body?.embeds?.length && call.files.length === 0 && !call.body?.components?.length)
        return refuse(400, { message: "Cannot send an empty message", code: 50006 });
      const msg = newMessage(channel.id, call.body, call.files);
      state.messages.set(msg.id, msg);
      channel.last_message_id = msg.id;
      if (channel.message_count !== undefined) channel.message_count++;
      hooks.messageCreated(msg);
      return ok(200, publicMessage(msg));
    }
    if (route(/^\/channels\/(\d+)\/messages\/(\d+)$/)) {
      const msg = state.messages.get(m[2]!);
      if (!msg || msg.channel_id !== m[1]) return refuse(404, { message: "Unknown Message", code: 10008 });
      if (method === "GET") return ok(200, publicMessage(msg));
      if (method === "PATCH") {
        if (state.channels.get(m[1]!)?.thread_metadata?.archived) return refuse(400, ARCHIVED);
        if (String(call.body?.content ?? "").length > 2000)
          return refuse(400, { message: "Invalid Form Body", code: 50035 });
        applyEdit(msg, call.body, call.files);
        return ok(200, publicMessage(msg));
      }
      if (method === "DELETE") {
        state.messages.delete(msg.id);
        res.writeHead(204);
        res.end();
        return 204;
      }
    }
    if (method === "POST" && route(/^\/channels\/(\d+)\/messages\/(\d+)\/threads$/)) {
      const parent = state.channels.get(m[1]!);
      const msg = state.messages.get(m[2]!);
      if (!parent || !msg || msg.channel_id !== parent.id)
        return refuse(404, { message: "Unknown Message", code: 10008 });
      if (state.channels.has(msg.id))
        return refuse(400, { message: "A thread has already been created for this message", code: 160004 });
      const name = String(call.body?.name ?? "");
      if (!name || name.length > 100) return refuse(400, { message: "Invalid Form Body", code: 50035 });
      // A thread started from a message has the message's id.
      const thread = threadChannel(
        msg.id,
        parent,
        name,
        state.bot.id,
        Number(call.body?.auto_archive_duration ?? 4320),
      );
      state.channels.set(thread.id, thread);
      hooks.threadCreated(thread);
      return ok(201, thread);
    }
    if (route(/^\/channels\/(\d+)$/)) {
      const channel = state.channels.get(m[1]!);
      if (!channel) return refuse(404, { message: "Unknown Channel", code: 10003 });
      if (method === "GET") return ok(200, channel);
      if (method === "PATCH") {
        if (channel.thread_metadata && call.body && "archived" in call.body) {
          if (channel.thread_metadata.locked) return refuse(403, { message: "Missing Permissions", code: 50013 });
          channel.thread_metadata.archived = Boolean(call.body.archived);
        }
        if (call.body?.name) channel.name = String(call.body.name);
        hooks.threadUpdated(channel);
        return ok(200, channel);
      }
    }
    if (route(/^\/applications\/(\d+)(?:\/guilds\/(\d+))?\/commands$/)) {
      if (m[1] !== state.applicationId) return refuse(403, { message: "Missing Access", code: 50001 });
      const scope = m[2] ?? "global";
      if (method === "GET") return ok(200, state.commands.get(scope)?.commands ?? []);
      if (method === "PUT") {
        if (!Array.isArray(call.body)) return refuse(400, { message: "Invalid Form Body", code: 50035 });
        const commands = call.body.map((c: any) => ({
          ...c,
          id: snowflake(),
          application_id: state.applicationId,
          version: snowflake(),
          ...(m![2] ? { guild_id: m![2] } : {}),
        }));
        state.commands.set(scope, { scope, commands });
        return ok(200, commands);
      }
    }
    json(res, 404, { message: "404: Not Found", code: 0 });
    return 404;
  };

  const server = http.createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? "/", "http://fake.local");
      const rawPath = url.pathname.replace(/^\/api(?:\/v\d+)?/, "");
      const raw = await readBody(req);
      const { body, files } = await parseBody(req, raw).catch(() => ({ body: null, files: [] as RecordedFile[] }));
      const call: RecordedCall = {
        method: req.method ?? "GET",
        path: decodeURIComponent(rawPath),
        rawPath,
        query: url.search,
        headers: req.headers,
        body,
        files,
        status: 0,
        at: Date.now(),
      };
      if (!rawPath.startsWith("/attachments/")) calls.push(call);
      try {
        call.status = await handle(req, res, call);
      } catch (err) {
        call.status = 500;
        if (!res.headersSent) json(res, 500, { message: String(err), code: 0 });
      }
    })();
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    origin,
    api: `${origin}/api`,
    calls,
    rateLimit: (rule) => void rateLimits.push({ times: 1, retryAfterSec: 0.5, ...rule }),
    fail: (rule) => void failures.push({ times: 1, ...rule }),
    addAttachment: (name, data, contentType = "application/octet-stream") => cdnAttachment(name, data, contentType),
    close: async () => {
      for (const s of sockets) s.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
