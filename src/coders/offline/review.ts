/**
 * Rule-based review of a finished run: buggy when the output shows an error, no metric was parsed, or the
 * search found problems; the summary is one factual sentence.
 */
import { directionOfMetricName } from "../../search/metric-names.ts";
import type { ExecutionResult, Review, ReviewInput } from "../../search/types.ts";
import { lastErrorLine } from "./fixes.ts";

const ZERO_USAGE = { promptTokens: 0, completionTokens: 0, costUsd: 0 } as const;

const ERROR_RE = /Traceback \(most recent call last\)|^\s*[\w.]*(?:Error|Exception): /m;

function firstSentence(text: string): string {
  const t = text.replace(/\s+/g, " ").trim();
  const m = /^(.*?[.!?])(?:\s|$)/.exec(t);
  return (m?.[1] ?? t).slice(0, 240);
}

function formatValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  return Math.abs(v) >= 1000 || Number.isInteger(v) ? String(Number(v.toPrecision(8))) : v.toFixed(5);
}

export function reviewRun(input: ReviewInput, result: ExecutionResult): Review {
  const output = input.output || result.output;
  const reasons: string[] = [];
  if (result.timedOut) reasons.push("the script hit the time limit");
  else if (result.outOfMemory) reasons.push("the script ran out of memory");
  else if (ERROR_RE.test(output)) reasons.push(`it failed with ${lastErrorLine(output)}`);
  else if (result.exitCode !== null && result.exitCode !== 0) reasons.push(`it exited with code ${result.exitCode}`);
  else if (result.signal) reasons.push(`it was ended by ${result.signal}`);
  if (!input.parsedMetric && !reasons.length) reasons.push("it printed no AIDE_METRIC line");
  for (const p of input.problems) if (p.trim()) reasons.push(p.trim());
  const isBug = reasons.length > 0 || !input.parsedMetric;

  let summary: string;
  if (isBug) {
    summary = `Buggy: ${reasons.join("; ")}.`.replace(/\.\.$/, ".");
  } else {
    const m = input.parsedMetric!;
    // The line's direction, else the name's by convention; said only when one of them tells.
    const lower = m.lowerIsBetter ?? directionOfMetricName(m.name);
    const direction = lower === null ? "" : ` (${lower ? "lower" : "higher"} is better)`;
    summary = `${firstSentence(input.plan) || "The script ran"} Validation ${m.name} = ${formatValue(m.value)}${direction}.`;
  }
  // No direction of its own: the line's is already the run's to read, and names are read by the run.
  return { isBug, summary: summary.slice(0, 600), metric: null, lowerIsBetter: null, usage: { ...ZERO_USAGE } };
}
