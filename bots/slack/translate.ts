/**
 * Slack payloads -> platform-neutral ChatRequests. Pure functions: what a slash command, a mention, a thread
 * reply or a button click means, without deciding anything about runs (the controller does that). Slack's
 * markup (`<url|label>`, `<@U1>`, `&amp;`...) ends here: the chat layer reads plain text (`slackText`).
 */
import type { ButtonAction, ChatAttachment, ChatRequest, ChatUser, ThreadRef } from "../../src/runs/chat/types.ts";

/** The fields of a slash command the bot reads. */
export interface SlashCommandPayload {
  text: string;
  channel_id: string;
  user_id: string;
  user_name?: string;
}

/** A file as Slack describes it in an event (`files` of a message or app_mention). */
export interface SlackFile {
  id?: string;
  name?: string;
  title?: string;
  size?: number;
  url_private_download?: string;
  url_private?: string;
  mode?: string;
}

/** The fields of a message / app_mention event the bot reads. */
export interface SlackMessageEvent {
  type: string;
  subtype?: string;
  channel: string;
  user?: string;
  bot_id?: string;
  text?: string;
  ts: string;
  thread_ts?: string;
  files?: SlackFile[];
}

/** Subcommands of `/aide`; anything else in a mention that carries data is read as a task to start. */
const VERBS = new Set(["help", "?", "-h", "--help", "start", "run", "list", "ls", "status", "stop"]);

/** Message subtypes that are a person writing (plain messages have none). Edits, deletions, joins are not. */
const HUMAN_SUBTYPES = new Set(["file_share", "thread_broadcast"]);

export function slackWhere(channel: string, thread: string | null): ThreadRef {
  return { platform: "slack", channel, thread };
}

/**
 * Slack's message formatting -> plain text (https://api.slack.com/reference/surfaces/formatting#retrieving-messages):
 * a link `<https://x|label>` or `<https://x>` becomes its URL, `<mailto:a@b|a@b>` its label, a user `<@U1|ada>`
 * `@ada` (`<@U1>`: `@U1`), a channel `<#C1|general>` `#general`, `<!here>` `@here`, `<!subteam^S1|@team>` and
 * `<!date^…|fallback>` their label; `&lt;` `&gt;` `&amp;` are unescaped last (a literal "<" arrives as `&lt;`, so
 * what is left in angle brackets is markup, and an unescaped "&lt;" stays "&lt;").
 */
export function slackText(text: string): string {
  const plain = text.replace(/<([^<>]*)>/g, (m, inner: string) => {
    const bar = inner.indexOf("|");
    const target = bar < 0 ? inner : inner.slice(0, bar);
    const label = bar < 0 ? "" : inner.slice(bar + 1);
    if (/^https?:\/\/\S+$/i.test(target)) return target;
    if (/^mailto:/i.test(target)) return label || target.slice("mailto:".length);
    if (target.startsWith("@")) return `@${label || target.slice(1)}`;
    if (target.startsWith("#")) return `#${label || target.slice(1)}`;
    if (target.startsWith("!")) return label || `@${target.slice(1).split("^")[0]}`;
    return m;
  });
  return plain.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}

/** Mentions a reply starts with (`<@U1> <@U2|bob> stop`): it is addressed to them; the rest is the message. */
const LEADING_MENTIONS = /^\s*(?:<@[A-Za-z0-9]+(?:\|[^<>]*)?>\s*)+/;

/** A thread reply's text for the chat layer: without the bot's mentions and the leading ones, as plain text. */
export function replyText(text: string | undefined, botUserId: string | undefined): string {
  return slackText(withoutMention(text, botUserId).replace(LEADING_MENTIONS, "")).trim();
}

export function commandRequest(cmd: SlashCommandPayload, user: ChatUser): ChatRequest {
  return { kind: "command", text: slackText(cmd.text ?? ""), user, where: slackWhere(cmd.channel_id, null) };
}

/** A message written by a person (not a bot, not an edit or deletion, not a channel join). */
export function isHumanMessage(event: SlackMessageEvent): boolean {
  if (event.bot_id || !event.user) return false;
  return event.subtype === undefined || HUMAN_SUBTYPES.has(event.subtype);
}

/** A reply inside a thread (not the thread's root message). */
export function isThreadReply(event: SlackMessageEvent): event is SlackMessageEvent & { thread_ts: string } {
  return typeof event.thread_ts === "string" && event.thread_ts !== event.ts;
}

/** Does the text mention this user (`<@U123>` or `<@U123|name>`)? */
export function mentions(text: string | undefined, userId: string | undefined): boolean {
  if (!text || !userId) return false;
  return new RegExp(`<@${userId}(?:\\|[^<>]*)?>`).test(text);
}

/** The text without mentions of the bot, trimmed. */
export function withoutMention(text: string | undefined, botUserId: string | undefined): string {
  let t = text ?? "";
  if (botUserId) t = t.replace(new RegExp(`<@${botUserId}(?:\\|[^<>]*)?>`, "g"), " ");
  return t.replace(/\s+/g, " ").trim();
}

/**
 * Files attached in Slack, as attachments for a run. Their private URLs need the bot token; the runner adds it
 * for Slack's file hosts (the `headersFor` rule of files.ts), so no secret is put into the request (or the stored run).
 */
export function attachmentsOf(files: SlackFile[] | undefined): ChatAttachment[] {
  return (files ?? []).flatMap((f) => {
    const url = f.url_private_download ?? f.url_private;
    if (!url || f.mode === "tombstone") return [];
    const a: ChatAttachment = { name: f.name ?? f.title ?? f.id ?? "file", url };
    if (typeof f.size === "number") a.size = f.size;
    return [a];
  });
}

/**
 * A mention of the bot as a command: the text after the mention. A mention that carries data (files or links)
 * but names no subcommand is a task to start ("@aide predict churn, metric AUC" + churn.csv).
 */
export function mentionCommandText(text: string, hasData: boolean): string {
  const first = (text.split(/\s+/)[0] ?? "").toLowerCase();
  if (!text || !hasData || VERBS.has(first) || /^\/?aide$/.test(first)) return text;
  return `start ${text}`;
}

export function mentionRequest(event: SlackMessageEvent, botUserId: string | undefined, user: ChatUser): ChatRequest {
  const attachments = attachmentsOf(event.files);
  const stripped = slackText(withoutMention(event.text, botUserId));
  const hasData = attachments.length > 0 || /https?:\/\//i.test(stripped);
  const req: ChatRequest = {
    kind: "command",
    text: mentionCommandText(stripped, hasData),
    user,
    where: slackWhere(event.channel, null),
  };
  if (attachments.length > 0) req.attachments = attachments;
  return req;
}

export function replyRequest(
  event: SlackMessageEvent & { thread_ts: string },
  botUserId: string | undefined,
  user: ChatUser,
): ChatRequest {
  return {
    kind: "reply",
    text: replyText(event.text, botUserId),
    user,
    where: { platform: "slack", channel: event.channel, thread: event.thread_ts },
  };
}

export function buttonRequest(
  action: ButtonAction,
  runId: string,
  user: ChatUser,
  channel: string,
  thread: string | null,
): ChatRequest {
  return { kind: "button", action, runId, user, where: slackWhere(channel, thread) };
}
