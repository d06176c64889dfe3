/**
 * A run's options as users type them, read and checked against the one schema (src/run-options-schema.ts).
 * RunService.start enforces the schema on every run, whoever asks; the entry points read their checks and numbers
 * from here: `aide run` / `aide submit` flags (cli/commands/common.ts `runOptionFlag`), `/aide start` options and
 * `more N` in chat (src/runs/chat/commands.ts, src/runs/steer-parse.ts), Discord's slash-command option limits
 * (bots/discord/commands.ts). So a value is refused everywhere or nowhere, with the same sentence.
 */
import type { z } from "zod";
import { budgetSchema, CODERS, RUN_OPTION_LIMITS, runOptionsSchema, type RunOptions } from "../run-options-schema.ts";
import { parseBudget } from "../search/budget.ts";
import { truncate } from "../util/text.ts";
import { formatDurationSec, parseDurationSec } from "./duration.ts";

const shape = runOptionsSchema.shape;
const L = RUN_OPTION_LIMITS;
const dollars = (n: number) => `$${n.toLocaleString("en-US", { maximumFractionDigits: 2 })}`;
const count = (n: number) => n.toLocaleString("en-US");

/** Reads the text of a whole number; anything else (1e3, 0x10, 2.5, "ten") is not one. */
function wholeNumber(text: string): number | undefined {
  const t = text.trim();
  return /^\d+$/.test(t) ? Number(t) : undefined;
}

function seconds(text: string): number | undefined {
  const sec = parseDurationSec(text);
  return sec === null ? undefined : Math.round(sec);
}

/**
 * Each option as a user types it: the flag, how its text is read, the schema that checks the value, and what it
 * takes (the sentence of a refusal).
 */
const OPTIONS = {
  steps: {
    flag: "--steps",
    read: wholeNumber,
    schema: shape.steps,
    takes: `a whole number from ${L.steps.min} to ${count(L.steps.max)}`,
  },
  parallel: {
    flag: "--parallel",
    read: wholeNumber,
    schema: shape.parallel,
    takes: `a whole number from ${L.parallel.min} to ${L.parallel.max}`,
  },
  timeout: {
    flag: "--timeout",
    read: seconds,
    schema: shape.timeoutSec,
    takes: `a duration from ${formatDurationSec(L.timeoutSec.min)} to ${formatDurationSec(L.timeoutSec.max)} per script, e.g. 90s, 10m or 1h`,
  },
  metric: {
    flag: "--metric",
    read: (text: string) => text.trim(),
    schema: shape.metric.unwrap(),
    takes: `a metric name such as rmse or roc_auc (up to ${L.metric.maxLength} letters, digits and _ @ . + -)`,
  },
  coder: { flag: "--coder", read: (text: string) => text.trim(), schema: shape.coder, takes: CODERS.join(" or ") },
  budget: {
    flag: "--budget",
    read: (text: string) => parseBudget(text) ?? undefined,
    schema: budgetSchema,
    takes:
      `tokens from ${count(L.budgetTokens.min)} to ${count(L.budgetTokens.max)} (200k, 1.5M) ` +
      `or dollars from ${dollars(L.budgetUsd.min)} to ${dollars(L.budgetUsd.max)} ($2.50)`,
  },
  holdout: {
    flag: "--holdout",
    read: (text: string) => {
      const t = text.trim();
      if (/^(off|none|no)$/i.test(t)) return null;
      const pct = /^(\d+(?:\.\d+)?)%$/.exec(t);
      if (pct) return Number(pct[1]) / 100;
      return /^\d*\.?\d+$/.test(t) ? Number(t) : undefined;
    },
    schema: shape.holdout.unwrap(),
    takes: `a share of the labelled rows from ${L.holdout.min} to ${L.holdout.max} (0.15 or 15%), or off`,
  },
  /** A queued run's budget (`aide submit --budget`, RunOptions.budgetUsd): dollars only. */
  budgetUsd: {
    flag: "--budget",
    read: (text: string) => parseBudget(text)?.usd,
    schema: shape.budgetUsd.unwrap(),
    takes: `dollars from ${dollars(L.budgetUsd.min)} to ${dollars(L.budgetUsd.max)}, e.g. $2.50 (a queued run's budget is in dollars)`,
  },
} as const;

export type RunOptionName = keyof typeof OPTIONS;
type ValueOf<K extends RunOptionName> = z.output<(typeof OPTIONS)[K]["schema"]>;

/** The sentence refusing `text` (undefined: none given) for an option: `--steps takes a whole number from 1 to 10,000, got "0".` */
export function optionProblem(name: RunOptionName, text: string | undefined): string {
  const o = OPTIONS[name];
  return `${o.flag} takes ${o.takes}, got ${text === undefined ? "none" : `"${truncate(text, 40)}"`}.`;
}

/** Reads and checks what a user typed for an option: its value, or the sentence saying what the option takes. */
export function readRunOption<K extends RunOptionName>(
  name: K,
  text: string,
): { value: ValueOf<K> } | { problem: string } {
  const o = OPTIONS[name];
  const checked = o.schema.safeParse(o.read(text));
  return checked.success ? { value: checked.data as ValueOf<K> } : { problem: optionProblem(name, text) };
}

/** The option each field of RunOptions is given by. */
const FIELD_OPTION: Record<keyof RunOptions, RunOptionName> = {
  steps: "steps",
  parallel: "parallel",
  coder: "coder",
  metric: "metric",
  timeoutSec: "timeout",
  budgetUsd: "budgetUsd",
  holdout: "holdout",
};

/**
 * Checks a run's options as a whole (RunService.start): the options, or the sentence refusing the first bad one,
 * worded as the entry points word it.
 */
export function checkRunOptions(options: unknown): { value: RunOptions } | { problem: string } {
  const checked = runOptionsSchema.safeParse(options);
  if (checked.success) return { value: checked.data };
  const issue = checked.error.issues[0]!;
  const field = issue.path[0] as keyof RunOptions | undefined;
  if (field === undefined || !(field in FIELD_OPTION)) return { problem: `Invalid run options: ${issue.message}.` };
  const given = (options as Record<string, unknown>)[field];
  return { problem: optionProblem(FIELD_OPTION[field], given === undefined ? undefined : String(given)) };
}

/**
 * The sentence refusing `more N` (steps to add to a run), or null: N is a number of steps as `--steps` takes it,
 * and, given the run's steps now, keeps the run within the steps limit.
 */
export function moreStepsProblem(more: number, totalSteps?: number): string | null {
  if (!shape.steps.safeParse(more).success)
    return `"more" takes a number of steps from ${L.steps.min} to ${count(L.steps.max)}, e.g. "more 10".`;
  if (totalSteps === undefined || totalSteps + more <= L.steps.max) return null;
  const room = Math.max(0, L.steps.max - totalSteps);
  return `A run makes at most ${count(L.steps.max)} steps; this one has ${count(totalSteps)}, so "more" can add ${room ? `at most ${count(room)}` : "none"}.`;
}
