/**
 * What a run is asked for (steps, steps in flight, per-script time limit, metric, budget, coder) and the limits
 * of each: ONE schema, and the limits read from it. Everything that takes or checks a run's options derives from
 * it: RunService.start and the entry points through src/runs/run-options.ts (which reads what users type), the
 * config's defaults (src/config.ts) and the stored run (src/store/types.ts).
 *
 * Only zod here, no other module of the project: the config and the store sit below src/runs and import this
 * without importing src/runs.
 */
import { z } from "zod";

/** Who writes the scripts. */
export const CODERS = ["offline", "openai"] as const;

/** A metric name: words of letters, digits and `_ @ . + -`, single spaces between them ("roc_auc", "ROC AUC"). */
const METRIC_NAME = /^[A-Za-z0-9_@.+-]+(?: [A-Za-z0-9_@.+-]+)*$/;

const usd = z.number().min(0.01).max(10_000);
const tokens = z.number().int().min(1000).max(1_000_000_000);
const holdoutShare = z.number().min(0.01).max(0.5);

export const runOptionsSchema = z
  .object({
    /** Nodes (scripts) the run makes; `more N` may add to them up to the same maximum. */
    steps: z.number().int().min(1).max(10_000),
    /** Steps in flight at once. */
    parallel: z.number().int().min(1).max(64),
    coder: z.enum(CODERS),
    /** The metric the user named (`--metric rmse`), or null. */
    metric: z.string().max(64).regex(METRIC_NAME).nullable(),
    /** Time limit of one script, in whole seconds. */
    timeoutSec: z
      .number()
      .int()
      .min(10)
      .max(24 * 3600),
    /** Spending limit in US dollars; null: none. */
    budgetUsd: usd.nullable(),
    /**
     * The share of the labelled rows held out to judge every script the same way; null: no holdout. Absent (runs
     * stored before there was a holdout, and callers that leave it to the config): the config's share.
     */
    holdout: holdoutShare.nullable().optional(),
  })
  .strict();

export type RunOptions = z.infer<typeof runOptionsSchema>;

/** A spending limit in tokens or dollars, as `aide run --budget` takes it (src/search/budget.ts reads the text). */
export const budgetSchema = z
  .object({ tokens: tokens.optional(), usd: usd.optional() })
  .strict()
  .refine((b) => b.tokens !== undefined || b.usd !== undefined);

const shape = runOptionsSchema.shape;
const range = (n: z.ZodNumber) => ({ min: n.minValue!, max: n.maxValue! });

/** The limits, read from the schema, for the places that show or hand them on (help texts, Discord's options). */
export const RUN_OPTION_LIMITS = {
  steps: range(shape.steps),
  parallel: range(shape.parallel),
  timeoutSec: range(shape.timeoutSec),
  metric: { maxLength: shape.metric.unwrap().maxLength! },
  budgetUsd: range(shape.budgetUsd.unwrap()),
  budgetTokens: range(budgetSchema.shape.tokens.unwrap()),
  holdout: range(holdoutShare),
} as const;
