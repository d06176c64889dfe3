/**
 * The Bolt app: how requests arrive (HTTP with signature checks, or Socket Mode) and what each kind of request
 * becomes. Every handler acknowledges first (Slack wants an answer within 3 s), then translates the payload into a
 * ChatRequest for the controller, and delivers the controller's answer:
 * - `/aide ...`: the answer goes to the requester only (the command's response_url; else chat.postEphemeral);
 * - a mention of the bot: a command too (attached files become attachments); the answer is posted under it;
 * - a reply in a thread: the answer is posted in the thread (threads of no run are ignored: the controller returns null);
 * - buttons `aide_pause|resume|stop|more10` (value: run id): the answer goes to the clicker only.
 * Redelivered events (X-Slack-Retry-Num) and repeated triggers are dropped by a Redis SET NX on the event id or
 * trigger id before any handler runs.
 */
import { App, HTTPReceiver, LogLevel } from "@slack/bolt";
import type { Logger } from "../../src/logger.ts";
import type { ChatMessage, ChatRequest } from "../../src/runs/chat/types.ts";
import { actionFromId, ACTION_PREFIX, renderMessage } from "./blocks.ts";
import { describeSlackError, slackClientOptions, slackLogger } from "./client.ts";
import { dedupeKey, type RequestDedupe } from "./dedupe.ts";
import type { SlackSurface } from "./surface.ts";
import {
  buttonRequest,
  commandRequest,
  isHumanMessage,
  isThreadReply,
  mentionRequest,
  mentions,
  replyRequest,
  slackWhere,
  type SlackMessageEvent,
} from "./translate.ts";
import type { SlackUsers } from "./users.ts";

/** Where commands, events and interactivity arrive in HTTP mode (Bolt's default). */
export const SLACK_EVENTS_PATH = "/slack/events";

export type SlackMode = { kind: "http"; signingSecret: string; port: number } | { kind: "socket"; appToken: string };

export interface SlackAppOptions {
  botToken: string;
  mode: SlackMode;
  /** Web API base URL; empty: https://slack.com/api/ (SLACK_API_URL). */
  apiUrl?: string;
  logger: Logger;
}

/** A Bolt App without handlers; `app.client` is the Web API client the surface uses. */
export function createSlackApp(opts: SlackAppOptions): App {
  const clientOptions = slackClientOptions({ apiUrl: opts.apiUrl, logger: opts.logger });
  const logger = slackLogger(opts.logger, "slack-bolt");
  const logLevel = opts.logger.isLevelEnabled("debug") ? LogLevel.DEBUG : LogLevel.INFO;
  if (opts.mode.kind === "socket") {
    return new App({
      token: opts.botToken,
      appToken: opts.mode.appToken,
      socketMode: true,
      clientOptions,
      logger,
      logLevel,
      deferInitialization: true,
    });
  }
  const receiver = new HTTPReceiver({
    signingSecret: opts.mode.signingSecret,
    endpoints: SLACK_EVENTS_PATH,
    // Answer Slack as soon as a handler acks; the work goes on after the response.
    processBeforeResponse: false,
    logger,
    logLevel,
  });
  return new App({ token: opts.botToken, receiver, clientOptions, logger, logLevel, deferInitialization: true });
}

export interface SlackHandlerDeps {
  handle: (req: ChatRequest) => Promise<ChatMessage | null>;
  surface: SlackSurface;
  users: SlackUsers;
  dedupe: RequestDedupe;
  /** Is this thread bound to a run? (A mention there is a reply to the run; elsewhere it is a command.) */
  isRunThread: (channel: string, thread: string) => Promise<boolean>;
  logger: Logger;
}

/** Wires the handlers onto an app made by createSlackApp. */
export function registerSlackHandlers(app: App, deps: SlackHandlerDeps): void {
  const log = deps.logger.child({ component: "slack-app" });

  /** Runs the controller; an unexpected throw is logged (the controller already answers expected problems). */
  const handle = async (req: ChatRequest): Promise<ChatMessage | null> => {
    try {
      return await deps.handle(req);
    } catch (err) {
      log.error({ err, kind: req.kind }, "slack: request failed");
      return null;
    }
  };
  const deliver = async (what: string, send: () => Promise<unknown>) => {
    try {
      await send();
    } catch (err) {
      log.error({ reason: describeSlackError(err) }, `slack: could not deliver the answer to a ${what}`);
    }
  };

  // Dedupe before anything else. Events are already acked by Bolt at this point; commands and actions are acked here.
  app.use(async (args) => {
    const body = args.body as unknown as Record<string, unknown>;
    const key = dedupeKey(body);
    if (key && !(await deps.dedupe.firstTime(key))) {
      const ack = (args as { ack?: () => Promise<void> }).ack;
      if (ack) await ack();
      log.info({ key, retry: args.context.retryNum ?? null }, "slack: repeated request ignored");
      return;
    }
    await args.next();
  });

  app.command("/aide", async ({ command, ack, respond }) => {
    await ack();
    const user = await deps.users.resolve(command.user_id, command.user_name);
    const answer = await handle(commandRequest(command, user));
    if (!answer) return;
    if (command.response_url) {
      const r = renderMessage(answer);
      await deliver("command", () =>
        respond({ response_type: "ephemeral", replace_original: false, text: r.text, blocks: r.blocks as never }),
      );
    } else {
      await deliver("command", () =>
        deps.surface.ephemeral(slackWhere(command.channel_id, null), command.user_id, answer),
      );
    }
  });

  app.event("app_mention", async ({ event, context }) => {
    const e = event as unknown as SlackMessageEvent;
    if (!isHumanMessage({ ...e, subtype: e.subtype === "file_share" ? undefined : e.subtype })) return;
    const user = await deps.users.resolve(e.user!);
    const botUserId = context.botUserId;
    if (isThreadReply(e) && (await deps.isRunThread(e.channel, e.thread_ts))) {
      // "@aide stop" in a run's thread is a reply to that run (the message listener skips mentions for this).
      const answer = await handle(replyRequest(e, botUserId, user));
      if (answer) await deliver("reply", () => deps.surface.post(slackWhere(e.channel, e.thread_ts), answer));
      return;
    }
    const answer = await handle(mentionRequest(e, botUserId, user));
    if (answer) await deliver("mention", () => deps.surface.post(slackWhere(e.channel, e.thread_ts ?? e.ts), answer));
  });

  app.event("message", async ({ event, context }) => {
    const e = event as unknown as SlackMessageEvent;
    if (!isHumanMessage(e) || !isThreadReply(e)) return;
    // Messages that mention the bot arrive as app_mention too, and are handled there.
    if (mentions(e.text, context.botUserId)) return;
    const user = await deps.users.resolve(e.user!);
    const answer = await handle(replyRequest(e, context.botUserId, user));
    if (answer) await deliver("reply", () => deps.surface.post(slackWhere(e.channel, e.thread_ts), answer));
  });

  app.action(new RegExp(`^${ACTION_PREFIX}`), async ({ ack, body, action }) => {
    await ack();
    if (body.type !== "block_actions") return;
    const button = action as { type: string; action_id?: string; value?: string };
    if (button.type !== "button" || !button.action_id) return;
    const which = actionFromId(button.action_id);
    const runId = button.value;
    const channel = body.channel?.id ?? body.container?.channel_id;
    if (!which || !runId || !channel) {
      log.warn({ actionId: button.action_id }, "slack: button without a run or channel ignored");
      return;
    }
    const message = body.message as { ts?: string; thread_ts?: string } | undefined;
    // The card is top-level: answers go next to it (thread null), unless the button sits inside a thread.
    const thread = message?.thread_ts && message.thread_ts !== message.ts ? message.thread_ts : null;
    const user = await deps.users.resolve(body.user.id, body.user.name ?? body.user.username);
    const answer = await handle(buttonRequest(which, runId, user, channel, thread));
    if (answer)
      await deliver("button", () => deps.surface.ephemeral(slackWhere(channel, thread), body.user.id, answer));
  });

  app.error(async (error) => {
    log.error({ err: error }, "slack: unhandled error in a listener");
  });
}
