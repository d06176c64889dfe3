/**
 * ThreadBinding: a chat thread -> the run it belongs to. `_id` = `${platform}:${channel}:${thread}`, so one thread
 * binds to one run without relying on a unique secondary index.
 */
import { Schema, type Connection, type InferSchemaType } from "mongoose";
import { PLATFORMS, type ModelOf, modelOn } from "./common.ts";

export const threadBindingSchema = new Schema(
  {
    _id: { type: String, required: true },
    platform: { type: String, enum: PLATFORMS, required: true },
    channel: { type: String, required: true },
    thread: { type: String, required: true },
    runId: { type: String, required: true },
    rootMessageId: { type: String, default: null },
    createdAt: { type: Date, required: true },
  },
  { id: false, versionKey: false, collection: "thread_bindings" },
);

threadBindingSchema.index({ runId: 1 });

/** A document as stored (what `.lean()` reads). */
export type ThreadBindingDoc = InferSchemaType<typeof threadBindingSchema>;

export function threadBindingModel(conn: Connection): ModelOf<typeof threadBindingSchema> {
  return modelOn(conn, "ThreadBinding", threadBindingSchema);
}
