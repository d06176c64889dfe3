/** Public API of the workspace module: data previews, submission checks and task-file lookup. */
export { buildDataPreview, capText, TRUNCATED_MARKER, type DataPreviewOptions } from "./preview.ts";
export { SampleSubmissionChecker, type SubmissionCheckerOptions } from "./submission-check.ts";
export { findTaskFiles, type TaskFiles } from "./files.ts";
export { countCsvRecords } from "./csv.ts";
