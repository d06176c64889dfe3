/**
 * A token budget for coder prompts, so a model with a small context window (16k tokens is common for local
 * models) gets a prompt that fits and leaves room for its answer. `fitPrompt` renders `promptFor(action, ctx)`
 * and, while the estimate is over the budget, trims the context in this order, re-rendering after each cut:
 *
 *   1. memory entries, the worst-scoring first (entries without a metric before any with one), down to the best;
 *   2. sibling plans, the oldest first;
 *   3. the data overview, cut to a shorter head with a marker (not below MIN_PREVIEW_CHARS);
 *   4. the execution output a debug prompt shows: the middle goes, the tail (where the traceback is) and a
 *      short head stay (not below MIN_OUTPUT_CHARS);
 *   5. guidance notes, the oldest first, down to the newest;
 *   6. last resort: everything optional goes (the best memory entry, the newest guidance note, the data
 *      overview, the parent's plan and analysis), while the parent's code is always kept whole;
 *   7. the task description, cut to its head with a marker (not below MIN_TASK_CHARS).
 *
 * A prompt that needs no cut is returned exactly as `promptFor` builds it. One that is still over the budget
 * after every cut is returned with `overBudget: true`, never silently. Pure: no I/O, the context is not changed.
 */
import { promptFor, renderMarkdown, type PromptSection } from "./prompts.ts";
import type { Action, PromptContext, SolutionNode } from "./types.ts";

/** Characters per token the estimate assumes: safe (it over-counts) for code-heavy English. */
export const CHARS_PER_TOKEN = 3.5;
/** The data overview is not cut below this many characters (only dropped, in the last resort). */
export const MIN_PREVIEW_CHARS = 600;
/** A debug prompt's execution output is not cut below this many characters. */
export const MIN_OUTPUT_CHARS = 1200;
/** Of the execution output, at most this many leading characters are kept when it is cut (the rest is tail). */
export const OUTPUT_HEAD_CHARS = 300;
/** The task description is not cut below this many characters. */
export const MIN_TASK_CHARS = 400;

/** Estimated tokens of a text: characters / CHARS_PER_TOKEN, rounded up. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / CHARS_PER_TOKEN);
}

export interface FittedPrompt {
  sections: PromptSection[];
  /** `estimateTokens(renderMarkdown(sections))`. */
  estimatedTokens: number;
  /** What was cut, in words, in the order it was cut (empty when nothing was); for a log line. */
  trimmed: string[];
  /** True when even the smallest prompt the cuts allow is over the budget. */
  overBudget: boolean;
}

type Memory = PromptContext["memory"][number];

interface Attempt {
  ctx: PromptContext;
  text: string;
}

/** Renders `promptFor(action, ctx)`, trimmed as described above to fit `maxTokens` estimated tokens. */
export function fitPrompt(action: Action, ctx: PromptContext, maxTokens: number): FittedPrompt {
  if (Number.isNaN(maxTokens)) throw new RangeError("fitPrompt needs a number of tokens, got NaN");
  const first = promptFor(action, ctx);
  const firstText = renderMarkdown(first);
  if (estimateTokens(firstText) <= maxTokens)
    return { sections: first, estimatedTokens: estimateTokens(firstText), trimmed: [], overBudget: false };

  const maxChars = Math.floor(maxTokens * CHARS_PER_TOKEN);
  const render = (c: PromptContext): Attempt => ({ ctx: c, text: renderMarkdown(promptFor(action, c)) });
  const over = (a: Attempt) => a.text.length > maxChars;
  const trimmed: string[] = [];
  let current: Attempt = { ctx, text: firstText };

  /** Applies `step` while over the budget and it can cut more (a cut that changes nothing shown ends it); returns how many cuts it made. */
  const repeat = (step: (c: PromptContext) => PromptContext | null): number => {
    let cuts = 0;
    while (over(current)) {
      const next = step(current.ctx);
      if (!next) break;
      const attempt = render(next);
      if (attempt.text === current.text) break; // this prompt does not show that part
      current = attempt;
      cuts++;
    }
    return cuts;
  };

  /**
   * Cuts one text field of the context (with `cut`, to a given length, never below `min`) until the prompt fits
   * or the field is at its minimum, re-rendering after each cut; returns whether it cut anything.
   */
  const cutField = (
    get: (c: PromptContext) => string,
    set: (c: PromptContext, value: string) => PromptContext,
    min: number,
    cut: (text: string, keep: number) => string,
  ): boolean => {
    const start = current;
    const original = get(start.ctx);
    let keep = original.length;
    // Each pass asks for the whole excess (plus room for the marker); another pass covers rendering effects.
    for (let pass = 0; pass < 4 && over(current) && keep > min; pass++) {
      keep = Math.max(min, keep - (current.text.length - maxChars) - MARKER_ROOM);
      current = render(set(start.ctx, cut(original, keep)));
    }
    if (current.text.length >= start.text.length) current = start; // the marker would cost more than the cut saves
    return current !== start;
  };

  // 1. Memory, the worst-scoring entry first, keeping the best.
  const memoryBefore = ctx.memory.length;
  const worstFirst: number[] = [];
  const memoryCuts = repeat((c) => {
    if (c.memory.length <= 1) return null;
    const worst = worstMemory(c.memory, c.lowerIsBetter);
    worstFirst.push(worst.id);
    return { ...c, memory: c.memory.filter((m) => m !== worst) };
  });
  const droppedMemory = worstFirst.slice(0, memoryCuts); // a last cut that showed nothing was not kept
  if (droppedMemory.length > 0) {
    trimmed.push(
      `memory: dropped ${droppedMemory.length} of ${memoryBefore} entries, the worst-scoring (solutions ${droppedMemory.join(", ")})`,
    );
  }

  // 2. Sibling plans, the oldest first.
  const siblingsBefore = ctx.siblings.length;
  const siblingCuts = repeat((c) => (c.siblings.length > 0 ? { ...c, siblings: c.siblings.slice(1) } : null));
  if (siblingCuts > 0) trimmed.push(`sibling plans: dropped ${siblingCuts} of ${siblingsBefore}, the oldest first`);

  // 3. The data overview, to a shorter head.
  const previewBefore = ctx.dataPreview.length;
  if (
    cutField(
      (c) => c.dataPreview,
      (c, v) => ({ ...c, dataPreview: v }),
      MIN_PREVIEW_CHARS,
      cutPreview,
    )
  ) {
    trimmed.push(
      `data overview: cut from ${count(previewBefore)} to ${count(current.ctx.dataPreview.length)} characters (its head is kept)`,
    );
  }

  // 4. The execution output of a debug prompt: the head and tail stay.
  if (action.kind === "debug" && current.ctx.parent) {
    const outputBefore = current.ctx.parent.output.length;
    const withOutput = (c: PromptContext, output: string) => withParent(c, { output });
    if (cutField((c) => c.parent!.output, withOutput, MIN_OUTPUT_CHARS, cutOutput)) {
      trimmed.push(
        `execution output: cut from ${count(outputBefore)} to ${count(current.ctx.parent!.output.length)} characters (its first lines and its tail are kept)`,
      );
    }
  }

  // 5. Guidance, the oldest notes first, keeping the newest.
  const notes = (c: PromptContext) => c.guidance.filter((g) => g.trim().length > 0);
  const notesBefore = notes(current.ctx).length;
  const noteCuts = repeat((c) => (notes(c).length > 1 ? { ...c, guidance: notes(c).slice(1) } : null));
  if (noteCuts > 0) trimmed.push(`guidance: dropped the ${noteCuts} oldest of ${notesBefore} notes, kept the newest`);

  // 6. Last resort: everything optional, the parent's code kept whole.
  if (over(current)) {
    const dropped: string[] = [];
    for (const drop of optionalParts(current.ctx)) {
      const attempt = render(drop.apply(current.ctx));
      if (attempt.text === current.text) continue; // not shown in this prompt
      current = attempt;
      dropped.push(drop.what);
    }
    if (dropped.length > 0)
      trimmed.push(
        `last resort: dropped ${dropped.join(", ")}${current.ctx.parent ? " (the parent's code is kept whole)" : ""}`,
      );
  }

  // 7. The task description, to its head.
  const taskBefore = ctx.task.length;
  if (
    cutField(
      (c) => c.task,
      (c, v) => ({ ...c, task: v }),
      MIN_TASK_CHARS,
      cutTask,
    )
  ) {
    trimmed.push(
      `task description: cut from ${count(taskBefore)} to ${count(current.ctx.task.length)} characters (its head is kept)`,
    );
  }

  const sections = promptFor(action, current.ctx);
  return { sections, estimatedTokens: estimateTokens(current.text), trimmed, overBudget: over(current) };
}

/** Characters a cut marker may take; a cut asks for this much more than the excess. */
const MARKER_ROOM = 120;

function count(n: number): string {
  return n.toLocaleString("en-US");
}

/** The entry to drop first: no metric before any metric, then the worst value in the run's direction; the oldest among equals. */
function worstMemory(memory: readonly Memory[], lowerIsBetter: boolean | undefined): Memory {
  const badness = (m: Memory): number => {
    if (!m.metric || !Number.isFinite(m.metric.value)) return Infinity;
    return (lowerIsBetter ?? m.metric.lowerIsBetter) ? m.metric.value : -m.metric.value;
  };
  return memory.reduce((worst, m) => (badness(m) > badness(worst) ? m : worst));
}

/** The first at most `n` characters, ending at a line break when one is in the last third. */
function head(text: string, n: number): string {
  const cut = text.slice(0, n);
  const lineEnd = cut.lastIndexOf("\n");
  return lineEnd >= (n * 2) / 3 ? cut.slice(0, lineEnd) : cut;
}

/** The last at most `n` characters, starting at a line when one starts in the first third. */
function tail(text: string, n: number): string {
  const cut = text.slice(Math.max(0, text.length - n));
  const lineStart = cut.indexOf("\n");
  return lineStart >= 0 && lineStart <= n / 3 ? cut.slice(lineStart + 1) : cut;
}

function cutPreview(text: string, keep: number): string {
  if (text.length <= keep) return text;
  const kept = head(text, keep).trimEnd();
  return `${kept}\n[... data overview cut to its first ${count(kept.length)} of ${count(text.length)} characters to fit the prompt budget ...]`;
}

function cutTask(text: string, keep: number): string {
  if (text.length <= keep) return text;
  const kept = head(text, keep).trimEnd();
  return `${kept}\n[... the rest of the task description (${count(text.length - kept.length)} characters) was cut to fit the prompt budget ...]`;
}

/** Keeps a short head and the tail (where a traceback is), with a marker between. */
function cutOutput(text: string, keep: number): string {
  if (text.length <= keep) return text;
  const first = head(text, Math.min(OUTPUT_HEAD_CHARS, Math.floor(keep / 4)));
  const last = tail(text, keep - first.length);
  return `${first}\n[... ${count(text.length - first.length - last.length)} characters of output cut here to fit the prompt budget ...]\n${last}`;
}

/** What the data overview says once the last resort has dropped it. */
const PREVIEW_LEFT_OUT =
  "(left out to fit the prompt budget: look at the files in ./input before relying on their layout)";

/** Step 6: what else can go, each as a change of the context; the parent keeps its code (and its output, already cut). */
function optionalParts(c: PromptContext): Array<{ what: string; apply: (c: PromptContext) => PromptContext }> {
  const notes = c.guidance.filter((g) => g.trim().length > 0).length;
  return [
    {
      what: c.memory.length === 1 ? "the best memory entry" : "the memory entries",
      apply: (x) => ({ ...x, memory: [] }),
    },
    { what: "the sibling plans", apply: (x) => ({ ...x, siblings: [] }) },
    { what: notes === 1 ? "the newest guidance note" : "the guidance notes", apply: (x) => ({ ...x, guidance: [] }) },
    { what: "the data overview", apply: (x) => ({ ...x, dataPreview: PREVIEW_LEFT_OUT }) },
    { what: "the parent's plan", apply: (x) => withParent(x, { plan: "" }) },
    { what: "the parent's analysis", apply: (x) => withParent(x, { analysis: "" }) },
  ];
}

function withParent(c: PromptContext, change: Partial<SolutionNode>): PromptContext {
  return c.parent ? { ...c, parent: { ...c.parent, ...change } } : c;
}
