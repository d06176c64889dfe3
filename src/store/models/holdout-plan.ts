/**
 * HoldoutPlan: a run's hidden holdout (which labelled rows the scripts never see labelled, and their answers), kept
 * with the run's record so that a run resumed on any worker hides the same rows. `_id` = the run id; the plan's
 * JSON is stored gzipped, in base64.
 */
import { Schema, type Connection, type InferSchemaType } from "mongoose";
import { type ModelOf, modelOn } from "./common.ts";

/** Largest plan kept, gzipped in base64 (documents are limited to 16 MB); a larger one lives in the run directory only. */
export const MAX_STORED_PLAN_BYTES = 12 * 1024 * 1024;

export const holdoutPlanSchema = new Schema(
  {
    _id: { type: String, required: true },
    gzippedJson: { type: String, required: true },
    createdAt: { type: Date, required: true },
  },
  { id: false, versionKey: false, collection: "holdout_plans" },
);

/** A document as stored (what `.lean()` reads). */
export type HoldoutPlanDoc = InferSchemaType<typeof holdoutPlanSchema>;

export function holdoutPlanModel(conn: Connection): ModelOf<typeof holdoutPlanSchema> {
  return modelOn(conn, "HoldoutPlan", holdoutPlanSchema);
}
