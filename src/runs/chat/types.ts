/**
 * The platform-neutral chat model. Messages are built once here (src/runs/chat) and each platform's
 * `ChatSurface` (bots/slack, bots/discord) only renders them (Block Kit, embeds) and respects its limits.
 * Inbound requests are translated by the platform into `ChatRequest`s and handled by the platform-neutral
 * controller; platform code only translates.
 */
import type { Platform } from "../../store/types.ts";

/** What the buttons on a status card do. */
export type ButtonAction = "pause" | "resume" | "stop" | "more10";

export interface ChatButton {
  action: ButtonAction;
  label: string;
  style?: "primary" | "danger";
  /** The run the button acts on. */
  runId: string;
}

export interface ChatFile {
  name: string;
  content: Buffer;
  /** e.g. "text/x-python", "text/csv", "image/png" */
  mime: string;
  title?: string;
}

/** Parts of a message, in order. Text is light markdown: **bold**, `code`; links are `link` blocks, not markup. */
export type ChatBlock =
  | { kind: "header"; text: string }
  | { kind: "text"; text: string }
  | { kind: "fields"; fields: Array<{ label: string; value: string }> }
  /** A code snippet; `totalLines` says how long the full script is when the snippet is cut. */
  | { kind: "code"; language: string; code: string; totalLines?: number }
  | { kind: "buttons"; buttons: ChatButton[] }
  /** A small line of secondary text. */
  | { kind: "context"; text: string }
  /** A link to a web page (the run's tree page), with the words it is shown as. */
  | { kind: "link"; url: string; label: string };

export interface ChatMessage {
  /** Plain-text summary: the notification text and the fallback where blocks are not shown. */
  text: string;
  blocks: ChatBlock[];
  /** Files posted with (or right after) the message, in the same thread. */
  files?: ChatFile[];
  /** Platform user ids to mention (notify) in this message. */
  mentions?: string[];
}

/** A conversation: a channel and, inside it, a thread (Slack thread_ts of the root, Discord thread channel id). */
export interface ThreadRef {
  platform: Platform;
  channel: string;
  /** null: the channel itself (a new top-level message). */
  thread: string | null;
}

/** A posted message that can be edited. */
export interface MessageRef {
  platform: Platform;
  channel: string;
  /** Slack `ts`, Discord message id. */
  messageId: string;
  /** The thread the message lives in, or that it opened (Slack: its own ts; Discord: the thread channel id). */
  thread: string | null;
}

/** What each platform implements: post, edit and upload, respecting its own limits and rate limits. */
export interface ChatSurface {
  readonly platform: Platform;
  /** Posts a message; when `where.thread` is null a top-level message that can start a thread. */
  post(where: ThreadRef, message: ChatMessage): Promise<MessageRef>;
  /** Replaces a posted message's content (the status card). Rapid edits are coalesced (delivery.ts). */
  edit(ref: MessageRef, message: ChatMessage): Promise<void>;
  /** Turns a top-level message into a thread root, returning the thread id (Slack: the ts; Discord: a new thread). */
  openThread(ref: MessageRef, name: string): Promise<string>;
  /** A message only one user sees (refusals, help). Platforms without it post a normal reply instead. */
  ephemeral(where: ThreadRef, userId: string, message: ChatMessage): Promise<void>;
}

/** Who sent a request, as the platform tells it. */
export interface ChatUser {
  userId: string;
  displayName: string;
  /**
   * Decided by the platform adapter alone: a configured admin of that platform (slack.admins, discord.admins) or
   * a platform role that may administer (Discord Manage Server). The chat layer takes it as given.
   */
  isAdmin: boolean;
}

/** A request translated from the platform: a slash command, a mention, a thread reply or a button. */
export type ChatRequest =
  | { kind: "command"; text: string; user: ChatUser; where: ThreadRef; attachments?: ChatAttachment[] }
  | { kind: "reply"; text: string; user: ChatUser; where: ThreadRef & { thread: string } }
  | { kind: "button"; action: ButtonAction; runId: string; user: ChatUser; where: ThreadRef };

/**
 * A file a user attached. No secret travels with it: a runner that needs a token for the file's host (Slack's
 * private file URLs) gets a `headersFor` rule from the platform side (bots/slack/files.ts).
 */
export interface ChatAttachment {
  name: string;
  url: string;
  size?: number;
}

/**
 * A platform's bot as the command line runs it (bots/slack SlackBot, bots/discord DiscordBot): `start` connects
 * and starts posting run events, `stop` stops taking requests, stops the bridge and sends what is still parked.
 */
export interface ChatBot {
  readonly platform: Platform;
  start(): Promise<void>;
  stop(): Promise<void>;
}
