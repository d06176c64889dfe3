/**
 * The reliability suite's two speeds.
 *
 * - Fast parts run in every `npm test` (vitest includes tests/**\/*.test.ts) and in `npm run test:reliability`.
 * - Long parts (a minute-long chat outage, 50 concurrent runs...) run only with the flag: `AIDE_RELIABILITY_LONG=1`,
 *   or `npm run test:reliability -- --long` (fast and long) / `-- --only-long` (long only, as `.ci/run` does).
 *
 * Convention: wrap long parts in `describeLong(...)` (any file). Its name starts with `[long]`, which is how
 * `--only-long` selects them (`vitest -t "\[long\]"`); without the flag they are skipped. Declare their hooks
 * (beforeAll...) inside the describe block: vitest runs no hooks of a block whose tests are all skipped.
 */
import { describe } from "vitest";

/** True when the long parts should run. */
export const LONG = ["1", "true", "yes"].includes((process.env.AIDE_RELIABILITY_LONG ?? "").toLowerCase());

/** A describe block that runs only with the long flag; its name says so in the report. */
export function describeLong(name: string, body: () => void): void {
  describe.runIf(LONG)(`[long] ${name}`, body);
}
