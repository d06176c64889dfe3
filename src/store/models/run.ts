/**
 * Run: one search, `_id` = run id. Usage totals are embedded here (and per node in the journal) rather than kept in
 * a Usage collection: a run's cost is read with the run, and the per-node figures already live on the nodes.
 */
import { Schema, type Connection, type InferSchemaType } from "mongoose";
import { RUN_STATUSES } from "../types.ts";
import { PLATFORMS, personSchema, usageSchema, type ModelOf, modelOn } from "./common.ts";

export const runSchema = new Schema(
  {
    _id: { type: String, required: true },
    task: { type: String, required: true },
    links: { type: [String], default: [] },
    options: {
      type: new Schema(
        {
          steps: { type: Number, required: true, min: 1 },
          parallel: { type: Number, required: true, min: 1 },
          coder: { type: String, required: true },
          metric: { type: String, default: null },
          timeoutSec: { type: Number, required: true },
          budgetUsd: { type: Number, default: null },
        },
        { _id: false, id: false },
      ),
      required: true,
    },
    status: { type: String, enum: RUN_STATUSES, required: true, default: "queued" },
    owner: { type: personSchema, required: true },
    origin: {
      type: new Schema(
        {
          platform: { type: String, enum: PLATFORMS, required: true },
          channel: { type: String, required: true },
          thread: { type: String, default: null },
        },
        { _id: false, id: false },
      ),
      required: true,
    },
    admins: { type: [String], default: [] },
    followers: { type: [String], default: [] },
    // Chat: post a line per finished step in the run's thread (`verbose on`).
    verbose: { type: Boolean, default: false },
    progress: {
      type: new Schema(
        {
          step: { type: Number, default: 0 },
          totalSteps: { type: Number, default: 0 },
          nodes: { type: Number, default: 0 },
          bestNodeId: { type: Number, default: null },
          bestMetric: { type: Number, default: null },
          bestHoldout: { type: Number, default: null },
          bestMembers: { type: [Number], default: undefined },
          metricName: { type: String, default: null },
          lowerIsBetter: { type: Boolean, default: null },
          holdoutLine: { type: String, default: null },
          executor: { type: String, default: null },
          delivered: { type: String, default: null },
        },
        { _id: false, id: false },
      ),
      default: () => ({}),
    },
    usage: { type: usageSchema, default: () => ({}) },
    error: { type: String, default: null },
    finishReason: { type: String, default: null },
    worker: {
      type: new Schema({ id: String, claimedAt: Date, heartbeatAt: Date }, { _id: false, id: false }),
      default: null,
    },
    // The secret of the run's tree page link (/runs/<id>?token=...): random, made on first use, never in RunRecord.
    viewToken: { type: String, default: null },
    startedAt: { type: Date, default: null },
    finishedAt: { type: Date, default: null },
  },
  { timestamps: true, id: false, versionKey: false, collection: "runs" },
);

// `/aide list` in a channel, newest first.
runSchema.index({ "origin.platform": 1, "origin.channel": 1, createdAt: -1 });
// Active runs (status cards, the runner's sweep for stale workers).
runSchema.index({ status: 1, createdAt: -1 });
// "My runs".
runSchema.index({ "owner.platform": 1, "owner.userId": 1, createdAt: -1 });

/** A document as stored (what `.lean()` reads). */
export type RunDoc = InferSchemaType<typeof runSchema>;

export function runModel(conn: Connection): ModelOf<typeof runSchema> {
  return modelOn(conn, "Run", runSchema);
}
