/** Submission: a node's submission file, kept for the best nodes so exports and bots can deliver it from anywhere. */
import { Schema, type Connection, type InferSchemaType } from "mongoose";
import { type ModelOf, modelOn } from "./common.ts";

/** Largest submission kept (documents are limited to 16 MB). */
export const MAX_STORED_SUBMISSION_BYTES = 12 * 1024 * 1024;

export const submissionSchema = new Schema(
  {
    _id: { type: String, required: true },
    runId: { type: String, required: true },
    nodeId: { type: Number, required: true },
    csv: { type: String, required: true },
    bytes: { type: Number, required: true },
    createdAt: { type: Date, required: true },
  },
  { id: false, versionKey: false, collection: "submissions" },
);

submissionSchema.index({ runId: 1, nodeId: 1 });

/** A document as stored (what `.lean()` reads). */
export type SubmissionDoc = InferSchemaType<typeof submissionSchema>;

export function submissionModel(conn: Connection): ModelOf<typeof submissionSchema> {
  return modelOn(conn, "Submission", submissionSchema);
}
