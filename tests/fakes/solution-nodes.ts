/**
 * Solution nodes and run records for tests that need a journal without running a search (the tree page, the
 * chart): `solutionNode(3, { parentId: 1, metric: 0.8 })`.
 */
import type { SolutionNode } from "../../src/search/types.ts";
import type { RunRecord } from "../../src/store/types.ts";

export interface NodeSpec {
  parentId?: number | null;
  /** null: a buggy node. */
  metric?: number | null;
  /** null: recorded before the run knew its direction. */
  lowerIsBetter?: boolean | null;
  metricName?: string;
  /** Why the node's metric is not ranked (another metric than the run's). */
  unranked?: string;
  code?: string;
  plan?: string;
  analysis?: string;
  output?: string;
  timedOut?: boolean;
}

export function solutionNode(id: number, spec: NodeSpec = {}): SolutionNode {
  const metric = spec.metric === undefined ? 0.5 : spec.metric;
  const parentId = spec.parentId ?? null;
  return {
    id,
    parentId,
    step: id,
    stage: parentId === null ? "draft" : metric === null ? "improve" : "improve",
    plan: spec.plan ?? `Plan of node ${id}: fit a model.`,
    code: spec.code ?? `import pandas as pd\n# node ${id}\nprint("AIDE_METRIC", ${metric ?? 0})\n`,
    metric:
      metric === null
        ? null
        : {
            name: spec.metricName ?? "roc_auc",
            value: metric,
            lowerIsBetter: spec.lowerIsBetter === undefined ? false : spec.lowerIsBetter,
          },
    ...(spec.unranked ? { unranked: spec.unranked } : {}),
    buggy: metric === null,
    analysis: spec.analysis ?? (metric === null ? "The script raised a KeyError." : "Looks fine."),
    execTimeMs: 1200,
    exitCode: metric === null ? 1 : 0,
    timedOut: spec.timedOut ?? false,
    killed: false,
    output:
      spec.output ??
      (metric === null ? "Traceback (most recent call last):\nKeyError: 'target'" : `AIDE_METRIC ${metric}`),
    submissionOk: metric !== null,
    submissionPath: null,
    usage: { promptTokens: 0, completionTokens: 0, costUsd: 0 },
    coder: "offline (no model)",
    createdAt: "2026-11-22T10:00:00.000Z",
    finishedAt: "2026-11-22T10:00:01.000Z",
  };
}

export function runRecord(over: Partial<RunRecord> = {}): RunRecord {
  const now = new Date("2026-11-22T10:00:00.000Z");
  return {
    id: "rtree0001",
    task: "Predict loan default; metric ROC AUC",
    links: [],
    options: { steps: 10, parallel: 1, coder: "offline", metric: null, timeoutSec: 60, budgetUsd: null },
    status: "running",
    owner: { platform: "slack", userId: "U1", displayName: "Ada" },
    origin: { platform: "slack", channel: "C1", thread: null },
    admins: [],
    followers: [],
    verbose: false,
    progress: {
      step: 0,
      totalSteps: 10,
      nodes: 0,
      bestNodeId: null,
      bestMetric: null,
      bestHoldout: null,
      metricName: null,
      lowerIsBetter: null,
      holdoutLine: null,
      delivered: null,
    },
    usage: { promptTokens: 0, completionTokens: 0, costUsd: 0 },
    error: null,
    finishReason: null,
    worker: null,
    createdAt: now,
    updatedAt: now,
    startedAt: null,
    finishedAt: null,
    ...over,
  };
}
