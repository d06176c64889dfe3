/**
 * A real HTTP server that speaks enough of the OpenAI wire format for tests: `POST /v1/chat/completions`
 * and `GET /v1/models`. Replies to chat completions come from a script (a queue), then from a default
 * responder. Every request is recorded (method, path, headers, parsed body, answer status) for assertions.
 *
 * Per model, `behaviours` make the fake refuse parameters and features as real providers do (with their HTTP
 * statuses and error bodies), put reasoning text where each provider puts it, cut replies at token limits, and
 * stream with server-sent events when a request asks for `stream: true`. Refusals are decided before a scripted
 * reply is taken, so a refused request does not consume the queue.
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
  /** HTTP status of the answer, set when it is sent (200 for streams); unset for dropped connections. */
  status?: number;
}

export interface FakeUsage {
  prompt_tokens: number;
  completion_tokens: number;
  /**
   * When set, `completion_tokens` is taken to include reasoning and both are sent as given. When unset, the
   * reasoning tokens of the model's behaviour (if any) are added to `completion_tokens`.
   */
  reasoning_tokens?: number;
}

/** Pacing of a streamed answer (`stream: true`); ignored for plain answers. */
export interface StreamPacing {
  /** Delay before each chunk after the first, in milliseconds (a slow model). */
  chunkDelayMs?: number;
  /** Sends this many `data:` chunks, then nothing more, keeping the connection open until either side closes it. */
  stallAfterChunks?: number;
}

/** A plain assistant message (content string as a shorthand). */
export interface ContentReply extends StreamPacing {
  content: string;
  usage?: FakeUsage;
  /** Sent as given (e.g. `"length"`); defaults to `"stop"`, or `"length"` when a token limit cut the reply. */
  finishReason?: string;
}

/** A call of one function tool; `args` as an object (sent as JSON) or a raw (possibly malformed) string. */
export interface ToolReply extends StreamPacing {
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

/** Waits before answering with `reply` (for timeout tests). */
export interface DelayedReply {
  delayMs: number;
  reply: FakeReply;
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
  /** How each model (by id, as sent in `model`) behaves; models without an entry accept everything, as before. */
  behaviours?: Record<string, ModelBehaviour>;
  /**
   * A chat request for a model that is neither in `models` nor a key of `behaviours` is answered 404 (the
   * provider's "model not found"). Always on when `provider` is `"azure"` (an unknown deployment).
   */
  strictModels?: boolean;
  /** When set, every request needs `Authorization: Bearer <apiKey>`, else the provider's 401. */
  apiKey?: string;
  /** The provider whose wording server-level errors use (bad key, unknown model); default `"openai"`. */
  provider?: FakeProvider;
}

export type FakeProvider = "openai" | "azure" | "openrouter" | "ollama" | "vllm" | "llamacpp" | "anthropic" | "gemini";

export type ReasoningEffort = "minimal" | "low" | "medium" | "high";

/**
 * What one model accepts and how it answers, emulating real providers. Every field is optional. Any entry, even
 * an empty one, makes the model honour the request's `max_completion_tokens`/`max_tokens` (cut, finish "length"),
 * report `usage.completion_tokens_details`, and refuse `stream_options` without `stream: true` (as OpenAI does).
 */
export interface ModelBehaviour extends StreamPacing {
  /** Wording and shape of this model's error bodies; defaults to the server's `provider`. */
  provider?: FakeProvider;
  /**
   * An OpenAI reasoning model (o1, o3, o4-mini, gpt-5): `temperature`/`top_p` other than 1 and `max_tokens` are
   * refused; `reasoning_effort` must be minimal|low|medium|high; hidden reasoning tokens are reported (and count
   * against `max_completion_tokens`).
   */
  reasoning?: boolean;
  /** Hidden reasoning tokens reported by a `reasoning` model; default by effort (minimal 8, low 64, medium 192, high 512). */
  reasoningTokens?: number;
  /** A `reasoning_effort` field is refused ("Unrecognized request argument supplied"). */
  noReasoningEffort?: boolean;
  /** `false`: a non-empty `tools` array is refused, worded by `provider`. */
  tools?: boolean;
  /** `"ignored"`: tools are accepted but a scripted ToolReply comes back as plain content (the JSON of its args). */
  toolChoice?: "honoured" | "ignored";
  /** `false`: a `response_format` field is refused. */
  jsonMode?: boolean;
  /** Where visible reasoning goes: `<think>…</think>` at the start of the content, or a separate message field. */
  reasoningIn?: "think-tags" | "reasoning_content" | "reasoning";
  /** The visible reasoning text; defaults to `DEFAULT_REASONING_TEXT` (which holds a fenced python snippet). */
  reasoningText?: string;
  /** The model's own output cap in tokens (about four characters each); longer replies are cut, finish `"length"`. */
  maxCompletionTokens?: number;
  /** Cuts the content after this many characters, finish `"length"`. */
  cutOffAt?: number;
  /** `false`: `"stream": true` is refused. */
  stream?: boolean;
  /** `false`: a `stream_options` field is refused. */
  streamOptions?: boolean;
  /** Error bodies are sent as Gemini's `[{"error":{"code","message","status"}}]`; default true for `"gemini"`. */
  errorBodyAsArray?: boolean;
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

/**
 * Visible reasoning sent when a behaviour sets `reasoningIn` without `reasoningText`. It holds a plan and a fenced
 * python block on purpose: a consumer that does not strip reasoning takes the wrong plan or the wrong script.
 */
export const DEFAULT_REASONING_TEXT = [
  "Okay, the task asks for a training script. Let me think before answering.",
  "Plan: a throwaway draft first, to see that the data loads.",
  "```python",
  'print("draft idea")',
  "```",
  "No, that draft trains nothing; the answer must fit a model and print the validation metric.",
].join("\n");

/** Characters per streamed content, reasoning or tool-argument piece. */
const STREAM_CHUNK_CHARS = 40;

const EFFORT_TOKENS: Record<ReasoningEffort, number> = { minimal: 8, low: 64, medium: 192, high: 512 };

/** An error as a provider words it; `body`, when set, is sent as is (before any Gemini array wrapping). */
interface Refusal {
  status: number;
  message: string;
  type?: string;
  param?: string | null;
  code?: string | null;
  body?: unknown;
}

/** The answer to one chat request, before it is sent as one JSON body or as a stream of chunks. */
interface Composed {
  id: string;
  model: string;
  content: string | null;
  reasoning?: { field: "reasoning_content" | "reasoning"; text: string };
  tool?: { id: string; name: string; arguments: string };
  finishReason: string;
  usage: Record<string, unknown>;
}

type ChatBody = {
  model?: unknown;
  messages?: Array<{ role?: string; content?: unknown }>;
  stream?: unknown;
  stream_options?: unknown;
  tools?: unknown;
  response_format?: unknown;
  temperature?: unknown;
  top_p?: unknown;
  max_tokens?: unknown;
  max_completion_tokens?: unknown;
  reasoning_effort?: unknown;
};

function chatBody(request: RecordedRequest): ChatBody {
  const body: unknown = request.body;
  return body !== null && typeof body === "object" && !Array.isArray(body) ? (body as ChatBody) : {};
}

function present(value: unknown): boolean {
  return value !== undefined && value !== null;
}

function shown(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

function googleStatus(status: number): string {
  const names: Record<number, string> = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
  };
  return names[status] ?? (status >= 500 ? "INTERNAL" : "FAILED_PRECONDITION");
}

/** The error body each provider sends for `r`. */
function providerErrorBody(provider: FakeProvider, r: Refusal): unknown {
  switch (provider) {
    case "ollama":
      // Ollama's OpenAI layer re-wraps its native errors with type "api_error", whatever the status.
      return { error: { message: r.message, type: "api_error", param: null, code: null } };
    case "llamacpp":
      return {
        error: {
          code: r.status,
          message: r.message,
          type: r.type ?? (r.status >= 500 ? "server_error" : "invalid_request_error"),
        },
      };
    case "openrouter":
      return { error: { message: r.message, code: r.status } };
    case "vllm": {
      const type = r.status === 404 ? "NotFoundError" : r.status >= 500 ? "InternalServerError" : "BadRequestError";
      return { object: "error", message: r.message, type, param: r.param ?? null, code: r.status };
    }
    case "anthropic": {
      const types: Record<number, string> = {
        400: "invalid_request_error",
        401: "authentication_error",
        403: "permission_error",
        404: "not_found_error",
        429: "rate_limit_error",
      };
      return { type: "error", error: { type: types[r.status] ?? "api_error", message: r.message } };
    }
    case "gemini":
      return { error: { code: r.status, message: r.message, status: googleStatus(r.status) } };
    default:
      return {
        error: {
          message: r.message,
          type: r.type ?? errorType(r.status),
          param: r.param ?? null,
          code: r.code ?? null,
        },
      };
  }
}

/** Gemini's OpenAI-compatible endpoint: `[{"error":{"code","message","status"}}]`. */
function asGeminiArray(body: unknown, status: number): unknown {
  if (Array.isArray(body)) return body;
  const error = body !== null && typeof body === "object" ? (body as { error?: unknown }).error : undefined;
  if (error === null || typeof error !== "object") return [body];
  const e = error as { code?: unknown; message?: unknown; status?: unknown };
  return [
    {
      error: {
        code: typeof e.code === "number" ? e.code : status,
        message: typeof e.message === "string" ? e.message : JSON.stringify(error),
        status: typeof e.status === "string" ? e.status : googleStatus(status),
      },
    },
  ];
}

/** The start and end of a key, as OpenAI shows a wrong one (never the whole key). */
function maskKey(key: string): string {
  return key.length >= 12 ? `${key.slice(0, 3)}...${key.slice(-4)}` : "***";
}

function badKey(provider: FakeProvider, sent: string | undefined): Refusal {
  switch (provider) {
    case "azure":
      return {
        status: 401,
        message: "Access denied",
        body: {
          error: {
            code: "401",
            message:
              "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.",
          },
        },
      };
    case "openrouter":
      return { status: 401, message: sent === undefined ? "No auth credentials found" : "User not found." };
    case "anthropic":
      return { status: 401, message: "invalid x-api-key" };
    case "gemini":
      return { status: 400, message: "API key not valid. Please pass a valid API key." };
    case "vllm":
      return { status: 401, message: "Unauthorized", body: { error: "Unauthorized" } };
    case "llamacpp":
      return { status: 401, message: "Invalid API Key", type: "authentication_error" };
    default:
      return {
        status: 401,
        message:
          sent === undefined
            ? "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're accessing the API from your browser and are prompted for a username and password. You can obtain an API key from https://platform.openai.com/account/api-keys."
            : `Incorrect API key provided: ${maskKey(sent)}. You can find your API key at https://platform.openai.com/account/api-keys.`,
        type: "invalid_request_error",
        param: null,
        code: "invalid_api_key",
      };
  }
}

function unknownModel(provider: FakeProvider, model: unknown): Refusal {
  if (typeof model !== "string" || model === "") {
    return { status: 400, message: "you must provide a model parameter", type: "invalid_request_error" };
  }
  switch (provider) {
    case "azure":
      return {
        status: 404,
        message: "DeploymentNotFound",
        body: {
          error: {
            code: "DeploymentNotFound",
            message:
              "The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.",
          },
        },
      };
    case "ollama":
      return { status: 404, message: `model "${model}" not found, try pulling it first` };
    case "openrouter":
      return { status: 400, message: `${model} is not a valid model ID` };
    case "vllm":
      return { status: 404, message: `The model \`${model}\` does not exist.` };
    case "anthropic":
      return { status: 404, message: `model: ${model}` };
    case "gemini":
      return {
        status: 404,
        message: `models/${model} is not found for API version v1main, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods.`,
      };
    default:
      return {
        status: 404,
        message: `The model \`${model}\` does not exist or you do not have access to it.`,
        type: "invalid_request_error",
        param: null,
        code: "model_not_found",
      };
  }
}

/** Ollama's full name of a model: `registry.ollama.ai/library/<name>:<tag>`. */
function ollamaName(model: string): string {
  const tagged = /:[^/]+$/.test(model) ? model : `${model}:latest`;
  const first = tagged.split("/")[0]!;
  if (tagged.includes("/") && first.includes(".")) return tagged;
  return `registry.ollama.ai/${tagged.includes("/") ? "" : "library/"}${tagged}`;
}

function unsupportedParameter(param: string, message: string): Refusal {
  return { status: 400, message, type: "invalid_request_error", param, code: "unsupported_parameter" };
}

function toolsRefusal(provider: FakeProvider, model: string): Refusal {
  switch (provider) {
    case "ollama":
      return { status: 400, message: `${ollamaName(model)} does not support tools` };
    case "llamacpp":
      return { status: 500, message: "tools param requires --jinja flag", type: "server_error" };
    case "openrouter":
      return {
        status: 404,
        message:
          "No endpoints found that support tool use. To learn more about provider routing, visit: https://openrouter.ai/docs/provider-routing",
      };
    case "vllm":
      return {
        status: 400,
        message: '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set',
      };
    default:
      return unsupportedParameter("tools", "tools is not supported with this model.");
  }
}

/** What a model with behaviour `b` refuses in this request body, in the order checked; null when it accepts it. */
function behaviourRefusal(b: ModelBehaviour, provider: FakeProvider, body: ChatBody, model: string): Refusal | null {
  if (b.stream === false && body.stream === true) return unsupportedParameter("stream", "stream is not supported");
  if (b.streamOptions === false && present(body.stream_options)) {
    return unsupportedParameter("stream_options", "stream_options is not supported");
  }
  if (present(body.stream_options) && body.stream !== true) {
    return {
      status: 400,
      message: "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
      type: "invalid_request_error",
      param: "stream_options",
      code: null,
    };
  }
  if (b.tools === false && Array.isArray(body.tools) && body.tools.length > 0) return toolsRefusal(provider, model);
  if (b.jsonMode === false && present(body.response_format)) {
    return unsupportedParameter("response_format", "response_format is not supported by this model");
  }
  if (b.reasoning) {
    for (const param of ["temperature", "top_p"] as const) {
      const value = body[param];
      if (present(value) && value !== 1) {
        return {
          status: 400,
          message: `Unsupported value: '${param}' does not support ${shown(value)} with this model. Only the default (1) value is supported.`,
          type: "invalid_request_error",
          param,
          code: "unsupported_value",
        };
      }
    }
    if (present(body.max_tokens)) {
      return unsupportedParameter(
        "max_tokens",
        "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.",
      );
    }
    const effort = body.reasoning_effort;
    if (present(effort) && !(typeof effort === "string" && effort in EFFORT_TOKENS)) {
      return {
        status: 400,
        message: `Invalid value: '${shown(effort)}'. Supported values are: 'minimal', 'low', 'medium', and 'high'.`,
        type: "invalid_request_error",
        param: "reasoning_effort",
        code: "invalid_value",
      };
    }
  }
  if (b.noReasoningEffort && present(body.reasoning_effort)) {
    return {
      status: 400,
      message: "Unrecognized request argument supplied: reasoning_effort",
      type: "invalid_request_error",
      param: null,
      code: null,
    };
  }
  if (provider === "anthropic" && typeof body.temperature === "number" && body.temperature > 1) {
    return { status: 400, message: "temperature: range: 0..1", type: "invalid_request_error", param: "temperature" };
  }
  return null;
}

function tokensOf(text: string): number {
  return text === "" ? 0 : estimateTokens(text);
}

function pieces(text: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += STREAM_CHUNK_CHARS) out.push(text.slice(i, i + STREAM_CHUNK_CHARS));
  return out;
}

export class FakeOpenAIServer {
  readonly requests: RecordedRequest[] = [];
  private readonly queue: FakeReply[] = [];
  private defaultReply: FakeReply;
  private server: http.Server | null = null;
  private url: string | null = null;
  private counter = 0;
  /** The request each response answers, so that its status is recorded when the head is written. */
  private readonly answering = new WeakMap<http.ServerResponse, RecordedRequest>();
  models: string[];
  modelsError: ErrorReply | undefined;
  /** Per-model behaviours (see `ModelBehaviour`); may be changed at any time. */
  behaviours: Record<string, ModelBehaviour>;
  strictModels: boolean;
  apiKey: string | undefined;
  provider: FakeProvider;

  constructor(options: FakeOpenAIServerOptions = {}) {
    this.defaultReply = options.defaultReply ?? "I have nothing to add.";
    this.models = options.models ?? ["fake-model"];
    this.modelsError = options.modelsError;
    this.behaviours = options.behaviours ?? {};
    this.strictModels = options.strictModels ?? false;
    this.apiKey = options.apiKey;
    this.provider = options.provider ?? "openai";
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

  /** Recorded chat requests for one model. */
  requestsFor(model: string): RecordedRequest[] {
    return this.chatRequests.filter((r) => chatBody(r).model === model);
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
        if (!res.headersSent) this.writeHead(res, 500, { "content-type": "application/json" });
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
    this.answering.set(res, request);

    const unauthorized = this.authRefusal(request);
    if (unauthorized) return this.sendRefusal(res, request, unauthorized);

    if (request.method === "GET" && path === "/v1/models") {
      if (this.modelsError) return this.sendError(res, this.modelsError, request);
      return this.sendJson(res, 200, {
        object: "list",
        data: this.models.map((id) => ({ id, object: "model", created: 1_700_000_000, owned_by: "fake" })),
      });
    }
    if (request.method === "POST" && path === "/v1/chat/completions") {
      // Refusals come first: a refused request leaves the queue as it was.
      const refusal = this.chatRefusal(request);
      if (refusal) return this.sendRefusal(res, request, refusal);
      const next = this.queue.length > 0 ? this.queue.shift()! : this.defaultReply;
      return this.answer(res, request, next);
    }
    return this.sendError(res, {
      status: 404,
      body: { error: { message: `No route ${request.method} ${path}`, type: "invalid_request_error" } },
    });
  }

  private behaviourOf(request: RecordedRequest): ModelBehaviour | undefined {
    const model = chatBody(request).model;
    return typeof model === "string" && Object.hasOwn(this.behaviours, model) ? this.behaviours[model] : undefined;
  }

  private authRefusal(request: RecordedRequest): Refusal | null {
    if (this.apiKey === undefined) return null;
    const header = request.headers.authorization;
    const match = typeof header === "string" ? /^Bearer\s+(.+)$/i.exec(header.trim()) : null;
    const sent = match ? match[1]! : undefined;
    if (sent === this.apiKey) return null;
    return badKey(this.behaviourOf(request)?.provider ?? this.provider, sent);
  }

  private chatRefusal(request: RecordedRequest): Refusal | null {
    const body = chatBody(request);
    const b = this.behaviourOf(request);
    const provider = b?.provider ?? this.provider;
    if (this.strictModels || this.provider === "azure") {
      const model = body.model;
      const known = typeof model === "string" && (this.models.includes(model) || Object.hasOwn(this.behaviours, model));
      if (!known) return unknownModel(provider, model);
    }
    return b ? behaviourRefusal(b, provider, body, String(body.model)) : null;
  }

  private sendRefusal(res: http.ServerResponse, request: RecordedRequest, refusal: Refusal): void {
    const b = this.behaviourOf(request);
    const provider = b?.provider ?? this.provider;
    this.sendError(
      res,
      { status: refusal.status, body: refusal.body ?? providerErrorBody(provider, refusal) },
      request,
    );
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
      this.writeHead(res, reply.status ?? 200, {
        "content-type": reply.contentType ?? "application/json",
        "content-length": String(body.length),
      });
      res.end(body);
      return;
    }
    if ("delayMs" in reply) {
      await new Promise((r) => setTimeout(r, reply.delayMs));
      return this.answer(res, request, reply.reply);
    }
    if ("status" in reply) return this.sendError(res, reply, request);

    const behaviour = this.behaviourOf(request);
    const composed = this.compose(request, reply, behaviour);
    if (chatBody(request).stream === true) {
      return this.stream(res, request, composed, {
        chunkDelayMs: reply.chunkDelayMs ?? behaviour?.chunkDelayMs,
        stallAfterChunks: reply.stallAfterChunks ?? behaviour?.stallAfterChunks,
      });
    }
    const message: Record<string, unknown> = { role: "assistant", content: composed.content };
    if (composed.reasoning) message[composed.reasoning.field] = composed.reasoning.text;
    if (composed.tool) {
      const { id, name, arguments: args } = composed.tool;
      message.tool_calls = [{ id, type: "function", function: { name, arguments: args } }];
    }
    this.sendJson(res, 200, {
      id: composed.id,
      object: "chat.completion",
      created: Math.floor(Date.now() / 1000),
      model: composed.model,
      choices: [{ index: 0, message, finish_reason: composed.finishReason, logprobs: null }],
      usage: composed.usage,
    });
  }

  /** The message, finish reason and usage of a content or tool reply, as the model's behaviour shapes them. */
  private compose(request: RecordedRequest, reply: ContentReply | ToolReply, b: ModelBehaviour | undefined): Composed {
    const body = chatBody(request);
    const promptText = (body.messages ?? [])
      .map((m) => (typeof m.content === "string" ? m.content : JSON.stringify(m.content ?? "")))
      .join("\n");
    this.counter += 1;
    const id = `chatcmpl-fake-${this.counter}`;
    const model = typeof body.model === "string" ? body.model : "fake-model";
    let content: string | null;
    let args: string | undefined;
    let toolName = "";
    let finishReason: string;
    if ("tool" in reply) {
      const json = typeof reply.args === "string" ? reply.args : JSON.stringify(reply.args);
      if (b?.toolChoice === "ignored") {
        content = json;
        finishReason = "stop";
      } else {
        content = reply.content ?? null;
        args = json;
        toolName = reply.tool;
        finishReason = "tool_calls";
      }
    } else {
      content = reply.content;
      finishReason = reply.finishReason ?? "stop";
    }
    const toolOf = (a: string) => ({ id: `call_${this.counter}`, name: toolName, arguments: a });

    if (!b) {
      const usage = reply.usage ?? {
        prompt_tokens: estimateTokens(promptText),
        completion_tokens: estimateTokens(args ?? content ?? ""),
      };
      return {
        id,
        model,
        content,
        ...(args !== undefined ? { tool: toolOf(args) } : {}),
        finishReason,
        usage: {
          prompt_tokens: usage.prompt_tokens,
          completion_tokens: usage.completion_tokens,
          total_tokens: usage.prompt_tokens + usage.completion_tokens,
          ...(usage.reasoning_tokens !== undefined
            ? { completion_tokens_details: { reasoning_tokens: usage.reasoning_tokens } }
            : {}),
        },
      };
    }

    const reasoningText = b.reasoningIn ? (b.reasoningText ?? DEFAULT_REASONING_TEXT) : "";
    const effort =
      typeof body.reasoning_effort === "string" && body.reasoning_effort in EFFORT_TOKENS
        ? (body.reasoning_effort as ReasoningEffort)
        : "medium";
    let hidden = b.reasoning && !b.reasoningIn ? (b.reasoningTokens ?? EFFORT_TOKENS[effort]) : 0;
    const thinkBlock = b.reasoningIn === "think-tags" ? `<think>\n${reasoningText}\n</think>\n\n` : "";
    let field = b.reasoningIn === "reasoning_content" || b.reasoningIn === "reasoning" ? reasoningText : "";
    let text: string | null = thinkBlock ? thinkBlock + (content ?? "") : content;
    let cut = false;

    // Token limits cover everything the model writes, in order: reasoning, content, tool arguments.
    const limits = [body.max_completion_tokens, body.max_tokens, b.maxCompletionTokens].filter(
      (v): v is number => typeof v === "number",
    );
    const tokenBudget = limits.length > 0 ? Math.max(0, Math.min(...limits)) : undefined;
    if (tokenBudget !== undefined) {
      if (hidden > tokenBudget) {
        hidden = tokenBudget;
        cut = true;
      }
      let chars = (tokenBudget - hidden) * 4;
      const take = (s: string): string => {
        if (cut) return "";
        if (s.length <= chars) {
          chars -= s.length;
          return s;
        }
        cut = true;
        const kept = s.slice(0, chars);
        chars = 0;
        return kept;
      };
      field = take(field);
      if (text !== null) text = cut ? "" : take(text);
      if (args !== undefined) args = cut ? undefined : take(args);
    }
    if (b.cutOffAt !== undefined && text !== null && text.length > b.cutOffAt) {
      text = text.slice(0, Math.max(0, b.cutOffAt));
      cut = true;
      args = undefined;
    }
    if (cut) {
      finishReason = "length";
      if (args === undefined && text === null) text = "";
    }

    const sentThink = text !== null ? text.slice(0, Math.min(thinkBlock.length, text.length)) : "";
    const answerText = text !== null ? text.slice(sentThink.length) : "";
    let reasoningTokens = hidden + tokensOf(field) + tokensOf(sentThink);
    let completionTokens = tokensOf(answerText) + tokensOf(args ?? "") + reasoningTokens;
    if (reply.usage) {
      if (reply.usage.reasoning_tokens !== undefined) reasoningTokens = reply.usage.reasoning_tokens;
      completionTokens =
        reply.usage.completion_tokens + (reply.usage.reasoning_tokens !== undefined ? 0 : reasoningTokens);
    } else if (tokenBudget !== undefined) {
      completionTokens = Math.min(completionTokens, tokenBudget);
      reasoningTokens = Math.min(reasoningTokens, completionTokens);
    }
    const promptTokens = reply.usage?.prompt_tokens ?? estimateTokens(promptText);
    return {
      id,
      model,
      content: text,
      ...(b.reasoningIn === "reasoning_content" || b.reasoningIn === "reasoning"
        ? { reasoning: { field: b.reasoningIn, text: field } }
        : {}),
      ...(args !== undefined ? { tool: toolOf(args) } : {}),
      finishReason,
      usage: {
        prompt_tokens: promptTokens,
        completion_tokens: completionTokens,
        total_tokens: promptTokens + completionTokens,
        completion_tokens_details: { reasoning_tokens: reasoningTokens },
      },
    };
  }

  /** Sends `c` as server-sent events of `chat.completion.chunk` objects, ending with `data: [DONE]`. */
  private async stream(
    res: http.ServerResponse,
    request: RecordedRequest,
    c: Composed,
    pacing: StreamPacing,
  ): Promise<void> {
    const options = chatBody(request).stream_options;
    const includeUsage =
      options !== null &&
      typeof options === "object" &&
      (options as { include_usage?: unknown }).include_usage === true;
    const base = { id: c.id, object: "chat.completion.chunk", created: Math.floor(Date.now() / 1000), model: c.model };
    const chunk = (delta: Record<string, unknown>, finishReason: string | null = null) => ({
      ...base,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
      ...(includeUsage ? { usage: null } : {}),
    });
    const events: unknown[] = [chunk({ role: "assistant", content: "" })];
    if (c.reasoning) for (const piece of pieces(c.reasoning.text)) events.push(chunk({ [c.reasoning.field]: piece }));
    for (const piece of pieces(c.content ?? "")) events.push(chunk({ content: piece }));
    if (c.tool) {
      events.push(
        chunk({
          tool_calls: [{ index: 0, id: c.tool.id, type: "function", function: { name: c.tool.name, arguments: "" } }],
        }),
      );
      for (const piece of pieces(c.tool.arguments))
        events.push(chunk({ tool_calls: [{ index: 0, function: { arguments: piece } }] }));
    }
    events.push(chunk({}, c.finishReason));
    if (includeUsage) events.push({ ...base, choices: [], usage: c.usage });
    events.push("[DONE]");

    this.writeHead(res, 200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      connection: "keep-alive",
    });
    res.flushHeaders();
    let closed = res.destroyed;
    const whenClosed = new Promise<void>((resolve) => {
      res.once("close", () => {
        closed = true;
        resolve();
      });
    });
    for (let i = 0; i < events.length; i++) {
      if (pacing.stallAfterChunks !== undefined && i >= pacing.stallAfterChunks) {
        await whenClosed; // a stalled model: the connection stays open, silent, until a side closes it
        return;
      }
      if (i > 0 && pacing.chunkDelayMs) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([new Promise((r) => (timer = setTimeout(r, pacing.chunkDelayMs))), whenClosed]);
        clearTimeout(timer);
      }
      if (closed) return;
      const event = events[i];
      res.write(`data: ${typeof event === "string" ? event : JSON.stringify(event)}\n\n`);
    }
    res.end();
  }

  private sendError(res: http.ServerResponse, reply: ErrorReply, request?: RecordedRequest): void {
    const headers: Record<string, string> = { ...(reply.headers ?? {}) };
    if (reply.retryAfter !== undefined) headers["retry-after"] = String(reply.retryAfter);
    if (reply.retryAfterMs !== undefined) headers["retry-after-ms"] = String(reply.retryAfterMs);
    let body: unknown = reply.body ?? {
      error: { message: `Fake error ${reply.status}`, type: errorType(reply.status), code: null, param: null },
    };
    // Gemini wraps every error of its models in an array (also a Gemini server's errors for any model).
    const b = request ? this.behaviourOf(request) : undefined;
    if (b?.errorBodyAsArray ?? (b?.provider ?? this.provider) === "gemini") body = asGeminiArray(body, reply.status);
    this.sendJson(res, reply.status, body, headers);
  }

  private sendJson(
    res: http.ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): void {
    const text = JSON.stringify(body);
    this.writeHead(res, status, {
      "content-type": "application/json",
      "content-length": String(Buffer.byteLength(text)),
      ...headers,
    });
    res.end(text);
  }

  private writeHead(res: http.ServerResponse, status: number, headers: Record<string, string>): void {
    const request = this.answering.get(res);
    if (request) request.status = status;
    res.writeHead(status, headers);
  }
}

/**
 * One short line per request, for assertions and failure messages, e.g.
 * `POST chat gpt-5 stream tools temperature=0.5 -> 400`.
 */
export function describeRequest(r: RecordedRequest): string {
  const body = chatBody(r) as Record<string, unknown>;
  const route = r.path === "/v1/chat/completions" ? "chat" : r.path === "/v1/models" ? "models" : r.path;
  const parts = [r.method, route];
  if (typeof body.model === "string") parts.push(body.model);
  if (body.stream === true) parts.push("stream");
  if (Array.isArray(body.tools) && body.tools.length > 0) parts.push("tools");
  for (const key of [
    "tool_choice",
    "temperature",
    "top_p",
    "max_tokens",
    "max_completion_tokens",
    "reasoning_effort",
    "stream_options",
  ]) {
    if (present(body[key])) parts.push(`${key}=${shown(body[key])}`);
  }
  const format = body.response_format;
  if (present(format)) parts.push(`response_format=${shown((format as { type?: unknown }).type ?? format)}`);
  parts.push("->", r.status === undefined ? "no answer" : String(r.status));
  return parts.join(" ");
}

/** The user message text of a recorded chat request (all user messages joined). */
export function userText(request: RecordedRequest): string {
  const messages = ((request.body ?? {}) as { messages?: Array<{ role?: string; content?: unknown }> }).messages ?? [];
  return messages
    .filter((m) => m.role === "user")
    .map((m) => (typeof m.content === "string" ? m.content : JSON.stringify(m.content)))
    .join("\n");
}
