import { describe, expect, it } from "vitest";
import {
  CHARS_PER_TOKEN,
  estimateTokens,
  fitPrompt,
  MIN_OUTPUT_CHARS,
  MIN_PREVIEW_CHARS,
  type FittedPrompt,
} from "../../../src/search/prompt-budget.ts";
import {
  codeFence,
  findSection,
  promptFor,
  renderMarkdown,
  renderPromptFor,
  SECTION,
} from "../../../src/search/prompts.ts";
import type { Action, PromptContext, SolutionNode } from "../../../src/search/types.ts";
import { solutionNode } from "../../fakes/solution-nodes.ts";

/** Deterministic filler text of about `chars` characters, in lines, tagged so tests can find pieces. */
function filler(tag: string, chars: number): string {
  const lines: string[] = [];
  let n = 0;
  while (lines.join("\n").length < chars)
    lines.push(`${tag} line ${n++}: some words that look like the usual prose or code here`);
  return lines.join("\n");
}

function parentNode(overrides: Partial<SolutionNode> = {}): SolutionNode {
  return {
    ...solutionNode(7, {
      metric: 0.3,
      lowerIsBetter: true,
      metricName: "rmse",
      plan: filler("PARENT_PLAN", 800),
      code: `import pandas as pd\n${filler("# PARENT_CODE", 6000)}\nprint('PARENT_CODE_END')\n`,
      analysis: filler("PARENT_ANALYSIS", 600),
      output: `OUTPUT_HEAD starting\n${filler("progress", 5000)}\nTraceback (most recent call last):\n  File "solution.py", line 9\nValueError: OUTPUT_TAIL`,
    }),
    execTimeMs: 12_000,
    ...overrides,
  };
}

/** rmse values by memory id (lower is better): the best is id 4, then 9, 1, ...; id 6 has no metric. */
const SCORES: Record<number, number | null> = { 1: 0.35, 2: 0.52, 3: 0.61, 4: 0.21, 5: 0.44, 6: null, 8: 0.9, 9: 0.28 };
const BY_QUALITY = [4, 9, 1, 5, 2, 3, 8, 6]; // best first; 6 (no metric) is the worst

function bigCtx(overrides: Partial<PromptContext> = {}): PromptContext {
  return {
    task: `TASK_START ${filler("task", 3000)} TASK_END`,
    dataPreview: `PREVIEW_START\n${filler("preview", 20_000)}\nPREVIEW_END`,
    memory: Object.entries(SCORES).map(([id, value]) => ({
      id: Number(id),
      plan: filler(`MEMORY_${id}`, 1500),
      analysis: "ok",
      metric: value === null ? null : { name: "rmse", value, lowerIsBetter: true },
      stage: "draft" as const,
    })),
    guidance: [`NOTE_1 ${filler("n1", 1200)}`, `NOTE_2 ${filler("n2", 1200)}`, `NOTE_3 ${filler("n3", 1200)}`],
    parent: parentNode(),
    siblings: [1, 2, 3].map((i) => ({ plan: `SIBLING_${i} ${filler(`s${i}`, 1500)}`, code: "" })),
    journal: [],
    timeLimitSec: 3600,
    packages: ["Python 3.11.2", "numpy 1.24.2", "pandas 1.5.3", "scikit-learn 1.2.1"],
    lowerIsBetter: true,
    step: 12,
    totalSteps: 20,
    ...overrides,
  };
}

const STAGES = [
  "memory",
  "sibling plans",
  "data overview",
  "execution output",
  "guidance",
  "last resort",
  "task description",
];
const stagesOf = (r: FittedPrompt) => r.trimmed.map((t) => t.slice(0, t.indexOf(":")));
const memoryIds = (r: FittedPrompt) =>
  (findSection(r.sections, SECTION.memory)?.children ?? []).map((c) => Number(/Solution (\d+)/.exec(c.title)![1]));
const text = (r: FittedPrompt) => renderMarkdown(r.sections);
const improve: Action = { kind: "improve", parent: 7 };
const debug: Action = { kind: "debug", parent: 7 };
const draft: Action = { kind: "draft" };

/** Checks what every fitted prompt must hold, and returns its markdown. */
function checkFitted(r: FittedPrompt, ctx: PromptContext, budget: number): string {
  const md = text(r);
  expect(r.estimatedTokens).toBe(estimateTokens(md));
  expect(r.overBudget).toBe(r.estimatedTokens > budget);
  if (ctx.parent) expect(md).toContain(codeFence(ctx.parent.code, "python")); // the parent's code, whole
  // Stages are used in the stated order, each at most once.
  const stages = stagesOf(r);
  expect(stages.map((s) => STAGES.indexOf(s))).toEqual([...stages.map((s) => STAGES.indexOf(s))].sort((a, b) => a - b));
  expect(stages.every((s) => STAGES.includes(s))).toBe(true);
  expect(new Set(stages).size).toBe(stages.length);
  return md;
}

describe("estimateTokens", () => {
  it("counts characters / 3.5, rounded up", () => {
    expect(CHARS_PER_TOKEN).toBe(3.5);
    expect(estimateTokens("")).toBe(0);
    expect(estimateTokens("x".repeat(7))).toBe(2);
    expect(estimateTokens("x".repeat(8))).toBe(3);
    expect(estimateTokens("x".repeat(35_000))).toBe(10_000);
  });
});

describe("fitPrompt", () => {
  it("leaves a prompt that fits exactly as promptFor builds it", () => {
    const small: PromptContext = {
      ...bigCtx(),
      task: "Predict y.",
      dataPreview: "train.csv: 10 rows",
      memory: bigCtx().memory.slice(0, 2),
      siblings: [],
      guidance: ["Try CatBoost."],
    };
    for (const action of [draft, improve, debug]) {
      const r = fitPrompt(action, small, 12_000);
      expect(r.trimmed).toEqual([]);
      expect(r.overBudget).toBe(false);
      expect(r.sections).toEqual(promptFor(action, small));
      expect(text(r)).toBe(renderPromptFor(action, small));
      expect(r.estimatedTokens).toBe(estimateTokens(renderPromptFor(action, small)));
    }
  });

  it("cuts only once the estimate is over the budget, by a token", () => {
    const ctx = bigCtx();
    const full = estimateTokens(renderPromptFor(improve, ctx));
    expect(fitPrompt(improve, ctx, full).trimmed).toEqual([]);
    const r = fitPrompt(improve, ctx, full - 1);
    expect(stagesOf(r)).toEqual(["memory"]);
    expect(memoryIds(r)).toEqual(ctx.memory.map((m) => m.id).filter((id) => id !== 6));
  });

  it("fits a big improve prompt under the budget, keeping the parent's code whole", () => {
    const ctx = bigCtx();
    const before = structuredClone(ctx);
    expect(estimateTokens(renderPromptFor(improve, ctx))).toBeGreaterThan(12_000);
    const r = fitPrompt(improve, ctx, 12_000);
    const md = checkFitted(r, ctx, 12_000);
    expect(r.overBudget).toBe(false);
    expect(r.estimatedTokens).toBeLessThanOrEqual(12_000);
    expect(md).toContain("PARENT_CODE_END");
    expect(md).toContain("TASK_END"); // the task is cut last: not needed here
    expect(r.trimmed.length).toBeGreaterThan(0);
    expect(ctx).toEqual(before); // the caller's context is not changed
  });

  it("drops memory entries worst-scoring first (no metric before any), keeping the rest in step order", () => {
    const ctx = bigCtx();
    const full = renderPromptFor(improve, ctx).length;
    const entry = full - renderPromptFor(improve, { ...ctx, memory: ctx.memory.slice(1) }).length; // about one entry
    for (let keep = BY_QUALITY.length - 1; keep >= 1; keep--) {
      // A budget that needs all but `keep` entries gone (a little slack for the sketch line that mentions Memory).
      const budget = Math.floor((full - entry * (BY_QUALITY.length - keep) + 20) / CHARS_PER_TOKEN);
      const r = fitPrompt(improve, ctx, budget);
      checkFitted(r, ctx, budget);
      expect(stagesOf(r)).toEqual(["memory"]);
      const expected = ctx.memory.map((m) => m.id).filter((id) => BY_QUALITY.slice(0, keep).includes(id));
      expect(memoryIds(r)).toEqual(expected);
      const worstFirst = [...BY_QUALITY].reverse().slice(0, BY_QUALITY.length - keep);
      expect(r.trimmed).toEqual([
        `memory: dropped ${worstFirst.length} of ${BY_QUALITY.length} entries, the worst-scoring (solutions ${worstFirst.join(", ")})`,
      ]);
    }
  });

  it("takes the metric direction into account when ranking memory", () => {
    const ctx = bigCtx({
      lowerIsBetter: false,
      memory: bigCtx().memory.map((m) => ({ ...m, metric: m.metric && { ...m.metric, lowerIsBetter: false } })),
    });
    const full = renderPromptFor(improve, ctx).length;
    const oneLess = renderPromptFor(improve, { ...ctx, memory: ctx.memory.slice(1) }).length;
    const r = fitPrompt(improve, ctx, Math.floor((oneLess + 20) / CHARS_PER_TOKEN));
    expect(full).toBeGreaterThan(oneLess);
    expect(memoryIds(r)).toEqual(ctx.memory.map((m) => m.id).filter((id) => id !== 6)); // no metric still goes first
    const r2 = fitPrompt(improve, ctx, Math.floor((oneLess - (full - oneLess) + 20) / CHARS_PER_TOKEN));
    expect(memoryIds(r2)).toEqual(ctx.memory.map((m) => m.id).filter((id) => id !== 6 && id !== 4)); // 0.21 is now the worst
  });

  it("cuts in the stated order as the budget shrinks: each stage only once the one before is used up", () => {
    const ctx = bigCtx();
    let seenStages = 0;
    for (let budget = 16_000; budget >= 2_500; budget -= 250) {
      const r = fitPrompt(improve, ctx, budget);
      const md = checkFitted(r, ctx, budget);
      const stages = stagesOf(r);
      seenStages = Math.max(seenStages, stages.length);
      if (!r.overBudget) expect(r.estimatedTokens).toBeLessThanOrEqual(budget);
      const beforeLastResort = !stages.includes("last resort");
      if (stages.includes("sibling plans") && beforeLastResort) expect(memoryIds(r)).toEqual([4]); // the best entry stays longest
      if (stages.includes("data overview")) expect(findSection(r.sections, SECTION.siblings)).toBeUndefined();
      if (stages.includes("data overview") && beforeLastResort) {
        expect(md).toContain("PREVIEW_START");
        expect(md).toMatch(
          /\[\.\.\. data overview cut to its first [\d,]+ of [\d,]+ characters to fit the prompt budget \.\.\.\]/,
        );
        expect(md).not.toContain("PREVIEW_END");
      }
      if (stages.includes("guidance") && beforeLastResort) {
        expect(findSection(r.sections, SECTION.dataPreview)!.body!.length).toBeLessThan(MIN_PREVIEW_CHARS + 200);
        const notes = findSection(r.sections, SECTION.guidance)!.items!.map((i) => i.slice(0, 6));
        expect(["NOTE_2,NOTE_3", "NOTE_3"]).toContain(notes.join()); // the oldest go first
      }
      if (stages.includes("last resort")) {
        expect(r.trimmed.find((t) => t.startsWith("last resort"))).toBe(
          "last resort: dropped the best memory entry, the newest guidance note, the data overview, the parent's plan (the parent's code is kept whole)",
        );
        expect(findSection(r.sections, SECTION.memory)).toBeUndefined();
        expect(findSection(r.sections, SECTION.guidance)).toBeUndefined();
        expect(md).not.toContain("PARENT_PLAN");
        expect(md).not.toContain("PREVIEW_START");
        expect(findSection(r.sections, SECTION.dataPreview)!.body).toMatch(/^\(left out to fit the prompt budget/);
      }
      if (stages.includes("task description")) {
        expect(md).toContain("TASK_START");
        expect(md).not.toContain("TASK_END");
        expect(md).toMatch(
          /\[\.\.\. the rest of the task description \([\d,]+ characters\) was cut to fit the prompt budget \.\.\.\]/,
        );
      }
      expect(stages).not.toContain("execution output"); // an improve prompt shows none
    }
    expect(seenStages).toBe(6); // the sweep reached every stage an improve prompt has
  });

  it("cuts a debug prompt's output in the middle, keeping its first lines and the traceback at its tail", () => {
    const ctx = bigCtx({ dataPreview: "train.csv: 10 rows" });
    const full = renderPromptFor(debug, ctx).length;
    const budget = Math.floor((full - 3000) / CHARS_PER_TOKEN);
    const r = fitPrompt(debug, ctx, budget);
    const md = checkFitted(r, ctx, budget);
    expect(r.overBudget).toBe(false);
    expect(stagesOf(r)).toEqual(["execution output"]); // memory and siblings are not in debug prompts; the preview is short
    const output = findSection(r.sections, SECTION.executionOutput)!.body!;
    expect(output).toContain("OUTPUT_HEAD starting");
    expect(output).toContain("Traceback (most recent call last):");
    expect(output).toContain("ValueError: OUTPUT_TAIL");
    expect(output).toMatch(/\[\.\.\. [\d,]+ characters of output cut here to fit the prompt budget \.\.\.\]/);
    expect(output.indexOf("OUTPUT_HEAD")).toBeLessThan(output.indexOf("characters of output cut here"));
    expect(md).toContain("PARENT_ANALYSIS");

    const tight = fitPrompt(debug, ctx, 3000);
    checkFitted(tight, ctx, 3000);
    expect(stagesOf(tight).slice(0, 2)).toEqual(["execution output", "guidance"]);
    const kept = findSection(tight.sections, SECTION.executionOutput)!.body!;
    expect(kept.length).toBeGreaterThanOrEqual(MIN_OUTPUT_CHARS);
    expect(kept).toContain("ValueError: OUTPUT_TAIL");
    expect(tight.trimmed.find((t) => t.startsWith("last resort"))).toContain("the parent's analysis");
  });

  it("trims a draft prompt's memory and siblings first", () => {
    const ctx = bigCtx({ parent: undefined });
    const r = fitPrompt(draft, ctx, 9_000);
    checkFitted(r, ctx, 9_000);
    expect(r.overBudget).toBe(false);
    expect(stagesOf(r).slice(0, 2)).toEqual(["memory", "sibling plans"]);
  });

  it("returns the smallest prompt, flagged, when even that is over the budget", () => {
    const huge = `import numpy as np\n${filler("# HUGE_CODE", 60_000)}\nprint('HUGE_END')\n`;
    const ctx = bigCtx({ parent: parentNode({ code: huge }) });
    const r = fitPrompt(improve, ctx, 12_000);
    const md = checkFitted(r, ctx, 12_000);
    expect(r.overBudget).toBe(true);
    expect(r.estimatedTokens).toBeGreaterThan(12_000);
    expect(md).toContain(codeFence(huge, "python"));
    expect(stagesOf(r)).toEqual([
      "memory",
      "sibling plans",
      "data overview",
      "guidance",
      "last resort",
      "task description",
    ]);
    expect(md).toContain("TASK_START");
    expect(md).not.toContain("TASK_END");
  });
});
