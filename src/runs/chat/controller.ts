/**
 * The platform-neutral handler of chat requests (slash commands, mentions, thread replies, buttons). Platform
 * adapters (bots/slack, bots/discord) translate their input into a `ChatRequest`, call `handle`, and post the
 * returned message (if any) as the answer to the requester: in the request's thread for replies, as the command
 * response for commands, next to the card for buttons. Refusals and input errors are sent by the controller
 * itself through `surface.ephemeral` (only the requester sees them), and then `handle` returns null.
 *
 * Start ordering: the root status card is posted first (top-level, in the channel), the thread is opened on it,
 * then the run is saved and queued with that thread as its origin and bound with the card's message id, and the
 * card is edited to show the run. The bridge (bridge.ts) keeps the card and the thread up to date from then on.
 */
import { chartForMessage } from "../../charts/metric-chart.ts";
import type { Config } from "../../config.ts";
import { AideError, UsageError, userMessageOf } from "../../errors.ts";
import type { Logger } from "../../logger.ts";
import type { SteerCommand, StepAction } from "../../search/types.ts";
import type { Store } from "../../store/store.ts";
import { TERMINAL_STATUSES } from "../../store/store.ts";
import type { Platform, RunRecord, RunStatus } from "../../store/types.ts";
import { formatBytes } from "../../util/bytes.ts";
import { truncate } from "../../util/text.ts";
import { PermissionError, type Actor, type RunService } from "../service.ts";
import { parseCommand, parseReply, type StartCommand } from "./commands.ts";
import {
  bestMessage,
  chartMessage,
  helpMessage,
  noticeMessage,
  runListMessage,
  runningText,
  startingCard,
  statusCard,
  steerQueued,
  treeMessage,
} from "./messages.ts";
import { TreeLinks } from "./tree-links.ts";
import type {
  ButtonAction,
  ChatAttachment,
  ChatMessage,
  ChatRequest,
  ChatSurface,
  ChatUser,
  MessageRef,
  ThreadRef,
} from "./types.ts";

const ACTIVE: RunStatus[] = ["queued", "running", "paused"];

export interface ChatControllerDeps {
  runs: RunService;
  store: Store;
  surface: ChatSurface;
  logger: Logger;
  /** chat.* (defaults, limits), coder and execution.timeoutSec. Admins are the adapters' (ChatUser.isAdmin). */
  config: Config;
}

/** The thread a run lives in on a platform, and its status card. */
export function cardRef(binding: {
  platform: Platform;
  channel: string;
  thread: string;
  rootMessageId: string | null;
}): MessageRef | null {
  if (!binding.rootMessageId) return null;
  return {
    platform: binding.platform,
    channel: binding.channel,
    messageId: binding.rootMessageId,
    thread: binding.thread,
  };
}

export class ChatController {
  private readonly log: Logger;
  private readonly links: TreeLinks;

  constructor(private readonly deps: ChatControllerDeps) {
    this.log = deps.logger.child({ component: "chat-controller", platform: deps.surface.platform });
    this.links = new TreeLinks(deps.store, deps.config.web, this.log);
  }

  /** The status card with what is running now and the tree page link. */
  private async card(run: RunRecord): Promise<ChatMessage> {
    return statusCard(run, await this.runningNow(run), await this.links.of(run.id));
  }

  /**
   * Handles one request. Returns the answer for the requester, or null when the answer was already sent
   * (ephemeral refusals, a button's acknowledgement posted in the run's thread) or the request is not ours
   * (a reply in a thread that belongs to no run). Never throws for bad input or refused permissions.
   */
  async handle(req: ChatRequest): Promise<ChatMessage | null> {
    try {
      switch (req.kind) {
        case "command":
          return await this.command(req);
        case "reply":
          return await this.reply(req);
        case "button":
          return await this.button(req);
      }
    } catch (err) {
      if (err instanceof AideError) {
        // Expected problems (permission, usage, unknown run): a short sentence to the requester only.
        if (!(err instanceof PermissionError) && !(err instanceof UsageError))
          this.log.warn({ err, kind: req.kind }, "chat request failed");
        await this.refuse(req.where, req.user, err.userMessage);
        return null;
      }
      this.log.error({ err, kind: req.kind }, "chat request failed unexpectedly");
      await this.refuse(
        req.where,
        req.user,
        "Something went wrong on our side; the error was logged. Please try again.",
      );
      return null;
    }
  }

  // ------------------------------------------------------------------------------------------ commands

  private async command(req: Extract<ChatRequest, { kind: "command" }>): Promise<ChatMessage | null> {
    let parsed = parseCommand(req.text);
    // A mention with attached files ("@aide predict churn, metric AUC" + files) starts a run without saying "start".
    if (parsed.kind === "invalid" && parsed.problem.startsWith("Unknown command") && req.attachments?.length) {
      parsed = parseCommand(`start ${req.text.trim().replace(/^\/?aide\b\s*/i, "")}`);
    }
    switch (parsed.kind) {
      case "help":
        return helpMessage(undefined, { platform: this.deps.surface.platform });
      case "invalid":
        await this.ephemeral(
          req.where,
          req.user,
          helpMessage(parsed.problem, { platform: this.deps.surface.platform }),
        );
        return null;
      case "start":
        return this.start(req, parsed);
      case "list": {
        const runs = await this.deps.runs.list({ platform: req.where.platform, channel: req.where.channel, limit: 15 });
        return runListMessage(runs);
      }
      case "status": {
        if (parsed.runId) {
          const run = await this.deps.store.requireRun(parsed.runId);
          return this.card(run);
        }
        const active = await this.deps.runs.list({
          platform: req.where.platform,
          channel: req.where.channel,
          status: ACTIVE,
          limit: 15,
        });
        if (active.length === 0)
          return noticeMessage("No active runs in this channel. `/aide list` shows earlier ones.");
        if (active.length === 1) return this.card(active[0]!);
        return runListMessage(active, "Active runs in this channel");
      }
      case "stop": {
        const run = await this.deps.store.requireRun(parsed.runId);
        await this.deps.runs.stop(run.id, this.actor(req.user, req.where.platform));
        await this.refreshCardIfEnded(run.id);
        return noticeMessage(
          `Stopping run \`${run.id}\` after its current step; the best solution so far will be delivered in its thread.`,
        );
      }
    }
  }

  private async start(req: Extract<ChatRequest, { kind: "command" }>, cmd: StartCommand): Promise<ChatMessage | null> {
    const { config, surface, store } = this.deps;
    const links = [...cmd.links];
    const maxBytes = config.chat.maxAttachmentMb * 1024 * 1024;
    for (const a of req.attachments ?? []) {
      const problem = attachmentProblem(a, maxBytes, config.chat.maxAttachmentMb);
      if (problem) {
        await this.ephemeral(req.where, req.user, helpMessage(problem, { platform: this.deps.surface.platform }));
        return null;
      }
      if (!links.includes(a.url)) links.push(a.url);
    }
    const problem = !cmd.task
      ? 'A run needs a task description, e.g. "Predict churn; metric ROC AUC".'
      : links.length === 0
        ? "A run needs data: give at least one http(s) link to a CSV, zip or tar file, or attach the files."
        : null;
    if (problem) {
      await this.ephemeral(req.where, req.user, helpMessage(problem, { platform: this.deps.surface.platform }));
      return null;
    }
    const actor = this.actor(req.user, req.where.platform);
    const channel: ThreadRef = { platform: req.where.platform, channel: req.where.channel, thread: null };

    // 1. The root card, top-level in the channel; 2. its thread; 3. the run, with the thread as origin.
    const root = await surface.post(channel, startingCard(cmd.task, req.user.displayName || req.user.userId));
    let thread: string;
    let run: RunRecord;
    try {
      thread = await surface.openThread(root, threadName(cmd.task));
      run = await this.deps.runs.start({
        task: cmd.task,
        links,
        options: {
          steps: cmd.steps ?? config.chat.defaultSteps,
          parallel: cmd.parallel ?? config.chat.defaultParallel,
          coder: config.coder,
          metric: cmd.metric ?? null,
          timeoutSec: cmd.timeoutSec ?? config.execution.timeoutSec,
          budgetUsd: null,
          holdout: cmd.holdout === undefined ? config.search.holdout : cmd.holdout,
        },
        actor,
        origin: { platform: req.where.platform, channel: req.where.channel, thread },
      });
    } catch (err) {
      await surface
        .edit(
          root,
          noticeMessage(
            `Could not start the run: ${err instanceof AideError ? err.userMessage : "an internal error (logged)"}`,
          ),
        )
        .catch((e: unknown) => this.log.warn({ err: e }, "could not edit the root card after a failed start"));
      throw err;
    }
    await store.bindThread({
      platform: req.where.platform,
      channel: req.where.channel,
      thread,
      runId: run.id,
      rootMessageId: root.messageId,
    });
    const card: MessageRef = { ...root, thread };
    await surface
      .edit(card, statusCard(run, undefined, await this.links.of(run.id)))
      .catch((err: unknown) => this.log.warn({ err, runId: run.id }, "could not edit the status card"));
    this.log.info({ runId: run.id, channel: req.where.channel, steps: run.options.steps }, "run started from chat");
    return noticeMessage(
      `Started run \`${run.id}\`: ${run.options.steps} steps, ${links.length} data source${links.length === 1 ? "" : "s"}. Progress and results in the thread; reply there to steer.`,
    );
  }

  // ------------------------------------------------------------------------------------------ replies

  private async reply(req: Extract<ChatRequest, { kind: "reply" }>): Promise<ChatMessage | null> {
    const { store } = this.deps;
    const run = await store.findRunByThread(req.where.platform, req.where.channel, req.where.thread);
    if (!run) return null;
    const parsed = parseReply(req.text, req.user.displayName || req.user.userId);
    switch (parsed.kind) {
      case "help":
        return helpMessage(undefined, { thread: true, platform: this.deps.surface.platform });
      case "invalid":
        await this.ephemeral(
          req.where,
          req.user,
          helpMessage(parsed.problem, { thread: true, platform: this.deps.surface.platform }),
        );
        return null;
      case "status":
        return this.card(run);
      case "best": {
        const node = run.progress.bestNodeId !== null ? await store.getNode(run.id, run.progress.bestNodeId) : null;
        return bestMessage(node, run, { snippetLines: this.deps.config.chat.snippetLines });
      }
      case "tree": {
        const journal = await store.loadJournal(run.id);
        const message = treeMessage(journal, {
          bestId: run.progress.bestNodeId,
          treeUrl: await this.links.of(run.id),
          ended: TERMINAL_STATUSES.includes(run.status),
        });
        const chart = await chartForMessage(run.id, journal, this.log);
        return chart
          ? { ...message, files: [...(message.files ?? []), ...(chartMessage(run, chart).files ?? [])] }
          : message;
      }
      case "chart":
        return chartMessage(
          run,
          await chartForMessage(run.id, await store.loadJournal(run.id), this.log),
          await this.links.of(run.id),
        );
      case "follow":
        await store.addFollower(run.id, req.user.userId);
        return noticeMessage(
          `${req.user.displayName || "You"} will be mentioned on new bests${formatInterval(this.deps.config.chat.notifyIntervalSec)} and in the final summary.`,
        );
      case "unfollow":
        await store.removeFollower(run.id, req.user.userId);
        return noticeMessage(`${req.user.displayName || "You"} will no longer be mentioned for this run.`);
      case "verbose":
        await store.setVerbose(run.id, parsed.on);
        return noticeMessage(
          parsed.on
            ? "Verbose on: a line per finished step will be posted here."
            : "Verbose off: only new bests and steering are posted here.",
        );
      case "steer":
        await this.deps.runs.steer(run.id, parsed.command, this.actor(req.user, req.where.platform));
        await this.refreshCardIfEnded(run.id);
        return steerQueued(parsed.command);
    }
  }

  // ------------------------------------------------------------------------------------------ buttons

  private async button(req: Extract<ChatRequest, { kind: "button" }>): Promise<ChatMessage | null> {
    const command = buttonCommand(req.action);
    const run = await this.deps.store.requireRun(req.runId);
    await this.deps.runs.steer(run.id, command, this.actor(req.user, req.where.platform));
    await this.refreshCardIfEnded(run.id);
    const who = req.user.displayName || req.user.userId;
    const verb =
      req.action === "pause"
        ? "asked to pause"
        : req.action === "resume"
          ? "resumed"
          : req.action === "stop"
            ? "asked to stop"
            : "added 10 steps to";
    const msg = noticeMessage(
      `${who} ${verb} the run${req.action === "pause" || req.action === "stop" ? " (after the current step)" : ""}.`,
    );
    // The acknowledgement belongs in the run's thread, not next to the card in the channel.
    const binding = (await this.deps.store.bindingsForRun(run.id)).find((b) => b.platform === req.where.platform);
    if (!binding) return msg;
    await this.deps.surface.post({ platform: binding.platform, channel: binding.channel, thread: binding.thread }, msg);
    return null;
  }

  // ------------------------------------------------------------------------------------------ helpers

  /** Who acts: admin or not as the platform adapter decided. */
  private actor(user: ChatUser, platform: Platform): Actor {
    return { platform, userId: user.userId, displayName: user.displayName, isAdmin: user.isAdmin };
  }

  /** A run stopped while still queued ends without any runner event: its card is updated here. */
  private async refreshCardIfEnded(runId: string): Promise<void> {
    try {
      const run = await this.deps.store.requireRun(runId);
      if (!TERMINAL_STATUSES.includes(run.status) || run.startedAt !== null) return;
      for (const b of await this.deps.store.bindingsForRun(runId)) {
        const ref = b.platform === this.deps.surface.platform ? cardRef(b) : null;
        if (ref) await this.deps.surface.edit(ref, statusCard(run, undefined, await this.links.of(run.id)));
      }
    } catch (err) {
      this.log.warn({ err, runId }, "could not refresh the status card");
    }
  }

  /** What is running now, from the run's recent events (steps started and not finished). */
  private async runningNow(run: RunRecord): Promise<string | undefined> {
    if (run.status !== "running") return undefined;
    try {
      const { events } = await this.deps.runs.status(run.id, 30);
      const open = new Map<number, StepAction>();
      for (const { event } of events) {
        if (event.type === "step.started") open.set(event.nodeId, event.action);
        else if (event.type === "step.finished") open.delete(event.node.id);
        else if (event.type === "run.started") open.clear();
      }
      return runningText([...open].map(([nodeId, action]) => ({ nodeId, action })));
    } catch (err) {
      this.log.debug({ err, runId: run.id }, "could not read recent events");
      return undefined;
    }
  }

  private async refuse(where: ThreadRef, user: ChatUser, text: string): Promise<void> {
    await this.ephemeral(where, user, noticeMessage(text));
  }

  private async ephemeral(where: ThreadRef, user: ChatUser, msg: ChatMessage): Promise<void> {
    try {
      await this.deps.surface.ephemeral(where, user.userId, msg);
    } catch (err) {
      this.log.warn({ err: userMessageOf(err) }, "could not send an ephemeral message");
    }
  }
}

function buttonCommand(action: ButtonAction): SteerCommand {
  switch (action) {
    case "pause":
      return { kind: "pause" };
    case "resume":
      return { kind: "resume" };
    case "stop":
      return { kind: "stop" };
    case "more10":
      return { kind: "more", steps: 10 };
  }
}

function attachmentProblem(a: ChatAttachment, maxBytes: number, maxMb: number): string | null {
  if (!/^https?:\/\//i.test(a.url)) return `The attachment ${a.name} has no http(s) link the runner can fetch.`;
  if (a.size !== undefined && a.size > maxBytes)
    return `The attachment ${a.name} is ${formatBytes(a.size)}; attachments up to ${maxMb} MB are accepted (use a link for larger data).`;
  return null;
}

function threadName(task: string): string {
  const line = task.replace(/\s+/g, " ").trim();
  const name = `AIDE: ${line}`;
  return truncate(name, 90);
}

/** " (at most once every 5 min)", or nothing without a throttle. */
function formatInterval(sec: number): string {
  if (sec <= 0) return "";
  return ` (at most once every ${sec % 60 === 0 ? `${sec / 60} min` : `${sec} s`})`;
}
