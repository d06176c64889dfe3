/**
 * Prompts as data. Every prompt is a small tree of titled sections that `renderMarkdown` turns into a
 * markdown document (one heading level per depth, items as bullets). The builders are pure functions of
 * the `PromptContext` (or `ReviewInput`), so tests can look at the structure rather than at strings, and
 * other coders can reuse or rearrange the sections.
 */
import { METRIC_LINE_PREFIX } from "./metric.ts";
import type { Action, ExecutionResult, MetricReport, PromptContext, ReviewInput, SolutionNode } from "./types.ts";

export interface PromptSection {
  title: string;
  body?: string;
  items?: string[];
  children?: PromptSection[];
}

/** Section titles, exported so tests and other coders can find sections without repeating strings. */
export const SECTION = {
  intro: "Introduction",
  task: "Task description",
  memory: "Memory",
  guidance: "Guidance from the team",
  siblings: "Ideas already tried from the same starting point",
  instructions: "Instructions",
  responseFormat: "Response format",
  sketch: "Solution sketch guidelines",
  improvement: "Improvement guidelines",
  bugfix: "Bug-fix guidelines",
  implementation: "Implementation guidelines",
  packages: "Installed packages",
  dataPreview: "Data overview",
  previousSolution: "Previous solution",
  buggyCode: "Code that failed",
  executionOutput: "Execution output",
  analysis: "What went wrong",
  reviewedRun: "The run under review",
  problems: "Problems the harness detected",
  reportedMetric: "Metric the script reported",
} as const;

// ---------------------------------------------------------------------------------------------------
// Rendering

/**
 * Renders sections as markdown: top-level sections are `#` headings, their children `##`, and so on (capped
 * at `######`). The body follows the heading as is; items become `- ` bullets (continuation lines of a
 * multi-line item are indented so they stay inside the bullet). Blocks are separated by one blank line.
 */
export function renderMarkdown(sections: readonly PromptSection[], depth = 1): string {
  return sections.map((s) => renderSection(s, depth)).join("\n\n");
}

function renderSection(section: PromptSection, depth: number): string {
  const blocks: string[] = [`${"#".repeat(Math.min(Math.max(depth, 1), 6))} ${section.title}`];
  const body = section.body?.trim();
  if (body) blocks.push(body);
  if (section.items && section.items.length > 0) {
    blocks.push(section.items.map((item) => `- ${item.trim().replace(/\n/g, "\n  ")}`).join("\n"));
  }
  if (section.children && section.children.length > 0) blocks.push(renderMarkdown(section.children, depth + 1));
  return blocks.join("\n\n");
}

/** Wraps code in a fence longer than any backtick run inside it, so embedded fences cannot end it early. */
export function codeFence(code: string, lang = ""): string {
  const longestRun = Math.max(2, ...(code.match(/`+/g) ?? []).map((run) => run.length));
  const fence = "`".repeat(longestRun + 1);
  return `${fence}${lang}\n${code.replace(/\s+$/, "")}\n${fence}`;
}

/** 90 -> "1 minute 30 seconds", 3600 -> "1 hour", 5400 -> "1 hour 30 minutes". */
export function humanDuration(totalSeconds: number): string {
  const secs = Math.max(0, Math.round(totalSeconds));
  const hours = Math.floor(secs / 3600);
  const minutes = Math.floor((secs % 3600) / 60);
  const seconds = secs % 60;
  const parts: string[] = [];
  const unit = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
  if (hours) parts.push(unit(hours, "hour"));
  if (minutes) parts.push(unit(minutes, "minute"));
  if (seconds || parts.length === 0) parts.push(unit(seconds, "second"));
  return parts.join(" ");
}

/** "rmse = 0.31 (lower is better)"; a direction no one stated is said to be unknown, an unranked metric marked. */
function describeMetric(metric: MetricReport | null, unranked?: string | null): string {
  if (!metric) return "no valid metric";
  const direction =
    metric.lowerIsBetter === null
      ? "not stated whether lower or higher is better"
      : `${metric.lowerIsBetter ? "lower" : "higher"} is better`;
  return `${metric.name} = ${metric.value} (${direction}${unranked ? `; not ranked: ${unranked}` : ""})`;
}

// ---------------------------------------------------------------------------------------------------
// Shared sections

function introSection(kind: "draft" | "improve" | "debug"): PromptSection {
  const goal = {
    draft: "Your job now is to write a first, working solution for the task below.",
    improve: "Your job now is to take an existing working solution and make it score better, one change at a time.",
    debug: "Your job now is to repair a solution whose run went wrong, so that it runs cleanly and reports its metric.",
  }[kind];
  return {
    title: SECTION.intro,
    body:
      "You are a machine learning engineer at the level of a Kaggle grandmaster, attacking a competition-style task. " +
      "You work inside an automated search: every script you write is executed in a sandbox, and its printed validation " +
      `score decides which ideas are explored further. ${goal}`,
  };
}

function taskSection(task: string): PromptSection {
  return { title: SECTION.task, body: task.trim() || "(no task description was given)" };
}

/** Earlier good solutions; null when there are none, so the caller can omit the section. */
function memorySection(ctx: PromptContext): PromptSection | null {
  if (ctx.memory.length === 0) return null;
  return {
    title: SECTION.memory,
    body: "Designs tried so far in this run that produced a score. Learn from them, and do not simply resubmit one of them.",
    children: ctx.memory.map((m) => ({
      title: `Solution ${m.id} (${m.stage})`,
      items: [
        `Plan: ${m.plan.trim() || "(none recorded)"}`,
        `Findings: ${m.analysis.trim() || "(none recorded)"}`,
        `Validation metric: ${describeMetric(m.metric, m.unranked)}`,
      ],
    })),
  };
}

/** Notes from the people steering the run; null when there are none. */
function guidanceSection(ctx: PromptContext): PromptSection | null {
  const notes = ctx.guidance.map((g) => g.trim()).filter((g) => g.length > 0);
  if (notes.length === 0) return null;
  return {
    title: SECTION.guidance,
    body:
      "The people running this search sent the notes below (oldest first; when two disagree, the later one wins). " +
      "Follow them unless they would make the script fail.",
    items: notes,
  };
}

function siblingsSection(ctx: PromptContext): PromptSection | null {
  const plans = ctx.siblings.map((s) => s.plan.trim()).filter((p) => p.length > 0);
  if (plans.length === 0) return null;
  return {
    title: SECTION.siblings,
    body: "Other attempts from the same starting point already cover these ideas; pick something different.",
    items: plans,
  };
}

function implementationSection(ctx: PromptContext): PromptSection {
  const metricExample = `${METRIC_LINE_PREFIX} {"name": "<metric name>", "value": <number>, "lower_is_better": <true|false>}`;
  const items = [
    "The task's data files are in the `./input` directory. Read them from there; do not expect them anywhere else.",
    "Write the predictions for the test set to `./working/submission.csv`, with exactly the columns, order and format of `sample_submission.csv` in `./input` (when that file exists). This file is required.",
    "Put any other file you create (models, caches, intermediate tables) under `./working` as well; `./input` is read-only.",
    "Measure performance on data the model did not train on: a hold-out split or cross-validation on the training data.",
    `Print the validation result as exactly one line of this shape, with valid JSON after the prefix: \`${metricExample}\`.`,
  ];
  if (ctx.metricHint) items.push(`The task is judged by ${ctx.metricHint}; report that metric.`);
  if (ctx.lowerIsBetter !== undefined) {
    items.push(
      `This run compares scores with lower_is_better = ${ctx.lowerIsBetter}; report the metric in that direction.`,
    );
  }
  items.push(
    `The whole script must finish within ${humanDuration(ctx.timeLimitSec)}, or it is stopped and counted as failed. Size models, folds and epochs to fit.`,
    "Everything goes in one self-contained Python file that runs from top to bottom, without command-line arguments or user input.",
    "There is no network access: do not download data, pretrained weights or packages.",
  );
  return { title: SECTION.implementation, items };
}

/** What `ctx.packages` lists, as the sandbox reported it ("scikit-learn 1.2.1"); an entry "Python 3.11.2" names the interpreter. */
function packagesSection(ctx: PromptContext): PromptSection {
  const entries = ctx.packages.map((p) => p.trim()).filter((p) => p.length > 0);
  const python = entries.find((p) => /^Python \d/.test(p));
  const packages = entries.filter((p) => p !== python);
  const interpreter = python ? `Scripts run on ${python}. ` : "";
  return {
    title: SECTION.packages,
    body:
      packages.length > 0
        ? `${interpreter}These Python packages are available; nothing else can be installed: ${packages.map((p) => `\`${p}\``).join(", ")}.`
        : `${interpreter}Only the Python standard library is known to be available; nothing can be installed.`,
  };
}

function dataPreviewSection(ctx: PromptContext): PromptSection {
  return {
    title: SECTION.dataPreview,
    body: ctx.dataPreview.trim() || "(no preview of the input directory is available)",
  };
}

function responseFormatSection(planWhat: string, codeWhat: string): PromptSection {
  return {
    title: SECTION.responseFormat,
    body:
      `Start with ${planWhat}. Then give ${codeWhat} as a single fenced \`\`\`python code block. ` +
      "Write nothing after the code block, and do not split the script across several blocks.",
  };
}

/** Above this share of the time limit, a prompt warns that a change must not make the script much slower. */
export const SLOW_RUN_SHARE = 0.5;

/**
 * "The previous solution ran for 3 minutes 20 seconds of the 10 minutes allowed (33%).", with a warning when
 * it used more than SLOW_RUN_SHARE of the limit or was stopped at it; null when there is no limit to compare with.
 */
export function runTimeNote(parent: SolutionNode, timeLimitSec: number): string | null {
  if (!(timeLimitSec > 0)) return null;
  const ranSec = Math.max(0, parent.execTimeMs) / 1000;
  const share = ranSec / timeLimitSec;
  const note = `The previous solution ran for ${humanDuration(ranSec)} of the ${humanDuration(timeLimitSec)} allowed (${Math.round(share * 100)}%).`;
  if (parent.timedOut)
    return `${note} It hit the limit and was stopped: the new version must be clearly cheaper, not just a little.`;
  if (share > SLOW_RUN_SHARE) {
    return `${note} That is more than half the limit: a change must not make it much slower (more folds, epochs, estimators or features could push it past the limit and lose the result).`;
  }
  return note;
}

function requireParent(ctx: PromptContext, kind: string): SolutionNode {
  if (!ctx.parent) throw new Error(`A ${kind} prompt needs ctx.parent`);
  return ctx.parent;
}

function compact<T>(items: Array<T | null>): T[] {
  return items.filter((s): s is T => s !== null);
}

/** Whether a debug prompt should say how long the parent ran: it timed out or used more than SLOW_RUN_SHARE of the limit. */
function ranLong(parent: SolutionNode, timeLimitSec: number): boolean {
  return parent.timedOut || (timeLimitSec > 0 && parent.execTimeMs / 1000 > timeLimitSec * SLOW_RUN_SHARE);
}

// ---------------------------------------------------------------------------------------------------
// Builders

export function draftPrompt(ctx: PromptContext): PromptSection[] {
  return compact([
    introSection("draft"),
    taskSection(ctx.task),
    memorySection(ctx),
    guidanceSection(ctx),
    siblingsSection(ctx),
    {
      title: SECTION.instructions,
      children: [
        responseFormatSection(
          "a plan of three to five sentences in plain prose describing the approach",
          "the complete script that carries out the plan",
        ),
        {
          title: SECTION.sketch,
          items: [
            "Keep this first design simple and quick to run; it is a baseline that later steps will refine.",
            "No ensembles and no extensive hyperparameter search in a first draft.",
            ctx.memory.length > 0
              ? "Choose an approach that differs clearly from the designs listed under Memory."
              : "Pick a sensible, well-understood model family for this kind of data.",
            "Let the plan name the model, the features or preprocessing, and how you validate.",
            "Do not explore the data at length in the script: a few printed shapes are fine, plots are not.",
          ],
        },
        implementationSection(ctx),
        packagesSection(ctx),
        dataPreviewSection(ctx),
      ],
    },
  ]);
}

export function improvePrompt(ctx: PromptContext): PromptSection[] {
  const parent = requireParent(ctx, "improve");
  return compact([
    introSection("improve"),
    taskSection(ctx.task),
    memorySection(ctx),
    guidanceSection(ctx),
    siblingsSection(ctx),
    {
      title: SECTION.instructions,
      children: [
        responseFormatSection(
          "a plan of three to five sentences explaining the single change you make and why it should raise the score",
          "the whole updated script, not only the changed lines",
        ),
        {
          title: SECTION.improvement,
          items: [
            "Make exactly one atomic change (a new feature, a different model, a tuned setting, a better validation scheme) so its effect can be measured on its own.",
            "Keep everything else from the previous solution as it is, including how the metric is computed and reported.",
            "Prefer changes you expect to matter most; avoid ones that only add run time.",
            `Previous result: ${describeMetric(parent.metric, parent.unranked)}.`,
            ...(parent.unranked
              ? [
                  "Its metric is not the one this run is judged by, so it cannot be compared: let your one change be to compute and report the run's metric instead.",
                ]
              : []),
            ...compact([runTimeNote(parent, ctx.timeLimitSec)]),
          ],
        },
        implementationSection(ctx),
        packagesSection(ctx),
      ],
    },
    {
      title: SECTION.previousSolution,
      body: `${parent.plan.trim() ? `Plan: ${parent.plan.trim()}\n\n` : ""}${codeFence(parent.code, "python")}`,
    },
    dataPreviewSection(ctx),
  ]);
}

export function debugPrompt(ctx: PromptContext): PromptSection[] {
  const parent = requireParent(ctx, "debug");
  return compact([
    introSection("debug"),
    taskSection(ctx.task),
    guidanceSection(ctx),
    {
      title: SECTION.buggyCode,
      body: `${parent.plan.trim() ? `Plan it followed: ${parent.plan.trim()}\n\n` : ""}${codeFence(parent.code, "python")}`,
    },
    {
      title: SECTION.executionOutput,
      body: parent.output.trim() ? codeFence(parent.output, "text") : "(the script printed nothing)",
    },
    parent.analysis.trim() ? { title: SECTION.analysis, body: parent.analysis.trim() } : null,
    {
      title: SECTION.instructions,
      children: [
        responseFormatSection(
          "a short description (a few sentences) of what the bug is and how you fix it",
          "the whole corrected script",
        ),
        {
          title: SECTION.bugfix,
          items: [
            "Fix the cause shown by the output and analysis; keep the rest of the approach unless it cannot work.",
            "If the run timed out, make it cheaper (fewer rows, folds, epochs or a lighter model) rather than hoping it gets faster.",
            "Make sure the fixed script still writes the submission file and prints the metric line.",
            ...compact([ranLong(parent, ctx.timeLimitSec) ? runTimeNote(parent, ctx.timeLimitSec) : null]),
          ],
        },
        implementationSection(ctx),
        packagesSection(ctx),
      ],
    },
    dataPreviewSection(ctx),
  ]);
}

/** Name of the one tool the reviewer must call. */
export const REVIEW_TOOL_NAME = "submit_review";

/**
 * How the reviewer answers: by calling the review tool, or (for models that take no tools) with one JSON
 * object of the same four fields as its whole answer.
 */
export type ReviewAnswerForm = "tool" | "json";

export function reviewPrompt(
  input: ReviewInput,
  result?: ExecutionResult,
  answerBy: ReviewAnswerForm = "tool",
): PromptSection[] {
  const run: string[] = [`Stage: ${input.stage}`];
  if (result) {
    run.push(
      `Exit code: ${result.exitCode ?? "none"}${result.signal ? ` (signal ${result.signal})` : ""}`,
      `Run time: ${humanDuration(result.durationMs / 1000)}`,
    );
    if (result.timedOut) run.push("The run hit its time limit and was stopped.");
    if (result.outOfMemory) run.push("The run exceeded its memory limit.");
  }
  return compact([
    {
      title: SECTION.intro,
      body:
        "You are an experienced machine learning engineer reviewing one run of a training script written for the task below. " +
        "Judge from the task, the code, the terminal output and the problems listed whether the run worked, and what it found.",
    },
    taskSection(input.task),
    {
      title: SECTION.reviewedRun,
      items: run,
      children: [
        { title: "Plan", body: input.plan.trim() || "(no plan given)" },
        { title: "Code", body: codeFence(input.code, "python") },
        {
          title: SECTION.executionOutput,
          body: input.output.trim() ? codeFence(input.output, "text") : "(the script printed nothing)",
        },
      ],
    },
    input.problems.length > 0 ? { title: SECTION.problems, items: input.problems } : null,
    {
      title: SECTION.reportedMetric,
      body: input.parsedMetric
        ? `The script printed: ${describeMetric(input.parsedMetric)}.`
        : `The script printed no valid ${METRIC_LINE_PREFIX} line.`,
    },
    {
      title: SECTION.instructions,
      items: [
        answerBy === "tool"
          ? `Answer only by calling the \`${REVIEW_TOOL_NAME}\` tool.`
          : 'Answer with one JSON object and nothing else (no prose, no code fence), with exactly these keys: {"is_bug": <true|false>, "summary": "<text>", "metric": <number or null>, "lower_is_better": <true, false or null>}.',
        "is_bug: true when the run failed (an exception, a timeout, no usable validation metric, a missing or malformed submission, or a metric that cannot be trusted such as validating on training data); false otherwise.",
        "summary: two to four sentences on what the run did and found (or why it failed), written so a later attempt can learn from it.",
        "metric: the validation score the output shows, as a number, or null when there is none.",
        "lower_is_better: true when a smaller value of that metric is better (errors, losses), false when larger is better (accuracy, AUC), or null when unknown.",
      ],
    },
  ]);
}

export function promptFor(action: Action, ctx: PromptContext): PromptSection[] {
  switch (action.kind) {
    case "draft":
      return draftPrompt(ctx);
    case "improve":
      return improvePrompt(ctx);
    case "debug":
      return debugPrompt(ctx);
  }
}

/** The rendered markdown of `promptFor(action, ctx)`. */
export function renderPromptFor(action: Action, ctx: PromptContext): string {
  return renderMarkdown(promptFor(action, ctx));
}

/** Finds a section by title anywhere in the tree (depth-first). */
export function findSection(sections: readonly PromptSection[], title: string): PromptSection | undefined {
  for (const s of sections) {
    if (s.title === title) return s;
    const inner = s.children ? findSection(s.children, title) : undefined;
    if (inner) return inner;
  }
  return undefined;
}
