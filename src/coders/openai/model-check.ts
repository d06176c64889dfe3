/**
 * `aide models check`, and the same check when `aide run --coder openai`, `aide runner` and the bots start: is
 * the endpoint there, does it know the models, and what does each model take. A few tiny requests per model
 * (a plain answer, a tool call for the review model, JSON mode where tools are refused), each sent as the coder
 * would send it, so every refusal is learnt here, once, into the profiles the coder then uses. Throws a fatal
 * `ModelError` (one line for the user) when a model cannot be used at all.
 */
import type OpenAI from "openai";
import { ModelError } from "../../errors.ts";
import type { Logger } from "../../logger.ts";
import { ChatTransport, ToolsUnavailable } from "./chat-transport.ts";
import { createClient, DEFAULT_BASE_URL } from "./coder.ts";
import { displayEndpoint, isAbort, toModelError } from "./errors.ts";
import type { ModelProfile, ModelProfiles, ReasoningEffort } from "./model-profile.ts";
import { REVIEW_TOOL_NAME } from "../../search/prompts.ts";
import { REVIEW_TOOL } from "./review-answer.ts";

export interface ModelCheckOptions {
  apiKey?: string;
  baseURL?: string;
  codeModel: string;
  reviewModel: string;
  temperature: number | null;
  maxOutputTokens: number | null;
  reasoningEffort: ReasoningEffort | null;
  tools: boolean;
  stream: boolean;
  /** Per request; a check should answer quickly. */
  timeoutMs: number;
  maxRetries: number;
  profiles: ModelProfiles;
  logger: Logger;
  signal?: AbortSignal;
}

export interface ModelCheck {
  model: string;
  roles: Array<"code" | "review">;
  /** Whether the endpoint's model list names it; null when the endpoint has no list. */
  listed: boolean | null;
  /** How the review gets its verdict from this model (review model only). */
  review?: "tool call" | "JSON mode" | "JSON in words";
  /** The model answered the tool request without calling the tool (it ignores tool_choice). */
  ignoresToolChoice?: boolean;
  /** The answer carried reasoning (tokens reported, or reasoning text that aide strips). */
  reasons: boolean;
  /** The parameters aide sends this model, in words. */
  sends: string[];
  /** What the endpoint refused and aide learnt, in words. */
  learnt: string[];
  profile: ModelProfile;
}

export interface ModelCheckReport {
  endpoint: string;
  /** Models the endpoint lists (its first few), or null without a model list. */
  listed: string[] | null;
  models: ModelCheck[];
}

const PING = [{ role: "user" as const, content: "Reply with the single word OK." }];

/** The parameters a profile makes aide send, in words. */
export function describeRequest(
  profile: ModelProfile,
  o: Pick<ModelCheckOptions, "temperature" | "maxOutputTokens" | "reasoningEffort">,
): string[] {
  const sends: string[] = [];
  sends.push(
    profile.temperature && o.temperature !== null
      ? `temperature ${o.temperature}`
      : "no temperature (the model's default)",
  );
  if (o.maxOutputTokens !== null && profile.tokenLimitParam)
    sends.push(`${profile.tokenLimitParam} ${o.maxOutputTokens}`);
  else sends.push("no output limit (the server's default)");
  if (profile.reasoningEffort && o.reasoningEffort) sends.push(`reasoning_effort ${o.reasoningEffort}`);
  sends.push(
    profile.stream
      ? `streaming${profile.streamUsage ? " with token counts" : " (token counts estimated)"}`
      : "whole answers (no streaming)",
  );
  return sends;
}

async function listModels(
  client: OpenAI,
  transport: ChatTransport,
  options: ModelCheckOptions,
): Promise<string[] | null> {
  try {
    const page = await client.models.list({ signal: options.signal });
    return page.data.map((m) => m.id);
  } catch (err) {
    if (isAbort(err, options.signal)) throw err;
    const status = (err as { status?: unknown }).status;
    // Some compatible servers have no model list (or another one, e.g. Azure deployments); the requests tell.
    if (status === 404 || status === 405 || status === 400) return null;
    throw toModelError(err, transport.errorContext(options.codeModel));
  }
}

/** Checks the endpoint and both models; learns their profiles into `options.profiles`. */
export async function checkModels(options: ModelCheckOptions): Promise<ModelCheckReport> {
  const baseURL = options.baseURL ?? DEFAULT_BASE_URL;
  const log = options.logger.child({ component: "model-check" });
  const client = createClient(
    { apiKey: options.apiKey, baseURL, maxRetries: options.maxRetries, timeoutMs: options.timeoutMs },
    log,
  );
  const transport = new ChatTransport({
    client,
    profiles: options.profiles,
    baseURL,
    apiKey: options.apiKey,
    logger: log,
    temperature: options.temperature,
    maxOutputTokens: options.maxOutputTokens,
    reasoningEffort: options.reasoningEffort,
    tools: options.tools,
    stream: options.stream,
    idleTimeoutMs: options.timeoutMs,
    timeoutMs: options.timeoutMs,
    maxRetries: options.maxRetries,
  });
  const listed = await listModels(client, transport, options);
  const roles = new Map<string, Array<"code" | "review">>();
  for (const [model, role] of [
    [options.codeModel, "code"],
    [options.reviewModel, "review"],
  ] as const)
    roles.set(model, [...(roles.get(model) ?? []), role]);

  const models: ModelCheck[] = [];
  for (const [model, modelRoles] of roles) {
    const fail = (err: unknown): never => {
      if (isAbort(err, options.signal)) throw err;
      const e = err instanceof ModelError ? err : toModelError(err, transport.errorContext(model));
      // Whatever refuses even the smallest request will refuse every step's: this model cannot be used.
      throw new ModelError(e.userMessage, { detail: e.message, cause: err, fatal: true });
    };
    const ping = await transport.send({ model, messages: PING }, options.signal).catch(fail);
    let reasons = ping.tokens.reasoningTokens > 0 || ping.reasoning.length > 0;
    const check: ModelCheck = {
      model,
      roles: modelRoles,
      listed: listed === null ? null : listed.includes(model),
      reasons,
      sends: [],
      learnt: [],
      profile: transport.profile(model),
    };
    if (modelRoles.includes("review")) {
      let review: ModelCheck["review"] = "JSON in words";
      try {
        const answer = await transport.send(
          {
            model,
            messages: [
              {
                role: "user",
                content:
                  'Call the submit_review tool with is_bug false, summary "check", metric 1 and lower_is_better null.',
              },
            ],
            tools: [REVIEW_TOOL],
            toolChoice: { type: "function", function: { name: REVIEW_TOOL_NAME } },
          },
          options.signal,
        );
        review = "tool call";
        check.ignoresToolChoice = !answer.toolCalls.some((c) => c.name === REVIEW_TOOL_NAME);
        reasons ||= answer.tokens.reasoningTokens > 0;
      } catch (err) {
        if (!(err instanceof ToolsUnavailable)) fail(err);
      }
      if (review !== "tool call") {
        await transport
          .send(
            {
              model,
              messages: [{ role: "user", content: 'Answer with the JSON object {"ok": true} and nothing else.' }],
              jsonObject: true,
            },
            options.signal,
          )
          .catch(fail);
        review = transport.profile(model).jsonMode ? "JSON mode" : "JSON in words";
      }
      check.review = review;
    }
    check.reasons = reasons;
    check.profile = transport.profile(model);
    check.sends = describeRequest(check.profile, options);
    check.learnt = [...check.profile.learnt];
    models.push(check);
  }
  return { endpoint: displayEndpoint(baseURL), listed: listed === null ? null : listed.slice(0, 50), models };
}

/** The report as `aide models check` prints it. */
export function formatModelCheck(report: ModelCheckReport): string {
  const lines = [
    `Endpoint ${report.endpoint}: answers${report.listed === null ? " (it has no model list)" : `, lists ${report.listed.length} model${report.listed.length === 1 ? "" : "s"}`}.`,
  ];
  for (const m of report.models) {
    lines.push(
      "",
      `${m.model} (${m.roles.join(" and ")} model)${m.listed === false ? ", not in the endpoint's list but answers" : ""}`,
    );
    lines.push(
      `  family: ${m.profile.family}${m.reasons ? ", reasons before it answers (reasoning is kept out of plans and code, and counted)" : ""}`,
    );
    if (m.review)
      lines.push(
        `  review verdict by: ${m.review}${m.ignoresToolChoice ? " (it ignores tool_choice; the JSON in its answer is read)" : ""}`,
      );
    lines.push(`  aide sends: ${m.sends.join(", ")}`);
    for (const note of m.learnt) lines.push(`  learnt: ${note}`);
  }
  return lines.join("\n");
}

/** One line for a start-up: "gpt-5 and gpt-5-mini at https://api.openai.com/v1 answer; reviews by tool call". */
export function modelCheckLine(report: ModelCheckReport): string {
  const names = report.models.map((m) => m.model);
  const review = report.models.find((m) => m.roles.includes("review"))?.review;
  return `${names.join(" and ")} at ${report.endpoint} answer${names.length === 1 ? "s" : ""}${review ? `; reviews by ${review}` : ""}`;
}
