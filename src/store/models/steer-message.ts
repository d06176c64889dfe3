/**
 * SteerMessage: a command or guidance for a run, `_id` = `${runId}:${seq}`. `seq` comes from a per-run counter
 * document (`counters`, `_id` = `steer:${runId}`) bumped with $inc, so it increases in the order messages were
 * added even when two bots add at once.
 */
import { Schema, type Connection, type InferSchemaType } from "mongoose";
import { personSchema, type ModelOf, modelOn } from "./common.ts";

export const steerMessageSchema = new Schema(
  {
    _id: { type: String, required: true },
    runId: { type: String, required: true },
    seq: { type: Number, required: true },
    command: { type: Schema.Types.Mixed, required: true },
    author: { type: personSchema, default: null },
    createdAt: { type: Date, required: true },
    appliedAt: { type: Date, default: null },
    note: { type: String, default: null },
  },
  { id: false, versionKey: false, minimize: false, collection: "steer_messages" },
);

// The runner's "unapplied, oldest first".
steerMessageSchema.index({ runId: 1, appliedAt: 1, seq: 1 });

export const counterSchema = new Schema(
  { _id: { type: String, required: true }, seq: { type: Number, default: 0 } },
  { id: false, versionKey: false, collection: "counters" },
);

/**
 * A message as stored (what `.lean()` reads). `command` is Mixed, which mongoose infers as `any`: here it is
 * `unknown`, and the store reads it back as the SteerCommand it wrote.
 */
export type SteerMessageDoc = Omit<InferSchemaType<typeof steerMessageSchema>, "command"> & { command: unknown };

/** A per-run counter as stored. */
export type CounterDoc = InferSchemaType<typeof counterSchema>;

export function steerMessageModel(conn: Connection): ModelOf<typeof steerMessageSchema> {
  return modelOn(conn, "SteerMessage", steerMessageSchema);
}

export function counterModel(conn: Connection): ModelOf<typeof counterSchema> {
  return modelOn(conn, "Counter", counterSchema);
}
