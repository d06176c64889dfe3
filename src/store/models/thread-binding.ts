/**
 * ThreadBinding: a chat thread -> the run it belongs to. `_id` = `${platform}:${channel}:${thread}`, so one thread
 * binds to one run without relying on a unique secondary index.
 */
import { Schema, type Connection, type Model } from "mongoose";
import { PLATFORMS } from "./common.ts";

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

export function threadBindingModel(conn: Connection): Model<any> {
  return conn.models.ThreadBinding ?? conn.model("ThreadBinding", threadBindingSchema);
}
