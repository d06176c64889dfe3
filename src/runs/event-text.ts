import { formatScores } from "../search/metric.ts";
import { memberList } from "../search/journal.ts";
import type { RunEvent, StepAction } from "../search/types.ts";

function action(a: StepAction): string {
  if (a.kind === "ensemble") return `ensemble of ${memberList(a.members)}`;
  return a.kind === "draft" ? "draft" : `${a.kind} of node ${a.parent}`;
}

/** One line of plain text per run event, as `aide events` prints it and as logs show it. */
export function describeEvent(e: RunEvent): string {
  switch (e.type) {
    case "run.started":
      return `run started: ${e.steps} steps, coder ${e.coder}, executor ${e.executor}${e.holdout ? `; ${e.holdout}` : ""}`;
    case "step.started":
      return `step ${e.nodeId} started: ${action(e.action)}`;
    case "step.finished": {
      const n = e.node;
      const result = n.buggy ? `buggy (${n.analysis.split(/(?<=\.)\s/)[0]?.slice(0, 160) ?? ""})` : formatScores(n);
      return `step ${n.id} finished: ${n.stage}${n.parentId === null ? "" : ` of node ${n.parentId}`} -> ${result}`;
    }
    case "best.improved":
      return `new best: node ${e.node.id}, ${formatScores(e.node)}${e.previous ? ` (was ${formatScores(e.previous)} at node ${e.previous.id})` : ""}`;
    case "steer.applied":
      return `steering applied: ${e.note}`;
    case "run.paused":
      return "run paused";
    case "run.finished":
      return `run finished (${e.reason}): ${e.best ? `best node ${e.best.id}, ${formatScores(e.best)}` : "no working solution"}`;
    case "run.failed":
      return `run failed: ${e.error}`;
  }
}
