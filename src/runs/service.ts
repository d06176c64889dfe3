import type { Redis } from "ioredis";
import { AideError, UsageError } from "../errors.ts";
import type { Logger } from "../logger.ts";
import { readEvents, type EventEntry } from "../queue/events.ts";
import { signalSteer } from "../queue/steering.ts";
import type { SteerCommand } from "../search/types.ts";
import { TERMINAL_STATUSES, type Store } from "../store/index.ts";
import type { ListRunsQuery, Person, RunOptions, RunOrigin, RunRecord, SteerRecord } from "../store/types.ts";
import { checkRunOptions, moreStepsProblem } from "./run-options.ts";
import { isPrivilegedSteer, privilegedVerb } from "./steer-parse.ts";

/** Someone asking for something: who, and whether the platform says they administer the channel or server. */
export interface Actor extends Person {
  /** Configured admin or platform admin role (e.g. Manage Server). */
  isAdmin?: boolean;
}

export class PermissionError extends AideError {
  constructor(userMessage: string) {
    super("permission", userMessage);
  }
}

export interface StartRequest {
  task: string;
  /** http(s) links, or absolute local directories (terminal submissions on the runner's machine). */
  links: string[];
  options: RunOptions;
  actor: Actor;
  origin: RunOrigin;
  admins?: string[];
}

export interface RunStatusReport {
  run: RunRecord;
  events: EventEntry[];
}

const HTTP_LINK = /^https?:\/\/\S+$/i;
const LINK = /^(https?:\/\/\S+|\/\S*)$/i;

/**
 * The one API that bots, the CLI and tests use to start, steer, stop and look at runs. Saves first, then
 * signals: a run is in MongoDB before its job is queued, a steering message before the runner is woken.
 */
export class RunService {
  constructor(
    private readonly deps: {
      store: Store;
      redis: Redis;
      /** Queues the run's job (BullMQ in production). */
      enqueue: (runId: string) => Promise<void>;
      logger: Logger;
    },
  ) {}

  async start(req: StartRequest): Promise<RunRecord> {
    const task = req.task.trim();
    if (!task) throw new UsageError('A run needs a task description, e.g. "Predict churn; metric ROC AUC".');
    if (req.links.length === 0)
      throw new UsageError("A run needs data: give at least one link to a CSV, zip or tar file.");
    for (const link of req.links) {
      // Local paths are read on the runner's machine: only someone at its terminal may name them, never a chat user.
      const allowed = req.actor.platform === "cli" ? LINK.test(link) : HTTP_LINK.test(link);
      if (!allowed) throw new UsageError(`Not a data link: ${link} (use http:// or https:// links).`);
    }
    // Whoever asks (chat, CLI, a test), a run's options are within the limits of the one schema.
    const options = checkRunOptions(req.options);
    if ("problem" in options) throw new UsageError(options.problem);
    const run = await this.deps.store.createRun({
      task,
      links: req.links,
      options: options.value,
      owner: { platform: req.actor.platform, userId: req.actor.userId, displayName: req.actor.displayName },
      origin: req.origin,
      admins: req.admins ?? [],
      followers: [req.actor.userId],
    });
    if (req.origin.thread) {
      await this.deps.store.bindThread({
        platform: req.origin.platform,
        channel: req.origin.channel,
        thread: req.origin.thread,
        runId: run.id,
      });
    }
    await this.deps.enqueue(run.id);
    this.deps.logger.info({ runId: run.id, owner: run.owner.userId, platform: run.owner.platform }, "run queued");
    return run;
  }

  /** Saves a steering command and wakes the run's worker. Stop, pause, resume and budget changes need the starter or an admin. */
  async steer(runId: string, command: SteerCommand, actor: Actor): Promise<SteerRecord> {
    const run = await this.deps.store.requireRun(runId);
    if (TERMINAL_STATUSES.includes(run.status))
      throw new UsageError(`Run ${runId} has already ${run.status === "finished" ? "finished" : run.status}.`);
    if (isPrivilegedSteer(command) && !this.mayControl(run, actor)) {
      throw new PermissionError(
        `Only the run's starter (${run.owner.displayName}) or an admin can ${privilegedVerb(command)}.`,
      );
    }
    if (command.kind === "more") {
      const problem = moreStepsProblem(command.steps, run.progress.totalSteps);
      if (problem) throw new UsageError(problem);
    }
    const record = await this.deps.store.addSteer(runId, command, {
      platform: actor.platform,
      userId: actor.userId,
      displayName: actor.displayName,
    });
    if (command.kind === "stop" && run.status === "queued") {
      // Nobody drives the run yet: stop it here; a worker that picks the job up later finds it stopped.
      await this.deps.store
        .transition(runId, ["queued"], "stopped", { finishReason: "stopped" })
        .catch(() => undefined);
    }
    await signalSteer(this.deps.redis, runId);
    return record;
  }

  stop(runId: string, actor: Actor): Promise<SteerRecord> {
    return this.steer(runId, { kind: "stop" }, actor);
  }

  async status(runId: string, eventCount = 10): Promise<RunStatusReport> {
    const run = await this.deps.store.requireRun(runId);
    const events = await readEvents(this.deps.redis, runId, undefined, eventCount);
    return { run, events };
  }

  list(query: ListRunsQuery = {}): Promise<RunRecord[]> {
    return this.deps.store.listRuns(query);
  }

  mayControl(run: RunRecord, actor: Actor): boolean {
    if (actor.isAdmin) return true;
    if (run.owner.platform === actor.platform && run.owner.userId === actor.userId) return true;
    return run.admins.includes(actor.userId);
  }
}
