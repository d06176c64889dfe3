/** Sub-schemas shared by the models. */
import { type Connection, type InferSchemaType, Schema } from "mongoose";

export const PLATFORMS = ["slack", "discord", "cli"] as const;

export const personSchema = new Schema(
  {
    platform: { type: String, enum: PLATFORMS, required: true },
    userId: { type: String, required: true },
    displayName: { type: String, default: "" },
  },
  { _id: false, id: false },
);

export type PersonDoc = InferSchemaType<typeof personSchema>;

export const usageSchema = new Schema(
  {
    promptTokens: { type: Number, default: 0 },
    completionTokens: { type: Number, default: 0 },
    reasoningTokens: { type: Number, default: 0 },
    costUsd: { type: Number, default: 0 },
    costUnknown: { type: Boolean, default: false },
  },
  { _id: false, id: false },
);

export type UsageDoc = InferSchemaType<typeof usageSchema>;

/**
 * The model `conn.model(name, schema)` compiles for a schema: `Model<InferSchemaType<S>, ...>` with the schema's
 * options, so a schema with `versionKey: false` reads back without `__v`.
 */
export type ModelOf<S extends Schema> = ReturnType<typeof compileModel<S>>;

function compileModel<S extends Schema>(conn: Connection, name: string, schema: S) {
  return conn.model(name, schema);
}

/** The model `name` of `schema` on `conn`, compiled there on first use. */
export function modelOn<S extends Schema>(conn: Connection, name: string, schema: S): ModelOf<S> {
  // `conn.models` is mongoose's registry, typed Model<any>: the model under `name` is the one compiled from `schema`.
  return (conn.models[name] as ModelOf<S> | undefined) ?? compileModel(conn, name, schema);
}
