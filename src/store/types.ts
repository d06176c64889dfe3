/**
 * Records the Store hands out: plain objects (never mongoose documents), so callers cannot save by accident and
 * tests can compare them with toEqual.
 */
import type { RunOptions } from "../run-options-schema.ts";
import type { NodeId, SteerCommand, TokenUsage } from "../search/types.ts";

export type Platform = "slack" | "discord" | "cli";

export const RUN_STATUSES = ["queued", "running", "paused", "finished", "stopped", "failed"] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** A person on a platform. */
export interface Person {
  platform: Platform;
  userId: string;
  displayName: string;
}

/** Where a run was started: the channel (and thread, once the root message is posted). */
export interface RunOrigin {
  platform: Platform;
  /** Slack channel id, Discord channel id, or "terminal" for the CLI. */
  channel: string;
  /** Thread id (Slack thread_ts of the root message, Discord thread id); null until known. */
  thread: string | null;
}

/** What the run was asked for: src/run-options-schema.ts has its schema and limits. */
export type { RunOptions };

export interface RunProgress {
  /** Steps started so far. */
  step: number;
  totalSteps: number;
  /** Nodes in the journal. */
  nodes: number;
  bestNodeId: NodeId | null;
  bestMetric: number | null;
  /** The best node's holdout score, where the run judges nodes on a hidden holdout. */
  bestHoldout: number | null;
  /** The best node's members, when it is an ensemble (absent, null or empty otherwise). */
  bestMembers?: NodeId[] | null;
  metricName: string | null;
  /** The run's fixed metric direction, once known. */
  lowerIsBetter: boolean | null;
  /** How the run judges its scripts: the rows it holds out, or why it holds none out (from run.started). */
  holdoutLine: string | null;
  /** The executor the run's scripts ran in, as run.started named it (null before it started). */
  executor?: string | null;
  /** What was delivered at the end: the best node's refit on all the labelled rows, or why its own submission. */
  delivered: string | null;
}

export interface WorkerClaim {
  id: string;
  claimedAt: Date;
  heartbeatAt: Date;
}

export interface RunRecord {
  id: string;
  task: string;
  links: string[];
  options: RunOptions;
  status: RunStatus;
  owner: Person;
  origin: RunOrigin;
  /** User ids (on the owner's platform) who may stop the run and change its budget, besides the owner. */
  admins: string[];
  /** User ids to mention in the final summary. */
  followers: string[];
  /** Chat: a line per finished step is posted in the run's thread (`verbose on`). Absent: off. */
  verbose?: boolean;
  progress: RunProgress;
  /** Totals over all nodes appended (each counted once, when first appended). */
  usage: TokenUsage;
  error: string | null;
  finishReason: string | null;
  worker: WorkerClaim | null;
  createdAt: Date;
  updatedAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

export interface NewRun {
  /** Chosen by the store when absent (`r` + 8 base-36 characters). */
  id?: string;
  task: string;
  links?: string[];
  options: RunOptions;
  owner: Person;
  origin: RunOrigin;
  admins?: string[];
  followers?: string[];
}

export interface SteerRecord {
  /** `${runId}:${seq}`. */
  id: string;
  runId: string;
  /** 1, 2, 3... per run, in the order the messages were added. */
  seq: number;
  command: SteerCommand;
  author: Person | null;
  createdAt: Date;
  appliedAt: Date | null;
  /** What the runner did with it (shown in the thread), set when applied. */
  note: string | null;
}

export interface ThreadBindingRecord {
  /** `${platform}:${channel}:${thread}`. */
  id: string;
  platform: Platform;
  channel: string;
  thread: string;
  runId: string;
  /** The bot's root message (the status card), edited in place. */
  rootMessageId: string | null;
  createdAt: Date;
}

export interface ListRunsQuery {
  status?: RunStatus | RunStatus[];
  platform?: Platform;
  channel?: string;
  ownerId?: string;
  /** Default 20, at most 200. */
  limit?: number;
}
