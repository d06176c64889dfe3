/**
 * SlackSurface: the ChatSurface of Slack. It only renders (blocks.ts) and delivers, within Slack's limits:
 * - post: chat.postMessage (thread_ts for thread replies), then the message's files with filesUploadV2 into the
 *   same thread. Posts are queued per channel, so a thread reads in the order messages were posted even when a
 *   call is rate limited and retried.
 * - edit: chat.update, coalesced per message: at most one edit per `editIntervalMs` (1 s), the latest content
 *   wins. An edit that can go out at once is awaited (the caller sees a failure); one that must wait is parked
 *   and delivered (and retried) by the coalescer while the caller carries on (pacing.ts).
 * - openThread: a Slack thread is its root message's ts.
 * - ephemeral: chat.postEphemeral (in the thread when there is one).
 * The Web API client retries 429 (honouring Retry-After), 5xx and network errors (client.ts); what still fails is
 * logged here and rethrown, so the caller (the bridge) can keep the event and deliver it later.
 */
import type { webApi } from "@slack/bolt";
import type { Logger } from "../../src/logger.ts";
import type { ChatFile, ChatMessage, ChatSurface, MessageRef, ThreadRef } from "../../src/runs/chat/types.ts";
import { renderMessage, type RenderedMessage } from "./blocks.ts";
import { describeSlackError } from "./client.ts";
import { EditCoalescer, SerialQueues } from "./pacing.ts";

export interface SlackSurfaceOptions {
  client: webApi.WebClient;
  logger: Logger;
  /** Least time between two edits of one message, in ms (Slack allows about one per second). */
  editIntervalMs?: number;
}

interface EditTarget {
  channel: string;
  ts: string;
  rendered: RenderedMessage;
}

export class SlackSurface implements ChatSurface {
  readonly platform = "slack" as const;
  private readonly client: webApi.WebClient;
  private readonly logger: Logger;
  private readonly posts = new SerialQueues();
  private readonly edits: EditCoalescer<EditTarget>;

  constructor(opts: SlackSurfaceOptions) {
    this.client = opts.client;
    this.logger = opts.logger.child({ component: "slack-surface" });
    this.edits = new EditCoalescer<EditTarget>({
      minIntervalMs: opts.editIntervalMs ?? 1000,
      send: (_key, target) => this.update(target),
      onError: (key, err, gaveUp) =>
        this.logger[gaveUp ? "error" : "warn"]({ message: key, reason: describeSlackError(err) }, gaveUp ? "slack: gave up on a status card edit" : "slack: a status card edit failed; retrying with the latest content"),
    });
  }

  post(where: ThreadRef, message: ChatMessage): Promise<MessageRef> {
    const rendered = renderMessage(message);
    return this.posts.run(`post:${where.channel}`, async () => {
      let ts: string;
      try {
        const res = await this.client.chat.postMessage({
          channel: where.channel,
          text: rendered.text,
          blocks: rendered.blocks as never,
          ...(where.thread ? { thread_ts: where.thread } : {}),
          unfurl_links: false,
          unfurl_media: false,
        });
        if (!res.ts) throw new Error("chat.postMessage answered without a ts");
        ts = res.ts;
      } catch (err) {
        this.logger.error({ channel: where.channel, thread: where.thread, reason: describeSlackError(err) }, "slack: posting a message failed after retries");
        throw err;
      }
      const thread = where.thread ?? ts;
      if (message.files?.length) await this.uploadOrReport(where.channel, thread, message.files);
      return { platform: "slack", channel: where.channel, messageId: ts, thread };
    });
  }

  edit(ref: MessageRef, message: ChatMessage): Promise<void> {
    return this.edits.submit(`${ref.channel}:${ref.messageId}`, { channel: ref.channel, ts: ref.messageId, rendered: renderMessage(message) });
  }

  async openThread(ref: MessageRef, _name: string): Promise<string> {
    // A Slack thread needs nothing created: replies name the root message's ts.
    return ref.thread ?? ref.messageId;
  }

  async ephemeral(where: ThreadRef, userId: string, message: ChatMessage): Promise<void> {
    const rendered = renderMessage(message);
    try {
      await this.client.chat.postEphemeral({
        channel: where.channel,
        user: userId,
        text: rendered.text,
        blocks: rendered.blocks as never,
        ...(where.thread ? { thread_ts: where.thread } : {}),
      });
    } catch (err) {
      this.logger.warn({ channel: where.channel, user: userId, reason: describeSlackError(err) }, "slack: ephemeral message failed");
      throw err;
    }
  }

  /** Uploads files into a thread (one filesUploadV2 call for all of them). Queued with the channel's posts. */
  upload(where: ThreadRef & { thread: string }, files: ChatFile[]): Promise<void> {
    return this.posts.run(`post:${where.channel}`, () => this.uploadFiles(where.channel, where.thread, files));
  }

  /** Sends pending edits now and waits for queued posts. */
  async flush(): Promise<void> {
    await this.edits.flush();
    await this.posts.idle();
  }

  /** Flushes, then refuses further edits. */
  async close(): Promise<void> {
    await this.flush().catch(() => undefined);
    this.edits.close();
  }

  private async update(target: EditTarget): Promise<void> {
    try {
      await this.client.chat.update({ channel: target.channel, ts: target.ts, text: target.rendered.text, blocks: target.rendered.blocks as never });
    } catch (err) {
      this.logger.error({ channel: target.channel, ts: target.ts, reason: describeSlackError(err) }, "slack: editing a message failed after retries");
      throw err;
    }
  }

  private async uploadFiles(channel: string, thread: string, files: ChatFile[]): Promise<void> {
    await this.client.filesUploadV2({
      channel_id: channel,
      thread_ts: thread,
      file_uploads: files.map((f) => ({ file: f.content, filename: f.name, title: f.title ?? f.name })),
    });
  }

  /**
   * The message itself is posted; its files follow. Rethrowing here would make the caller post the message again,
   * so a failed upload is logged and said in the thread instead.
   */
  private async uploadOrReport(channel: string, thread: string, files: ChatFile[]): Promise<void> {
    try {
      await this.uploadFiles(channel, thread, files);
    } catch (err) {
      const names = files.map((f) => f.name).join(", ");
      this.logger.error({ channel, thread, files: names, reason: describeSlackError(err) }, "slack: uploading files failed after retries");
      await this.client.chat
        .postMessage({ channel, thread_ts: thread, text: `Could not attach ${names}: Slack refused the upload. The files are kept with the run (\`aide export\`).` })
        .catch((e: unknown) => this.logger.error({ channel, thread, reason: describeSlackError(e) }, "slack: could not report the failed upload"));
    }
  }
}
