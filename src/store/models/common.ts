/** Sub-schemas shared by the models. */
import { Schema } from "mongoose";

export const PLATFORMS = ["slack", "discord", "cli"] as const;

export const personSchema = new Schema(
  {
    platform: { type: String, enum: PLATFORMS, required: true },
    userId: { type: String, required: true },
    displayName: { type: String, default: "" },
  },
  { _id: false, id: false },
);

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
