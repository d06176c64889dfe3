/** SolutionNode: the journal, one document per node, `_id` = `${runId}:${nodeId}` so a retried append is a no-op. */
import { Schema, type Connection, type InferSchemaType } from "mongoose";
import { usageSchema, type ModelOf, modelOn } from "./common.ts";

export const solutionNodeSchema = new Schema(
  {
    _id: { type: String, required: true },
    runId: { type: String, required: true },
    id: { type: Number, required: true },
    parentId: { type: Number, default: null },
    step: { type: Number, required: true },
    stage: { type: String, enum: ["draft", "improve", "debug", "ensemble"], required: true },
    /** An ensemble's members, the best first; absent for the other stages. */
    members: { type: [Number], default: undefined },
    plan: { type: String, default: "" },
    code: { type: String, default: "" },
    metric: {
      // lowerIsBetter is null for a node recorded before its run knew the metric's direction.
      type: new Schema(
        { name: String, value: Number, lowerIsBetter: { type: Boolean, default: null } },
        { _id: false, id: false },
      ),
      default: null,
    },
    /** The node's score on the run's hidden holdout, or null (no holdout, or not scored). */
    holdout: {
      type: new Schema(
        {
          name: { type: String, required: true },
          value: { type: Number, required: true },
          lowerIsBetter: Boolean,
          stdError: { type: Number, default: null },
        },
        { _id: false, id: false },
      ),
      default: null,
    },
    /** Why the node's metric is not ranked (another metric than the run's), or null. */
    unranked: { type: String, default: null },
    buggy: { type: Boolean, required: true },
    analysis: { type: String, default: "" },
    execTimeMs: { type: Number, default: 0 },
    exitCode: { type: Number, default: null },
    timedOut: { type: Boolean, default: false },
    killed: { type: Boolean, default: false },
    output: { type: String, default: "" },
    submissionOk: { type: Boolean, default: false },
    submissionPath: { type: String, default: null },
    usage: { type: usageSchema, default: () => ({}) },
    coder: { type: String, default: "" },
    createdAt: { type: Date, required: true },
    finishedAt: { type: Date, required: true },
  },
  // `id: false`: the node's own `id` field replaces mongoose's `id` virtual.
  { id: false, versionKey: false, collection: "solution_nodes" },
);

solutionNodeSchema.index({ runId: 1, id: 1 });

/** A document as stored (what `.lean()` reads). */
export type SolutionNodeDoc = InferSchemaType<typeof solutionNodeSchema>;

export function solutionNodeModel(conn: Connection): ModelOf<typeof solutionNodeSchema> {
  return modelOn(conn, "SolutionNode", solutionNodeSchema);
}
