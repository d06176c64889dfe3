import { describe, expect, it } from "vitest";
import {
  SECTION,
  codeFence,
  debugPrompt,
  draftPrompt,
  findSection,
  humanDuration,
  improvePrompt,
  promptFor,
  renderMarkdown,
  reviewPrompt,
  runTimeNote,
  type PromptSection,
} from "../../../src/search/prompts.ts";
import type { PromptContext, ReviewInput, SolutionNode } from "../../../src/search/types.ts";

function node(overrides: Partial<SolutionNode> = {}): SolutionNode {
  return {
    id: 3,
    parentId: null,
    step: 3,
    stage: "draft",
    plan: "Gradient boosting on raw features.",
    code: "import pandas as pd\nprint('PARENT_CODE_MARKER')\n",
    metric: { name: "rmse", value: 0.42, lowerIsBetter: true },
    buggy: false,
    analysis: "KeyError: 'target' on line 12",
    execTimeMs: 1000,
    exitCode: 1,
    timedOut: false,
    killed: false,
    output: "Traceback (most recent call last):\nKeyError: 'target'",
    submissionOk: false,
    submissionPath: null,
    usage: { promptTokens: 0, completionTokens: 0, costUsd: 0 },
    coder: "test",
    createdAt: "2024-01-01T00:00:00Z",
    finishedAt: "2024-01-01T00:00:01Z",
    ...overrides,
  };
}

function ctx(overrides: Partial<PromptContext> = {}): PromptContext {
  return {
    task: "Predict house prices from tabular features.",
    dataPreview: "train.csv: 1460 rows, 81 columns",
    memory: [],
    guidance: [],
    siblings: [],
    journal: [],
    timeLimitSec: 5400,
    packages: ["numpy", "pandas", "scikit-learn"],
    step: 0,
    totalSteps: 10,
    ...overrides,
  };
}

const titles = (sections: PromptSection[]) => sections.map((s) => s.title);

describe("renderMarkdown", () => {
  it("renders headings by depth, bodies and bullet items", () => {
    const md = renderMarkdown([
      {
        title: "Top",
        body: "Body text.",
        items: ["one", "two\nlines"],
        children: [{ title: "Child", children: [{ title: "Grandchild", body: "deep" }] }],
      },
      { title: "Second" },
    ]);
    expect(md).toBe("# Top\n\nBody text.\n\n- one\n- two\n  lines\n\n## Child\n\n### Grandchild\n\ndeep\n\n# Second");
  });

  it("fences code with a fence longer than any backtick run inside", () => {
    expect(codeFence("print(1)", "python")).toBe("```python\nprint(1)\n```");
    expect(codeFence("s = '````'")).toMatch(/^`````\n/);
  });

  it("formats durations for people", () => {
    expect(humanDuration(5400)).toBe("1 hour 30 minutes");
    expect(humanDuration(3600)).toBe("1 hour");
    expect(humanDuration(90)).toBe("1 minute 30 seconds");
    expect(humanDuration(1)).toBe("1 second");
    expect(humanDuration(0)).toBe("0 seconds");
  });
});

describe("draftPrompt", () => {
  it("has the intro, task, instructions and their parts, without memory or guidance when empty", () => {
    const sections = draftPrompt(ctx());
    expect(titles(sections)).toEqual([SECTION.intro, SECTION.task, SECTION.instructions]);
    const instructions = findSection(sections, SECTION.instructions)!;
    expect(titles(instructions.children!)).toEqual([
      SECTION.responseFormat,
      SECTION.sketch,
      SECTION.implementation,
      SECTION.packages,
      SECTION.dataPreview,
    ]);
    const md = renderMarkdown(sections);
    expect(md).toContain("Kaggle grandmaster");
    expect(md).toContain("Predict house prices");
    expect(md).toMatch(/three to five sentences/);
    expect(md).toContain("./input");
    expect(md).toContain("./working/submission.csv");
    expect(md).toContain("sample_submission.csv");
    expect(md).toContain('AIDE_METRIC {"name": ');
    expect(md).toContain("1 hour 30 minutes");
    expect(md).toContain("`scikit-learn`");
    expect(md).toContain("train.csv: 1460 rows");
    expect(md).toMatch(/no network/i);
    expect(md).toMatch(/No ensembles/);
  });

  it("renders memory entries with plan, findings and metric", () => {
    const sections = draftPrompt(
      ctx({
        memory: [
          {
            id: 1,
            plan: "Ridge regression.",
            analysis: "Underfits.",
            metric: { name: "rmse", value: 0.31, lowerIsBetter: true },
            stage: "draft",
          },
          { id: 4, plan: "LightGBM.", analysis: "Best so far.", metric: null, stage: "improve" },
        ],
      }),
    );
    expect(titles(sections)).toEqual([SECTION.intro, SECTION.task, SECTION.memory, SECTION.instructions]);
    const memory = findSection(sections, SECTION.memory)!;
    expect(memory.children!.map((c) => c.title)).toEqual(["Solution 1 (draft)", "Solution 4 (improve)"]);
    const md = renderMarkdown(sections);
    expect(md).toContain("## Solution 1 (draft)");
    expect(md).toContain("- Plan: Ridge regression.");
    expect(md).toContain("- Findings: Underfits.");
    expect(md).toContain("rmse = 0.31 (lower is better)");
    expect(md).toContain("no valid metric");
    expect(md).toMatch(/differs clearly from the designs listed under Memory/);
  });

  it("mentions the metric hint and direction when known", () => {
    const md = renderMarkdown(draftPrompt(ctx({ metricHint: "RMSE on log prices", lowerIsBetter: true })));
    expect(md).toContain("RMSE on log prices");
    expect(md).toContain("lower_is_better = true");
  });
});

describe("guidance", () => {
  const parent = node();
  const kinds = {
    draft: () => draftPrompt(ctx({ guidance: ["Try CatBoost.", "  ", "Keep it under 10 minutes."] })),
    improve: () => improvePrompt(ctx({ parent, guidance: ["Try CatBoost.", "Keep it under 10 minutes."] })),
    debug: () => debugPrompt(ctx({ parent, guidance: ["Try CatBoost.", "Keep it under 10 minutes."] })),
  };

  for (const [kind, build] of Object.entries(kinds)) {
    it(`gets its own section in the ${kind} prompt when given`, () => {
      const sections = build();
      const guidance = sections.find((s) => s.title === SECTION.guidance);
      expect(guidance?.items).toEqual(["Try CatBoost.", "Keep it under 10 minutes."]);
      expect(renderMarkdown(sections)).toContain("# Guidance from the team");
    });
  }

  it("is absent when there is none", () => {
    for (const sections of [draftPrompt(ctx()), improvePrompt(ctx({ parent })), debugPrompt(ctx({ parent }))]) {
      expect(findSection(sections, SECTION.guidance)).toBeUndefined();
    }
    expect(findSection(draftPrompt(ctx({ guidance: ["   "] })), SECTION.guidance)).toBeUndefined();
  });
});

describe("improvePrompt", () => {
  it("asks for one atomic change and shows the previous code", () => {
    const sections = improvePrompt(ctx({ parent: node(), siblings: [{ plan: "Add target encoding.", code: "" }] }));
    expect(titles(sections)).toEqual([
      SECTION.intro,
      SECTION.task,
      SECTION.siblings,
      SECTION.instructions,
      SECTION.previousSolution,
      SECTION.dataPreview,
    ]);
    expect(titles(findSection(sections, SECTION.instructions)!.children!)).toEqual([
      SECTION.responseFormat,
      SECTION.improvement,
      SECTION.implementation,
      SECTION.packages,
    ]);
    const md = renderMarkdown(sections);
    expect(md).toMatch(/one atomic change/);
    expect(md).toContain("PARENT_CODE_MARKER");
    expect(md).toContain("```python\nimport pandas as pd");
    expect(md).toContain("Add target encoding.");
    expect(md).toContain("rmse = 0.42");
    expect(md).toContain("./working/submission.csv");
  });

  it("needs a parent", () => {
    expect(() => improvePrompt(ctx())).toThrow(/parent/);
  });
});

describe("debugPrompt", () => {
  it("shows the buggy code, its output and the analysis, without memory", () => {
    const sections = debugPrompt(
      ctx({
        parent: node({ buggy: true }),
        memory: [{ id: 1, plan: "x", analysis: "y", metric: null, stage: "draft" }],
      }),
    );
    expect(titles(sections)).toEqual([
      SECTION.intro,
      SECTION.task,
      SECTION.buggyCode,
      SECTION.executionOutput,
      SECTION.analysis,
      SECTION.instructions,
      SECTION.dataPreview,
    ]);
    const md = renderMarkdown(sections);
    expect(md).toContain("PARENT_CODE_MARKER");
    expect(md).toContain("KeyError: 'target'");
    expect(md).toContain("KeyError: 'target' on line 12");
    expect(md).toMatch(/what the bug is and how you fix it/);
    expect(md).toContain("whole corrected script");
    expect(md).toContain('AIDE_METRIC {"name": ');
  });

  it("omits the analysis section when there is none and notes empty output", () => {
    const sections = debugPrompt(ctx({ parent: node({ analysis: "", output: "" }) }));
    expect(findSection(sections, SECTION.analysis)).toBeUndefined();
    expect(renderMarkdown(sections)).toContain("(the script printed nothing)");
  });
});

describe("the parent's run time against the limit", () => {
  const bugfixItems = (c: PromptContext) => findSection(debugPrompt(c), SECTION.bugfix)!.items!;
  const improvementItems = (c: PromptContext) => findSection(improvePrompt(c), SECTION.improvement)!.items!;
  const timeItems = (items: string[]) => items.filter((i) => i.startsWith("The previous solution ran for"));

  it("improve prompts say how long the parent ran, of how long, and the share", () => {
    const c = ctx({ parent: node({ execTimeMs: 200_000 }), timeLimitSec: 600 });
    expect(timeItems(improvementItems(c))).toEqual([
      "The previous solution ran for 3 minutes 20 seconds of the 10 minutes allowed (33%).",
    ]);
    expect(renderMarkdown(improvePrompt(c))).toContain(
      "- The previous solution ran for 3 minutes 20 seconds of the 10 minutes allowed (33%).\n",
    );
  });

  it("improve prompts warn, above half the limit, that a change must not make it much slower", () => {
    const [item] = timeItems(improvementItems(ctx({ parent: node({ execTimeMs: 420_000 }), timeLimitSec: 600 })));
    expect(item).toMatch(
      /^The previous solution ran for 7 minutes of the 10 minutes allowed \(70%\)\. That is more than half the limit: a change must not make it much slower/,
    );
    const [atHalf] = timeItems(improvementItems(ctx({ parent: node({ execTimeMs: 300_000 }), timeLimitSec: 600 })));
    expect(atHalf).toBe("The previous solution ran for 5 minutes of the 10 minutes allowed (50%).");
  });

  it("debug prompts say it only when the parent timed out or ran long", () => {
    expect(timeItems(bugfixItems(ctx({ parent: node({ execTimeMs: 30_000 }), timeLimitSec: 600 })))).toEqual([]);
    const [timedOut] = timeItems(
      bugfixItems(ctx({ parent: node({ execTimeMs: 600_400, timedOut: true }), timeLimitSec: 600 })),
    );
    expect(timedOut).toMatch(
      /^The previous solution ran for 10 minutes of the 10 minutes allowed \(100%\)\. It hit the limit and was stopped/,
    );
    const [slow] = timeItems(bugfixItems(ctx({ parent: node({ execTimeMs: 500_000 }), timeLimitSec: 600 })));
    expect(slow).toMatch(/\(83%\)\. That is more than half the limit: a change must not make it much slower/);
  });

  it("says nothing without a limit to compare with", () => {
    expect(runTimeNote(node({ execTimeMs: 5000 }), 0)).toBeNull();
    expect(timeItems(improvementItems(ctx({ parent: node(), timeLimitSec: 0 })))).toEqual([]);
  });
});

describe("installed packages", () => {
  const body = (packages: string[]) => findSection(draftPrompt(ctx({ packages })), SECTION.packages)!.body;

  it("name the interpreter apart from the packages, with their versions", () => {
    expect(body(["Python 3.11.2", "numpy 1.24.2", "scikit-learn 1.2.1"])).toBe(
      "Scripts run on Python 3.11.2. These Python packages are available; nothing else can be installed: `numpy 1.24.2`, `scikit-learn 1.2.1`.",
    );
    expect(body(["numpy", " pandas ", ""])).toBe(
      "These Python packages are available; nothing else can be installed: `numpy`, `pandas`.",
    );
    expect(body(["Python 3.12.0"])).toBe(
      "Scripts run on Python 3.12.0. Only the Python standard library is known to be available; nothing can be installed.",
    );
  });
});

describe("promptFor", () => {
  it("dispatches on the action kind", () => {
    const c = ctx({ parent: node() });
    expect(promptFor({ kind: "draft" }, c)).toEqual(draftPrompt(c));
    expect(promptFor({ kind: "improve", parent: 3 }, c)).toEqual(improvePrompt(c));
    expect(promptFor({ kind: "debug", parent: 3 }, c)).toEqual(debugPrompt(c));
  });
});

describe("reviewPrompt", () => {
  const input: ReviewInput = {
    task: "Predict house prices.",
    stage: "improve",
    plan: "Use LightGBM.",
    code: "print('REVIEW_CODE')",
    output: 'AIDE_METRIC {"name": "rmse", "value": 0.2}',
    parsedMetric: { name: "rmse", value: 0.2, lowerIsBetter: true },
    problems: ["submission.csv has 3 rows, expected 1459"],
  };

  it("shows task, code, output, problems and asks for the tool call", () => {
    const md = renderMarkdown(reviewPrompt(input));
    expect(md).toContain("Predict house prices.");
    expect(md).toContain("REVIEW_CODE");
    expect(md).toContain("AIDE_METRIC");
    expect(md).toContain("submission.csv has 3 rows");
    expect(md).toContain("submit_review");
    expect(md).toContain("rmse = 0.2");
  });

  it("omits problems when there are none and adds run facts when given", () => {
    const sections = reviewPrompt(
      { ...input, problems: [], parsedMetric: null },
      {
        exitCode: 0,
        signal: null,
        timedOut: true,
        outOfMemory: false,
        durationMs: 61_000,
        output: "",
        outputCapped: false,
        workingDir: "/tmp/x",
      },
    );
    expect(findSection(sections, SECTION.problems)).toBeUndefined();
    const md = renderMarkdown(sections);
    expect(md).toContain("1 minute 1 second");
    expect(md).toContain("time limit");
    expect(md).toContain("no valid AIDE_METRIC line");
  });
});

describe("metrics without a direction, and unranked ones", () => {
  it("says when no one stated the direction instead of calling it 'higher is better'", () => {
    const input: ReviewInput = {
      task: "t",
      stage: "draft",
      plan: "",
      code: "",
      output: "",
      parsedMetric: { name: "rmse", value: 0.2, lowerIsBetter: null },
      problems: [],
    };
    const md = renderMarkdown(reviewPrompt(input));
    expect(md).toContain("The script printed: rmse = 0.2 (not stated whether lower or higher is better).");
    expect(findSection(reviewPrompt(input), SECTION.reportedMetric)!.body).toBe(
      "The script printed: rmse = 0.2 (not stated whether lower or higher is better).",
    );
  });

  it("shows an unranked metric flagged in memory, and asks an improve of it to report the run's metric", () => {
    const reason = "it reported mae, but this run is judged by rmse";
    const metric = { name: "mae", value: 0.3, lowerIsBetter: true };
    const memory = renderMarkdown(
      draftPrompt(ctx({ memory: [{ id: 2, plan: "p", analysis: "a", metric, stage: "draft", unranked: reason }] })),
    );
    expect(memory).toContain(`Validation metric: mae = 0.3 (lower is better; not ranked: ${reason})`);
    const items = findSection(improvePrompt(ctx({ parent: node({ metric, unranked: reason }) })), SECTION.improvement)!
      .items!;
    expect(items).toContain(`Previous result: mae = 0.3 (lower is better; not ranked: ${reason}).`);
    expect(items.some((i) => i.includes("compute and report the run's metric instead"))).toBe(true);
    const ranked = findSection(improvePrompt(ctx({ parent: node() })), SECTION.improvement)!.items!;
    expect(ranked.some((i) => i.includes("run's metric instead"))).toBe(false);
  });
});
