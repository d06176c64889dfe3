import cliProgress from "cli-progress";
import Table from "cli-table3";
import { formatScores } from "../../src/search/metric.ts";
import { memberList } from "../../src/search/journal.ts";
import type { RunEvent, RunSink, SolutionNode, StepAction } from "../../src/search/types.ts";
import { truncate } from "../../src/util/text.ts";

export function describeAction(action: StepAction): string {
  if (action.kind === "ensemble") return `ensemble ${memberList(action.members)}`;
  return action.kind === "draft" ? "draft" : `${action.kind} #${action.parent}`;
}

function outcome(node: SolutionNode): string {
  if (!node.buggy) return formatScores(node);
  if (node.timedOut) return "timed out";
  if (node.killed) return "killed";
  return "buggy";
}

/**
 * Shows a run in the terminal: a cli-progress bar (step k/N, what is running, the last node's result, the
 * best so far) on a TTY, and one plain line per finished step elsewhere (CI logs, pipes).
 */
export class TerminalProgress implements RunSink {
  private bar: cliProgress.SingleBar | null = null;
  private readonly running = new Map<number, StepAction>();
  private best = "-";
  private done = 0;
  private total: number;

  constructor(
    total: number,
    private readonly out: NodeJS.WriteStream = process.stdout,
  ) {
    this.total = total;
    if (out.isTTY) {
      this.bar = new cliProgress.SingleBar(
        {
          format: " {bar} {value}/{total} | now: {now} | last: {last} | best: {best} | {duration_formatted}",
          hideCursor: true,
          stream: out,
          etaBuffer: 5,
        },
        cliProgress.Presets.shades_classic,
      );
    }
  }

  async nodeFinished(): Promise<void> {}

  async event(e: RunEvent): Promise<void> {
    switch (e.type) {
      case "run.started":
        this.total = e.steps;
        if (e.holdout) this.out.write(`${e.holdout}\n`);
        this.bar?.start(this.total, 0, { now: "-", last: "-", best: "-" });
        break;
      case "step.started":
        this.running.set(e.nodeId, e.action);
        this.bar?.update({ now: this.nowText() });
        break;
      case "step.finished": {
        this.running.delete(e.node.id);
        this.done++;
        const last = `#${e.node.id} ${e.node.stage} ${outcome(e.node)}`;
        if (this.bar) this.bar.update(this.done, { now: this.nowText(), last });
        else
          this.line(
            `step ${this.done}/${this.total}  ${e.node.stage.padEnd(7)} #${e.node.id}${e.node.parentId === null ? "" : ` (from #${e.node.parentId})`}  -> ${outcome(e.node)}`,
          );
        break;
      }
      case "best.improved":
        this.best = `${formatScores(e.node)} (#${e.node.id})`;
        if (this.bar) this.bar.update({ best: this.best });
        else this.line(`  new best: ${this.best}`);
        break;
      case "steer.applied":
        this.line(`  steering: ${e.note}`);
        break;
      case "run.paused":
        this.line("  paused");
        break;
      case "run.finished":
      case "run.failed":
        this.bar?.stop();
        break;
    }
  }

  private nowText(): string {
    const items = [...this.running.values()].map(describeAction);
    return items.length ? items.join(", ") : "-";
  }

  private line(text: string): void {
    if (this.bar) this.bar.stop();
    this.out.write(`${text}\n`);
    if (this.bar) this.bar.start(this.total, this.done, { best: this.best, now: this.nowText() });
  }
}

function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return truncate(flat, max);
}

/** The table of nodes printed at the end of a run. */
export function nodesTable(nodes: readonly SolutionNode[], bestId: number | null, color = false): string {
  const table = new Table({
    head: ["node", "parent", "stage", "result", "time", "plan"],
    colWidths: [7, 8, 9, 30, 8, 54],
    wordWrap: true,
    style: color ? undefined : { head: [], border: [] },
  });
  for (const n of nodes) {
    table.push([
      n.id === bestId ? `${n.id} *` : String(n.id),
      n.parentId === null ? "-" : String(n.parentId),
      n.stage,
      outcome(n),
      `${(n.execTimeMs / 1000).toFixed(1)}s`,
      oneLine(n.plan, 100),
    ]);
  }
  return table.toString();
}
