/**
 * The Store: everything the runner and the RunService persist, on one mongoose connection of its own (never the
 * global mongoose connection). Works against a real MongoDB and the embedded server (src/store/README.md): no
 * transactions, no change streams, no reliance on unique secondary indexes; identity and idempotency come from
 * deterministic `_id`s, and every state change is a single atomic document update.
 */
import { randomBytes } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { gunzipSync, gzipSync } from "node:zlib";
import mongoose, { type Connection, type UpdateQuery } from "mongoose";
import { AideError } from "../errors.ts";
import type { Logger } from "../logger.ts";
import type { SolutionNode, SteerCommand, TokenUsage } from "../search/types.ts";
import { IllegalTransitionError, RunNotFoundError, ThreadBoundError } from "./errors.ts";
import type { PersonDoc, UsageDoc } from "./models/common.ts";
import { type RunDoc, runModel } from "./models/run.ts";
import { type SolutionNodeDoc, solutionNodeModel } from "./models/solution-node.ts";
import { type CounterDoc, counterModel, type SteerMessageDoc, steerMessageModel } from "./models/steer-message.ts";
import { type ThreadBindingDoc, threadBindingModel } from "./models/thread-binding.ts";
import { MAX_STORED_SUBMISSION_BYTES, type SubmissionDoc, submissionModel } from "./models/submission.ts";
import { type HoldoutPlanDoc, holdoutPlanModel, MAX_STORED_PLAN_BYTES } from "./models/holdout-plan.ts";
import type {
  ListRunsQuery,
  NewRun,
  Person,
  Platform,
  RunOptions,
  RunProgress,
  RunRecord,
  RunStatus,
  SteerRecord,
  ThreadBindingRecord,
} from "./types.ts";

/** Which status may follow which. Terminal states have no way out. */
export const LEGAL_TRANSITIONS: Readonly<Record<RunStatus, readonly RunStatus[]>> = {
  queued: ["running", "stopped", "failed"],
  // running -> queued: a worker shutting down hands the run back to the queue.
  running: ["paused", "finished", "stopped", "failed", "queued"],
  // paused -> finished: a paused run whose steps are all done (e.g. resumed after a crash) ends normally.
  paused: ["running", "finished", "stopped", "failed"],
  finished: [],
  stopped: [],
  failed: [],
};

export const TERMINAL_STATUSES: readonly RunStatus[] = ["finished", "stopped", "failed"];

export function isLegalTransition(from: RunStatus, to: RunStatus): boolean {
  return LEGAL_TRANSITIONS[from].includes(to);
}

export interface TransitionExtra {
  /** For `failed`. */
  error?: string;
  /** For `finished` / `stopped` (e.g. "steps", "budget", "stopped"). */
  finishReason?: string;
}

export interface ConnectOptions {
  /** Database name; default: the one in the URI, else "aide". */
  dbName?: string;
  /** How long to wait for the server. Default 10 s. */
  serverSelectionTimeoutMs?: number;
}

/** A filter or a `$set` built field by field, with dotted paths (`"origin.platform"`, `"progress.step"`). */
type Fields = Record<string, unknown>;

/** What `.select({ viewToken: 1 })` reads of a run. */
type ViewTokenDoc = Pick<RunDoc, "_id" | "viewToken">;

function isDuplicateKey(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { code?: unknown }).code === 11000;
}

/** A URI fit for logs: credentials removed. */
export function redactUri(uri: string): string {
  return uri.replace(/\/\/[^@/]*@/, "//***@");
}

function dbNameFromUri(uri: string): string | undefined {
  const m = /^mongodb(?:\+srv)?:\/\/[^/]+\/([^?]+)/.exec(uri);
  return m?.[1] ? decodeURIComponent(m[1]) : undefined;
}

export function newRunId(): string {
  // `r` + 8 base-36 characters: short enough to type in `/aide stop <run>`, never all digits (BullMQ job ids).
  const n = randomBytes(6).readUIntBE(0, 6);
  return `r${n.toString(36).padStart(8, "0").slice(-8)}`;
}

export async function connectStore(uri: string, logger: Logger, opts: ConnectOptions = {}): Promise<Store> {
  const dbName = opts.dbName ?? dbNameFromUri(uri) ?? "aide";
  const conn = mongoose.createConnection(uri, {
    dbName,
    serverSelectionTimeoutMS: opts.serverSelectionTimeoutMs ?? 10_000,
    // Indexes are created once below, where a failure is logged instead of surfacing as an unhandled event.
    autoIndex: false,
    autoCreate: false,
  });
  conn.on("error", (err) => logger.error({ err }, "mongodb connection error"));
  try {
    await conn.asPromise();
  } catch (err) {
    await conn.close().catch(() => {});
    throw new AideError("mongo", `Cannot reach MongoDB at ${redactUri(uri)}.`, {
      cause: err,
      detail: (err as Error).message,
    });
  }
  const store = new Store(conn, logger);
  await store.ensureIndexes();
  logger.debug({ uri: redactUri(uri), dbName }, "store connected");
  return store;
}

export class Store {
  readonly connection: Connection;
  private readonly logger: Logger;
  private readonly runs: ReturnType<typeof runModel>;
  private readonly nodes: ReturnType<typeof solutionNodeModel>;
  private readonly steers: ReturnType<typeof steerMessageModel>;
  private readonly counters: ReturnType<typeof counterModel>;
  private readonly bindings: ReturnType<typeof threadBindingModel>;
  private readonly submissions: ReturnType<typeof submissionModel>;
  private readonly holdoutPlans: ReturnType<typeof holdoutPlanModel>;

  constructor(connection: Connection, logger: Logger) {
    this.connection = connection;
    this.logger = logger;
    this.runs = runModel(connection);
    this.nodes = solutionNodeModel(connection);
    this.steers = steerMessageModel(connection);
    this.counters = counterModel(connection);
    this.bindings = threadBindingModel(connection);
    this.submissions = submissionModel(connection);
    this.holdoutPlans = holdoutPlanModel(connection);
  }

  /** Creates the declared indexes (idempotent). Failures are logged: lookups still work, only slower. */
  async ensureIndexes(): Promise<void> {
    for (const model of [this.runs, this.nodes, this.steers, this.counters, this.bindings, this.submissions]) {
      try {
        await model.createIndexes();
      } catch (err) {
        this.logger.warn({ err, collection: model.collection.collectionName }, "could not create indexes");
      }
    }
  }

  async close(): Promise<void> {
    await this.connection.close();
  }

  // ------------------------------------------------------------------------------------------ runs

  /** Saves a new run in status `queued`. A given id that exists already is a `run-exists` error. */
  async createRun(input: NewRun): Promise<RunRecord> {
    for (let attempt = 0; ; attempt++) {
      const id = input.id ?? newRunId();
      try {
        const doc = await this.runs.create({
          _id: id,
          task: input.task,
          links: input.links ?? [],
          options: input.options,
          status: "queued",
          owner: input.owner,
          origin: input.origin,
          admins: input.admins ?? [],
          followers: input.followers ?? [],
          progress: { totalSteps: input.options.steps },
        });
        return toRun(doc.toObject());
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
        if (input.id !== undefined)
          throw new AideError("run-exists", `A run with id ${input.id} exists already.`, { cause: err });
        if (attempt >= 4) throw err;
      }
    }
  }

  async getRun(runId: string): Promise<RunRecord | null> {
    const doc = await this.runs.findById(runId).lean<RunDoc>();
    return doc ? toRun(doc) : null;
  }

  /** Like getRun, but a missing run is a RunNotFoundError. */
  async requireRun(runId: string): Promise<RunRecord> {
    const run = await this.getRun(runId);
    if (!run) throw new RunNotFoundError(runId);
    return run;
  }

  /**
   * The run's view token (the secret in its tree page link), made on first use: 32 random bytes, base64url.
   * Of two processes asking at once, both get the one that was saved first. Null when there is no such run.
   */
  async viewToken(runId: string): Promise<string | null> {
    const existing = await this.runs.findById(runId).select({ viewToken: 1 }).lean<ViewTokenDoc>();
    if (!existing) return null;
    if (existing.viewToken) return existing.viewToken;
    await this.runs.updateOne(
      { _id: runId, viewToken: null },
      { $set: { viewToken: randomBytes(32).toString("base64url") } },
      { timestamps: false },
    );
    const doc = await this.runs.findById(runId).select({ viewToken: 1 }).lean<ViewTokenDoc>();
    return doc?.viewToken ?? null;
  }

  /** The run's view token if one was made; null for a run without one and for no such run. Never makes one. */
  async viewTokenIfSet(runId: string): Promise<string | null> {
    const doc = await this.runs.findById(runId).select({ viewToken: 1 }).lean<ViewTokenDoc>();
    return doc?.viewToken || null;
  }

  /** Newest first. */
  async listRuns(q: ListRunsQuery = {}): Promise<RunRecord[]> {
    const filter: Fields = {};
    if (q.status !== undefined) filter.status = Array.isArray(q.status) ? { $in: q.status } : q.status;
    if (q.platform !== undefined) filter["origin.platform"] = q.platform;
    if (q.channel !== undefined) filter["origin.channel"] = q.channel;
    if (q.ownerId !== undefined) filter["owner.userId"] = q.ownerId;
    const limit = Math.min(Math.max(q.limit ?? 20, 1), 200);
    const docs = await this.runs.find(filter).sort({ createdAt: -1, _id: -1 }).limit(limit).lean<RunDoc[]>();
    return docs.map(toRun);
  }

  /**
   * Atomically moves a run from one of `from` to `to`. Throws IllegalTransitionError when some `from` -> `to` is
   * never legal (without touching the database), or when the run is not in `from` now (`current` says what it
   * is: of two racing transitions exactly one wins); RunNotFoundError when there is no such run.
   */
  async transition(runId: string, from: RunStatus[], to: RunStatus, extra: TransitionExtra = {}): Promise<RunRecord> {
    if (from.length === 0 || from.some((f) => !isLegalTransition(f, to)))
      throw new IllegalTransitionError(runId, from, to);
    const now = new Date();
    const set: Fields = { status: to };
    if (TERMINAL_STATUSES.includes(to)) {
      set.finishedAt = now;
      set.worker = null;
    }
    if (to === "queued") set.worker = null;
    if (extra.error !== undefined) set.error = extra.error;
    if (extra.finishReason !== undefined) set.finishReason = extra.finishReason;
    const doc = await this.runs
      .findOneAndUpdate({ _id: runId, status: { $in: from } }, { $set: set }, { returnDocument: "after" })
      .lean<RunDoc>();
    if (!doc) {
      const current = await this.runs.findById(runId, { status: 1 }).lean<Pick<RunDoc, "_id" | "status">>();
      if (!current) throw new RunNotFoundError(runId);
      throw new IllegalTransitionError(runId, from, to, current.status);
    }
    if (to === "running" && doc.startedAt == null) {
      await this.runs.updateOne({ _id: runId, startedAt: null }, { $set: { startedAt: now } });
      doc.startedAt = now;
    }
    return toRun(doc);
  }

  /** Sets some progress fields. Returns false when there is no such run. */
  async updateProgress(runId: string, patch: Partial<RunProgress>): Promise<boolean> {
    const set: Fields = {};
    for (const [k, v] of Object.entries(patch)) if (v !== undefined) set[`progress.${k}`] = v;
    if (Object.keys(set).length === 0) return (await this.runs.exists({ _id: runId })) !== null;
    const res = await this.runs.updateOne({ _id: runId }, { $set: set });
    return res.matchedCount === 1;
  }

  /** Changes run options (e.g. `more N` raises steps). Returns the run, or throws RunNotFoundError. */
  async updateOptions(runId: string, patch: Partial<RunRecord["options"]>): Promise<RunRecord> {
    const set: Fields = {};
    for (const [k, v] of Object.entries(patch)) if (v !== undefined) set[`options.${k}`] = v;
    if (patch.steps !== undefined) set["progress.totalSteps"] = patch.steps;
    const doc = await this.runs
      .findOneAndUpdate({ _id: runId }, { $set: set }, { returnDocument: "after" })
      .lean<RunDoc>();
    if (!doc) throw new RunNotFoundError(runId);
    return toRun(doc);
  }

  async addFollower(runId: string, userId: string): Promise<boolean> {
    const res = await this.runs.updateOne({ _id: runId }, { $addToSet: { followers: userId } });
    return res.matchedCount === 1;
  }

  /** Removes a follower (no longer mentioned). Returns false when there is no such run. */
  async removeFollower(runId: string, userId: string): Promise<boolean> {
    const res = await this.runs.updateOne({ _id: runId }, { $pull: { followers: userId } });
    return res.matchedCount === 1;
  }

  /** Chat: post a line per finished step in the run's thread (`verbose on|off`). False when there is no such run. */
  async setVerbose(runId: string, verbose: boolean): Promise<boolean> {
    const res = await this.runs.updateOne({ _id: runId }, { $set: { verbose } });
    return res.matchedCount === 1;
  }

  async addAdmin(runId: string, userId: string): Promise<boolean> {
    const res = await this.runs.updateOne({ _id: runId }, { $addToSet: { admins: userId } });
    return res.matchedCount === 1;
  }

  // ------------------------------------------------------------------------------------------ workers

  /**
   * Takes a run for `workerId`: succeeds when the run is not terminal and has no worker, is already this worker's,
   * or its worker's heartbeat is older than `staleMs`. Returns the run, or null when another live worker holds it
   * (or the run is terminal or missing).
   */
  async claim(runId: string, workerId: string, staleMs: number): Promise<RunRecord | null> {
    const now = new Date();
    const stale = new Date(now.getTime() - staleMs);
    const doc = await this.runs
      .findOneAndUpdate(
        {
          _id: runId,
          status: { $in: ["queued", "running", "paused"] },
          $or: [{ worker: null }, { "worker.id": workerId }, { "worker.heartbeatAt": { $lt: stale } }],
        },
        { $set: { worker: { id: workerId, claimedAt: now, heartbeatAt: now } } },
        { returnDocument: "after" },
      )
      .lean<RunDoc>();
    return doc ? toRun(doc) : null;
  }

  /** Renews `workerId`'s claim. False: the claim is lost (another worker took the run, or it ended). */
  async heartbeat(runId: string, workerId: string): Promise<boolean> {
    const res = await this.runs.updateOne(
      { _id: runId, "worker.id": workerId },
      { $set: { "worker.heartbeatAt": new Date() } },
    );
    return res.matchedCount === 1;
  }

  /** Gives up `workerId`'s claim (no-op when it does not hold it). */
  async release(runId: string, workerId: string): Promise<boolean> {
    const res = await this.runs.updateOne({ _id: runId, "worker.id": workerId }, { $set: { worker: null } });
    return res.matchedCount === 1;
  }

  /** Running runs whose worker has not sent a heartbeat for `staleMs` (or that have no worker). */
  async staleRuns(staleMs: number): Promise<RunRecord[]> {
    const stale = new Date(Date.now() - staleMs);
    const docs = await this.runs
      .find({ status: "running", $or: [{ worker: null }, { "worker.heartbeatAt": { $lt: stale } }] })
      .sort({ createdAt: 1 })
      .lean<RunDoc[]>();
    return docs.map(toRun);
  }

  // ------------------------------------------------------------------------------------------ journal

  /**
   * Appends a node to a run's journal. Idempotent: appending the same node id again changes nothing and returns
   * `{ inserted: false }`. On first insert the run's node count and usage totals grow by the node's.
   */
  async appendNode(runId: string, node: SolutionNode): Promise<{ inserted: boolean }> {
    const _id = `${runId}:${node.id}`;
    const {
      id,
      parentId,
      step,
      stage,
      plan,
      code,
      metric,
      buggy,
      analysis,
      execTimeMs,
      exitCode,
      timedOut,
      killed,
      output,
    } = node;
    const fields = {
      runId,
      id,
      parentId,
      step,
      stage,
      plan,
      code,
      metric,
      holdout: node.holdout ?? null,
      ...(node.members ? { members: node.members } : {}),
      unranked: node.unranked ?? null,
      buggy,
      analysis,
      execTimeMs,
      exitCode,
      timedOut,
      killed,
      output,
      submissionOk: node.submissionOk,
      submissionPath: node.submissionPath,
      usage: node.usage,
      coder: node.coder,
      createdAt: new Date(node.createdAt),
      finishedAt: new Date(node.finishedAt),
    };
    let inserted: boolean;
    try {
      const res = await this.nodes.updateOne({ _id }, { $setOnInsert: fields }, { upsert: true });
      inserted = res.upsertedCount === 1;
    } catch (err) {
      if (!isDuplicateKey(err)) throw err; // two racing upserts on a real MongoDB: the other one inserted it
      inserted = false;
    }
    if (inserted) {
      await this.runs.updateOne(
        { _id: runId },
        {
          $inc: {
            "progress.nodes": 1,
            "usage.promptTokens": node.usage.promptTokens,
            "usage.completionTokens": node.usage.completionTokens,
            "usage.reasoningTokens": node.usage.reasoningTokens ?? 0,
            "usage.costUsd": node.usage.costUsd,
          },
          ...(node.usage.costUnknown ? { $set: { "usage.costUnknown": true } } : {}),
        },
      );
    }
    return { inserted };
  }

  /**
   * Keeps a node's submission file (idempotent; `replace`: the delivered one, a refit's, takes the place of the
   * node's own). Returns false, storing nothing, when the file is larger than
   * MAX_STORED_SUBMISSION_BYTES; the runner's own copy on disk stays the source then.
   */
  async saveSubmission(
    runId: string,
    nodeId: number,
    path: string,
    opts: { replace?: boolean } = {},
  ): Promise<boolean> {
    const { size } = await stat(path);
    if (size > MAX_STORED_SUBMISSION_BYTES) {
      this.logger.warn({ runId, nodeId, bytes: size }, "submission too large to keep in MongoDB");
      return false;
    }
    const csv = await readFile(path, "utf8");
    const doc = { runId, nodeId, csv, bytes: size, createdAt: new Date() };
    await this.submissions
      .updateOne({ _id: `${runId}:${nodeId}` }, opts.replace ? { $set: doc } : { $setOnInsert: doc }, { upsert: true })
      .catch((err: unknown) => {
        if (!isDuplicateKey(err)) throw err;
      });
    return true;
  }

  /**
   * Keeps a run's holdout plan (its JSON) with the run's record; the first one kept stays (a run's plan never
   * changes). Returns false, storing nothing, when it is too large even gzipped.
   */
  async saveHoldoutPlan(runId: string, json: string): Promise<boolean> {
    const gzippedJson = gzipSync(json).toString("base64");
    if (gzippedJson.length > MAX_STORED_PLAN_BYTES) {
      this.logger.warn({ runId, bytes: gzippedJson.length }, "holdout plan too large to keep in MongoDB");
      return false;
    }
    await this.holdoutPlans
      .updateOne({ _id: runId }, { $setOnInsert: { gzippedJson, createdAt: new Date() } }, { upsert: true })
      .catch((err: unknown) => {
        if (!isDuplicateKey(err)) throw err;
      });
    return true;
  }

  /** A run's kept holdout plan (its JSON), or null. */
  async loadHoldoutPlan(runId: string): Promise<string | null> {
    const doc = await this.holdoutPlans.findById(runId).lean<HoldoutPlanDoc>();
    return doc ? gunzipSync(Buffer.from(doc.gzippedJson, "base64")).toString("utf8") : null;
  }

  /** A node's kept submission, or null. */
  async getSubmission(runId: string, nodeId: number): Promise<string | null> {
    const doc = await this.submissions.findById(`${runId}:${nodeId}`).lean<SubmissionDoc>();
    return doc ? doc.csv : null;
  }

  /** The run's journal, ordered by node id. */
  async loadJournal(runId: string): Promise<SolutionNode[]> {
    const docs = await this.nodes.find({ runId }).sort({ id: 1 }).lean<SolutionNodeDoc[]>();
    return docs.map(toNode);
  }

  async getNode(runId: string, nodeId: number): Promise<SolutionNode | null> {
    const doc = await this.nodes.findById(`${runId}:${nodeId}`).lean<SolutionNodeDoc>();
    return doc ? toNode(doc) : null;
  }

  // ------------------------------------------------------------------------------------------ steering

  /** Saves a steering message with the run's next `seq` (1, 2, ...), assigned atomically. */
  async addSteer(runId: string, command: SteerCommand, author: Person | null = null): Promise<SteerRecord> {
    if ((await this.runs.exists({ _id: runId })) === null) throw new RunNotFoundError(runId);
    const seq = await this.nextSeq(`steer:${runId}`);
    const doc = await this.steers.create({
      _id: `${runId}:${seq}`,
      runId,
      seq,
      command,
      author,
      createdAt: new Date(),
      appliedAt: null,
      note: null,
    });
    return toSteer(doc.toObject());
  }

  private async nextSeq(counterId: string): Promise<number> {
    for (let attempt = 0; ; attempt++) {
      try {
        const doc = await this.counters
          .findOneAndUpdate({ _id: counterId }, { $inc: { seq: 1 } }, { upsert: true, returnDocument: "after" })
          .lean<CounterDoc>();
        return doc!.seq;
      } catch (err) {
        // Two first-ever upserts racing on a real MongoDB: one gets E11000; the counter exists now, so retry.
        if (!isDuplicateKey(err) || attempt >= 3) throw err;
      }
    }
  }

  /** Messages not applied yet, oldest (lowest seq) first. */
  async unappliedSteers(runId: string): Promise<SteerRecord[]> {
    const docs = await this.steers.find({ runId, appliedAt: null }).sort({ seq: 1 }).lean<SteerMessageDoc[]>();
    return docs.map(toSteer);
  }

  /** Every message of a run, in seq order. */
  async listSteers(runId: string): Promise<SteerRecord[]> {
    const docs = await this.steers.find({ runId }).sort({ seq: 1 }).lean<SteerMessageDoc[]>();
    return docs.map(toSteer);
  }

  /** Marks a message applied. True the first time; false when it was applied already or does not exist. */
  async markSteerApplied(id: string, note: string): Promise<boolean> {
    const doc = await this.steers
      .findOneAndUpdate(
        { _id: id, appliedAt: null },
        { $set: { appliedAt: new Date(), note } },
        { returnDocument: "after" },
      )
      .lean<SteerMessageDoc>();
    return doc !== null;
  }

  // ------------------------------------------------------------------------------------------ threads

  /**
   * Binds a chat thread to a run (and records the thread on the run's origin when it was not known yet). Binding
   * the same thread to the same run again only updates `rootMessageId`; binding it to another run throws
   * ThreadBoundError.
   */
  async bindThread(b: {
    platform: Platform;
    channel: string;
    thread: string;
    runId: string;
    rootMessageId?: string | null;
  }): Promise<ThreadBindingRecord> {
    const _id = bindingId(b.platform, b.channel, b.thread);
    const update: UpdateQuery<ThreadBindingDoc> = {
      $setOnInsert: { platform: b.platform, channel: b.channel, thread: b.thread, createdAt: new Date() },
    };
    if (b.rootMessageId !== undefined) update.$set = { rootMessageId: b.rootMessageId };
    try {
      await this.bindings.updateOne({ _id, runId: b.runId }, update, { upsert: true });
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      const existing = await this.bindings.findById(_id).lean<ThreadBindingDoc>();
      throw new ThreadBoundError(_id, String(existing?.runId ?? "?"));
    }
    await this.runs.updateOne(
      { _id: b.runId, "origin.platform": b.platform, "origin.channel": b.channel, "origin.thread": null },
      { $set: { "origin.thread": b.thread } },
    );
    const doc = await this.bindings.findById(_id).lean<ThreadBindingDoc>();
    return toBinding(doc!);
  }

  async getThreadBinding(platform: Platform, channel: string, thread: string): Promise<ThreadBindingRecord | null> {
    const doc = await this.bindings.findById(bindingId(platform, channel, thread)).lean<ThreadBindingDoc>();
    return doc ? toBinding(doc) : null;
  }

  /** The run a thread belongs to, or null. */
  async findRunByThread(platform: Platform, channel: string, thread: string): Promise<RunRecord | null> {
    const binding = await this.getThreadBinding(platform, channel, thread);
    return binding ? this.getRun(binding.runId) : null;
  }

  async bindingsForRun(runId: string): Promise<ThreadBindingRecord[]> {
    const docs = await this.bindings.find({ runId }).sort({ createdAt: 1 }).lean<ThreadBindingDoc[]>();
    return docs.map(toBinding);
  }
}

export function bindingId(platform: string, channel: string, thread: string): string {
  return `${platform}:${channel}:${thread}`;
}

// ------------------------------------------------------------------------------------------ conversions
//
// From the documents as `.lean()` reads them to the records. Lean reads apply no schema defaults, so a document
// written before a field existed lacks it: hence the fallbacks on fields the schema always fills. Where the schema
// is looser than the record (a plain String for the coder, the worker's and the metric's fields not `required`),
// the record's type is what the store itself writes there: createRun/updateOptions take RunOptions, claim() sets
// the whole worker, appendNode() writes a MetricReport.

function usageOf(u: UsageDoc | null | undefined): TokenUsage {
  const usage: TokenUsage = {
    promptTokens: u?.promptTokens ?? 0,
    completionTokens: u?.completionTokens ?? 0,
    costUsd: u?.costUsd ?? 0,
  };
  if (u?.reasoningTokens) usage.reasoningTokens = u.reasoningTokens;
  if (u?.costUnknown) usage.costUnknown = true;
  return usage;
}

function personOf(p: PersonDoc | null | undefined): Person | null {
  return p ? { platform: p.platform, userId: p.userId, displayName: p.displayName ?? "" } : null;
}

function toRun(d: RunDoc): RunRecord {
  const o = d.options ?? {};
  const p = d.progress ?? {};
  return {
    id: d._id,
    task: d.task,
    links: [...(d.links ?? [])],
    options: {
      steps: o.steps,
      parallel: o.parallel,
      coder: o.coder as RunOptions["coder"],
      metric: o.metric ?? null,
      timeoutSec: o.timeoutSec,
      budgetUsd: o.budgetUsd ?? null,
    },
    status: d.status,
    owner: personOf(d.owner)!,
    origin: { platform: d.origin.platform, channel: d.origin.channel, thread: d.origin.thread ?? null },
    admins: [...(d.admins ?? [])],
    followers: [...(d.followers ?? [])],
    verbose: !!d.verbose,
    progress: {
      step: p.step ?? 0,
      totalSteps: p.totalSteps ?? o.steps ?? 0,
      nodes: p.nodes ?? 0,
      bestNodeId: p.bestNodeId ?? null,
      bestMetric: p.bestMetric ?? null,
      bestHoldout: p.bestHoldout ?? null,
      ...(p.bestMembers && p.bestMembers.length > 0 ? { bestMembers: [...p.bestMembers] } : {}),
      metricName: p.metricName ?? null,
      lowerIsBetter: p.lowerIsBetter ?? null,
      holdoutLine: p.holdoutLine ?? null,
      executor: p.executor ?? null,
      delivered: p.delivered ?? null,
    },
    usage: usageOf(d.usage),
    error: d.error ?? null,
    finishReason: d.finishReason ?? null,
    worker: d.worker?.id
      ? { id: d.worker.id, claimedAt: d.worker.claimedAt!, heartbeatAt: d.worker.heartbeatAt! }
      : null,
    createdAt: d.createdAt,
    updatedAt: d.updatedAt,
    startedAt: d.startedAt ?? null,
    finishedAt: d.finishedAt ?? null,
  };
}

function iso(v: unknown): string {
  return v instanceof Date ? v.toISOString() : String(v);
}

function toNode(d: SolutionNodeDoc): SolutionNode {
  return {
    id: d.id,
    parentId: d.parentId ?? null,
    step: d.step,
    stage: d.stage,
    plan: d.plan ?? "",
    code: d.code ?? "",
    metric: d.metric
      ? { name: d.metric.name!, value: d.metric.value!, lowerIsBetter: d.metric.lowerIsBetter ?? null }
      : null,
    ...(d.holdout
      ? {
          holdout: {
            name: d.holdout.name,
            value: d.holdout.value,
            lowerIsBetter: !!d.holdout.lowerIsBetter,
            ...(typeof d.holdout.stdError === "number" ? { stdError: d.holdout.stdError } : {}),
          },
        }
      : {}),
    ...(d.members && d.members.length > 0 ? { members: [...d.members] } : {}),
    unranked: d.unranked ?? null,
    buggy: d.buggy,
    analysis: d.analysis ?? "",
    execTimeMs: d.execTimeMs ?? 0,
    exitCode: d.exitCode ?? null,
    timedOut: !!d.timedOut,
    killed: !!d.killed,
    output: d.output ?? "",
    submissionOk: !!d.submissionOk,
    submissionPath: d.submissionPath ?? null,
    usage: usageOf(d.usage),
    coder: d.coder ?? "",
    createdAt: iso(d.createdAt),
    finishedAt: iso(d.finishedAt),
  };
}

function toSteer(d: SteerMessageDoc): SteerRecord {
  return {
    id: d._id,
    runId: d.runId,
    seq: d.seq,
    command: d.command as SteerCommand,
    author: personOf(d.author),
    createdAt: d.createdAt,
    appliedAt: d.appliedAt ?? null,
    note: d.note ?? null,
  };
}

function toBinding(d: ThreadBindingDoc): ThreadBindingRecord {
  return {
    id: d._id,
    platform: d.platform,
    channel: d.channel,
    thread: d.thread,
    runId: d.runId,
    rootMessageId: d.rootMessageId ?? null,
    createdAt: d.createdAt,
  };
}
