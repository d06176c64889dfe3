/**
 * A real HTTP server that speaks enough of the OpenAI wire format for tests: `POST /v1/chat/completions`
 * and `GET /v1/models`. Replies to chat completions come from a script (a queue), then from a default
 * responder. Every request is recorded (method, path, headers, parsed body) for assertions.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface RecordedRequest {
  method: string;
  /** Path without the query string, e.g. `/v1/chat/completions`. */
  path: string;
  headers: http.IncomingHttpHeaders;
  /** Parsed JSON body, or null for none. */
  body: any;
}

export interface FakeUsage {
  prompt_tokens: number;
  completion_tokens: number;
}

/** A plain assistant message (content string as a shorthand). */
export interface ContentReply {
  content: string;
  usage?: FakeUsage;
  finishReason?: string;
}

/** A call of one function tool; `args` as an object (sent as JSON) or a raw (possibly malformed) string. */
export interface ToolReply {
  tool: string;
  args: Record<string, unknown> | string;
  content?: string | null;
  usage?: FakeUsage;
}

/** An HTTP error. `retryAfter` (seconds) and `retryAfterMs` set the matching headers. */
export interface ErrorReply {
  status: number;
  retryAfter?: number;
  retryAfterMs?: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** Waits before answering with `then` (for timeout tests). */
export interface DelayedReply {
  delayMs: number;
  then: FakeReply;
}

/** Closes the connection without an answer. */
export interface DropReply {
  drop: true;
}

/** Any status and body, as given (not JSON-encoded): error pages of proxies, truncated or foreign answers. */
export interface RawReply {
  raw: string | Buffer;
  status?: number;
  contentType?: string;
}

export type FakeReply =
  | string
  | ContentReply
  | ToolReply
  | ErrorReply
  | DelayedReply
  | DropReply
  | RawReply
  | ((request: RecordedRequest) => FakeReply);

export interface FakeOpenAIServerOptions {
  /** Reply used when the queue is empty. Defaults to a short prose answer. */
  defaultReply?: FakeReply;
  /** Ids listed by `GET /v1/models`. */
  models?: string[];
  /** When set, `GET /v1/models` answers with this error instead. */
  modelsError?: ErrorReply;
}

/** Token counts the fake reports when a reply does not set them: about one token per four characters. */
export function estimateTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

function errorType(status: number): string {
  if (status === 401) return "invalid_request_error";
  if (status === 404) return "invalid_request_error";
  if (status === 429) return "rate_limit_exceeded";
  if (status >= 500) return "server_error";
  return "invalid_request_error";
}

export class FakeOpenAIServer {
  readonly requests: RecordedRequest[] = [];
  private readonly queue: FakeReply[] = [];
  private defaultReply: FakeReply;
  private server: http.Server | null = null;
  private url: string | null = null;
  private counter = 0;
  models: string[];
  modelsError: ErrorReply | undefined;

  constructor(options: FakeOpenAIServerOptions = {}) {
    this.defaultReply = options.defaultReply ?? "I have nothing to add.";
    this.models = options.models ?? ["fake-model"];
    this.modelsError = options.modelsError;
  }

  /** Adds replies to the end of the queue. */
  enqueue(...replies: FakeReply[]): this {
    this.queue.push(...replies);
    return this;
  }

  setDefault(reply: FakeReply): this {
    this.defaultReply = reply;
    return this;
  }

  /** Replies still waiting in the queue. */
  get pending(): number {
    return this.queue.length;
  }

  /** Recorded `POST /v1/chat/completions` requests. */
  get chatRequests(): RecordedRequest[] {
    return this.requests.filter((r) => r.method === "POST" && r.path.endsWith("/chat/completions"));
  }

  get baseURL(): string {
    if (!this.url) throw new Error("FakeOpenAIServer is not started");
    return this.url;
  }

  /** Listens on 127.0.0.1 on a free port; returns the base URL `http://127.0.0.1:PORT/v1`. */
  async start(): Promise<string> {
    if (this.url) return this.url;
    const server = http.createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: { message: `fake server failure: ${String(err)}`, type: "server_error" } }));
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    this.server = server;
    const { port } = server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}/v1`;
    return this.url;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    this.url = null;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    let body: unknown = null;
    if (raw) {
      try {
        body = JSON.parse(raw);
      } catch {
        body = raw;
      }
    }
    const path = (req.url ?? "/").split("?")[0]!;
    const request: RecordedRequest = { method: req.method ?? "GET", path, headers: req.headers, body };
    this.requests.push(request);

    if (request.method === "GET" && path === "/v1/models") {
      if (this.modelsError) return this.sendError(res, this.modelsError);
      return this.sendJson(res, 200, {
        object: "list",
        data: this.models.map((id) => ({ id, object: "model", created: 1_700_000_000, owned_by: "fake" })),
      });
    }
    if (request.method === "POST" && path === "/v1/chat/completions") {
      const next = this.queue.length > 0 ? this.queue.shift()! : this.defaultReply;
      return this.answer(res, request, next);
    }
    return this.sendError(res, { status: 404, body: { error: { message: `No route ${request.method} ${path}`, type: "invalid_request_error" } } });
  }

  private async answer(res: http.ServerResponse, request: RecordedRequest, reply: FakeReply): Promise<void> {
    if (typeof reply === "function") return this.answer(res, request, reply(request));
    if (typeof reply === "string") return this.answer(res, request, { content: reply });
    if ("drop" in reply) {
      res.socket?.destroy();
      return;
    }
    if ("raw" in reply) {
      const body = Buffer.isBuffer(reply.raw) ? reply.raw : Buffer.from(reply.raw);
      res.writeHead(reply.status ?? 200, { "content-type": reply.contentType ?? "application/json", "content-length": String(body.length) });
      res.end(body);
      return;
    }
    if ("delayMs" in reply) {
      await new Promise((r) => setTimeout(r, reply.delayMs));
      return this.answer(res, request, reply.then);
    }
    if ("status" in reply) return this.sendError(res, reply);

    const body = (request.body ?? {}) as { model?: string; messages?: Array<{ content?: unknown }> };
    const promptText = (body.messages ?? []).map((m) => (typeof m.content === "string" ? m.content : JSON.stringify(m.content ?? ""))).join("\n");
    this.counter += 1;
    let message: Record<string, unknown>;
    let finishReason: string;
    let completionText: string;
    if ("tool" in reply) {
      const args = typeof reply.args === "string" ? reply.args : JSON.stringify(reply.args);
      message = {
        role: "assistant",
        content: reply.content ?? null,
        tool_calls: [{ id: `call_${this.counter}`, type: "function", function: { name: reply.tool, arguments: args } }],
      };
      finishReason = "tool_calls";
      completionText = args;
    } else {
      message = { role: "assistant", content: reply.content };
      finishReason = reply.finishReason ?? "stop";
      completionText = reply.content;
    }
    const usage = reply.usage ?? { prompt_tokens: estimateTokens(promptText), completion_tokens: estimateTokens(completionText) };
    this.sendJson(res, 200, {
      id: `chatcmpl-fake-${this.counter}`,
      object: "chat.completion",
      created: Math.floor(Date.now() / 1000),
      model: body.model ?? "fake-model",
      choices: [{ index: 0, message, finish_reason: finishReason, logprobs: null }],
      usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
    });
  }

  private sendError(res: http.ServerResponse, reply: ErrorReply): void {
    const headers: Record<string, string> = { ...(reply.headers ?? {}) };
    if (reply.retryAfter !== undefined) headers["retry-after"] = String(reply.retryAfter);
    if (reply.retryAfterMs !== undefined) headers["retry-after-ms"] = String(reply.retryAfterMs);
    const body = reply.body ?? {
      error: { message: `Fake error ${reply.status}`, type: errorType(reply.status), code: null, param: null },
    };
    this.sendJson(res, reply.status, body, headers);
  }

  private sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { "content-type": "application/json", "content-length": String(Buffer.byteLength(text)), ...headers });
    res.end(text);
  }
}

/** The user message text of a recorded chat request (all user messages joined). */
export function userText(request: RecordedRequest): string {
  const messages = ((request.body ?? {}) as { messages?: Array<{ role?: string; content?: unknown }> }).messages ?? [];
  return messages
    .filter((m) => m.role === "user")
    .map((m) => (typeof m.content === "string" ? m.content : JSON.stringify(m.content)))
    .join("\n");
}
