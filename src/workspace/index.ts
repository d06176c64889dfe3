/** Public API of the workspace module: data previews, submission checks and task-file lookup. */
export { buildDataPreview, TRUNCATED_MARKER } from "./preview.ts";
export { SampleSubmissionChecker } from "./submission-check.ts";
export { findTaskFiles } from "./files.ts";
export { countCsvRecords } from "./csv.ts";
