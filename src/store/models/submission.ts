/** Submission: a node's submission file, kept for the best nodes so exports and bots can deliver it from anywhere. */
import { Schema, type Connection, type Model } from "mongoose";

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

export function submissionModel(conn: Connection): Model<any> {
  return conn.models.Submission ?? conn.model("Submission", submissionSchema);
}
