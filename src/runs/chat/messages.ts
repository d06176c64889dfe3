/**
 * Platform-neutral chat messages: pure builders of `ChatMessage`. Each platform's ChatSurface renders them
 * (Block Kit, embeds) and cuts them to its limits. No I/O here.
 */
import { RUN_OPTION_LIMITS } from "../../run-options-schema.ts";
import { bestNode, memberList, membersOf, recordedDirection } from "../../search/journal.ts";
import { formatNumber, formatScores } from "../../search/metric.ts";
import type { RefitOutcome, SolutionNode, SteerCommand, StepAction } from "../../search/types.ts";
import type { RunRecord, RunStatus } from "../../store/types.ts";
import { capitalize, truncate, withFinalNewline } from "../../util/text.ts";
import { formatUsage } from "../usage-text.ts";
import type { ChatBlock, ChatButton, ChatFile, ChatMessage } from "./types.ts";

export const DEFAULT_SNIPPET_LINES = 30;

/** The coder as users see it: the offline coder is named for what it is. */
export function coderLabel(coder: string): string {
  const c = coder.trim();
  if (/^offline\b/i.test(c) && !/no model/i.test(c)) return "offline (no model)";
  return c || "unknown";
}

function firstLine(text: string, max = 150): string {
  const line =
    text
      .split(/\r?\n/)
      .map((l) => l.trim())
      .find(Boolean) ?? "";
  return truncate(line, max);
}

/** A plan in one line: its first sentence (or line), at most `max` characters. */
export function oneLine(text: string, max = 200): string {
  const flat = text.replace(/\s+/g, " ").trim();
  const sentence = /^(.+?[.!?])(?:\s|$)/.exec(flat)?.[1] ?? flat;
  return truncate(sentence, max);
}

const STATUS_LABEL: Record<RunStatus, string> = {
  queued: "Queued",
  running: "Running",
  paused: "Paused",
  finished: "Finished",
  stopped: "Stopped",
  failed: "Failed",
};

function isTerminal(status: RunStatus): boolean {
  return status === "finished" || status === "stopped" || status === "failed";
}

function describeAction(a: StepAction): string {
  if (a.kind === "ensemble") return `blending ${memberList(a.members)}`;
  return a.kind === "draft"
    ? "drafting a new solution"
    : a.kind === "improve"
      ? `improving node ${a.parent}`
      : `debugging node ${a.parent}`;
}

/** "step 4: improving node 2", for the status card's "Running now". */
export function runningText(steps: Array<{ nodeId: number; action: StepAction }>): string | undefined {
  if (steps.length === 0) return undefined;
  return steps.map((s) => `step ${s.nodeId + 1}: ${describeAction(s.action)}`).join("; ");
}

function bestText(run: RunRecord): string {
  const p = run.progress;
  if (p.bestNodeId === null || p.bestMetric === null) return "none yet";
  const name = p.metricName ?? "metric";
  if (p.bestMembers?.length && p.bestHoldout !== null)
    return `${name}: holdout ${formatNumber(p.bestHoldout)} (node ${p.bestNodeId}, ensemble of ${memberList(p.bestMembers)})`;
  const scores =
    p.bestHoldout !== null
      ? `${name}: holdout ${formatNumber(p.bestHoldout)} · validation ${formatNumber(p.bestMetric)}`
      : `${name} = ${formatNumber(p.bestMetric)}`;
  return `${scores} (node ${p.bestNodeId})`;
}

function mentionSuffix(mentions: string[] | undefined): Pick<ChatMessage, "mentions"> {
  return mentions?.length ? { mentions: [...new Set(mentions)] } : {};
}

/** The buttons of a card: Pause or Resume (by status), Stop, +10 steps; none once the run ended. */
export function cardButtons(run: RunRecord): ChatButton[] {
  if (isTerminal(run.status)) return [];
  return [
    run.status === "paused"
      ? { action: "resume", label: "Resume", style: "primary", runId: run.id }
      : { action: "pause", label: "Pause", runId: run.id },
    { action: "stop", label: "Stop", style: "danger", runId: run.id },
    { action: "more10", label: "+10 steps", runId: run.id },
  ];
}

/**
 * The run's root message, edited in place: task, step k of N, best so far, what is running now, status, and
 * the buttons while the run can still change.
 */
export function statusCard(run: RunRecord, running?: string, treeUrl?: string | null): ChatMessage {
  const p = run.progress;
  const step = Math.min(p.step, p.totalSteps);
  const terminal = isTerminal(run.status);
  const fields: Array<{ label: string; value: string }> = [
    { label: "Status", value: statusWord(run) },
    { label: "Step", value: `${step} of ${p.totalSteps}` },
    { label: "Best so far", value: bestText(run) },
  ];
  if (!terminal)
    fields.push({
      label: "Running now",
      value:
        running ??
        (run.status === "queued" ? "waiting for a runner" : run.status === "paused" ? "nothing (paused)" : "-"),
    });
  fields.push({ label: "Coder", value: coderLabel(run.options.coder) });
  const usage = formatUsage(run.usage);
  if (usage) fields.push({ label: "Usage", value: usage });
  const blocks: ChatBlock[] = [
    { kind: "header", text: `AIDE: ${firstLine(run.task)}` },
    { kind: "fields", fields },
  ];
  // How every script is judged (the rows held out, or why none), from the start of the run.
  if (p.holdoutLine) blocks.push({ kind: "context", text: capitalize(p.holdoutLine) });
  if (run.status === "failed" && run.error) blocks.push({ kind: "text", text: `Error: ${firstLine(run.error, 300)}` });
  if (treeUrl) blocks.push(treeLink(treeUrl, terminal));
  const buttons = cardButtons(run);
  if (buttons.length) blocks.push({ kind: "buttons", buttons });
  blocks.push({
    kind: "context",
    text: `Run \`${run.id}\` · started by ${run.owner.displayName || run.owner.userId}${terminal ? "" : ' · reply in the thread to steer ("help" lists commands)'}`,
  });
  return {
    text: `AIDE run ${run.id}: ${statusWord(run).toLowerCase()}, step ${step} of ${p.totalSteps}, best ${bestText(run)}`,
    blocks,
  };
}

/** The link to the run's tree page. */
export function treeLink(url: string, ended: boolean): ChatBlock {
  return { kind: "link", url, label: ended ? "Open the solution tree" : "Watch the solution tree live" };
}

/** A chart as a message file. */
function chartFile(run: RunRecord, png: Buffer, suffix = ""): ChatFile {
  return { name: `aide_${run.id}_metric${suffix}.png`, content: png, mime: "image/png", title: "Metric over steps" };
}

function statusWord(run: RunRecord): string {
  if (run.status === "finished" && run.finishReason === "budget") return "Finished (budget reached)";
  if (run.status === "stopped" || run.finishReason === "stopped") return "Stopped";
  return STATUS_LABEL[run.status];
}

/** The card posted before the run exists (replaced by `statusCard` once it is saved). */
export function startingCard(task: string, startedBy: string): ChatMessage {
  return {
    text: `AIDE: starting a run: ${firstLine(task)}`,
    blocks: [
      { kind: "header", text: `AIDE: ${firstLine(task)}` },
      { kind: "fields", fields: [{ label: "Status", value: "Starting" }] },
      { kind: "context", text: `started by ${startedBy}` },
    ],
  };
}

/** Cuts a script to its first `lines` lines. `totalLines` is set only when something was cut. */
export function snippet(code: string, lines: number): { code: string; totalLines?: number } {
  const all = code.replace(/\s+$/, "").split("\n");
  if (all.length <= lines) return { code: all.join("\n") };
  return { code: all.slice(0, Math.max(1, lines)).join("\n"), totalLines: all.length };
}

function scriptFile(node: SolutionNode, role: "best" | "member" = "best"): ChatFile {
  return {
    name: `${role}_node_${node.id}.py`,
    content: Buffer.from(withFinalNewline(node.code), "utf8"),
    mime: "text/x-python",
    title: role === "best" ? `Best script (node ${node.id})` : `Ensemble member (node ${node.id})`,
  };
}

function direction(node: SolutionNode): string {
  const lower = node.holdout ? node.holdout.lowerIsBetter : node.metric?.lowerIsBetter;
  if (lower === undefined) return "";
  return lower === null ? "direction not known yet" : lower ? "lower is better" : "higher is better";
}

/** A node's scores as a message shows them: "auc: holdout 0.81 · validation 0.83", or "auc = 0.83". */
function scoresText(node: SolutionNode): string {
  return node.metric || node.holdout ? formatScores(node, { spaced: true }) : "no metric";
}

/**
 * "-0.0213 (-12.3%) vs node 2", or a first-solution note: on the holdout scores where both nodes have one (they
 * decide the run's best), else on the nodes' own validation numbers.
 */
export function changeText(node: SolutionNode, previous: SolutionNode | null): string {
  if (!node.metric && !node.holdout) return "-";
  const onHoldout = !!node.holdout && !!previous?.holdout;
  const now = onHoldout ? node.holdout!.value : node.metric?.value;
  const before = onHoldout ? previous!.holdout!.value : previous?.metric?.value;
  if (now === undefined) return "-";
  if (!previous || before === undefined) return "first working solution";
  const delta = now - before;
  const sign = delta > 0 ? "+" : delta < 0 ? "−" : "±";
  const pct = before !== 0 ? ` (${sign}${formatNumber(Math.abs((delta / before) * 100))}%)` : "";
  const of = onHoldout ? " on the holdout" : "";
  return `${sign}${formatNumber(Math.abs(delta))}${pct}${of} vs node ${previous.id} (${formatNumber(before)})`;
}

function stageText(node: SolutionNode): string {
  if (node.stage === "ensemble") return `ensemble of ${memberList(node.members ?? [])}`;
  return node.parentId === null ? node.stage : `${node.stage} of node ${node.parentId}`;
}

/** A new best solution: metric, change from the previous best, the plan in one line, a snippet, the script. */
export function newBestMessage(
  node: SolutionNode,
  previous: SolutionNode | null,
  run: RunRecord,
  opts: { snippetLines?: number; mentions?: string[]; chart?: Buffer | null } = {},
): ChatMessage {
  const metric = scoresText(node);
  const cut = snippet(node.code, opts.snippetLines ?? DEFAULT_SNIPPET_LINES);
  const blocks: ChatBlock[] = [
    { kind: "header", text: `New best: node ${node.id}, ${metric}` },
    {
      kind: "fields",
      fields: [
        { label: "Metric", value: `${metric}${direction(node) ? ` (${direction(node)})` : ""}` },
        { label: "Change", value: changeText(node, previous) },
        { label: "Step", value: `${node.step + 1} of ${run.progress.totalSteps} (${stageText(node)})` },
        { label: "Coder", value: coderLabel(node.coder || run.options.coder) },
      ],
    },
  ];
  if (node.plan.trim()) blocks.push({ kind: "text", text: `**Plan:** ${oneLine(node.plan)}` });
  blocks.push({
    kind: "code",
    language: "python",
    code: cut.code,
    ...(cut.totalLines !== undefined ? { totalLines: cut.totalLines } : {}),
  });
  blocks.push({
    kind: "context",
    text:
      cut.totalLines !== undefined
        ? `First ${cut.code.split("\n").length} of ${cut.totalLines} lines; the full script is attached.`
        : "The full script is attached.",
  });
  return {
    text: `New best in run ${run.id}: node ${node.id}, ${metric} (${changeText(node, previous)})`,
    blocks,
    files: opts.chart ? [scriptFile(node), chartFile(run, opts.chart, `_node${node.id}`)] : [scriptFile(node)],
    ...mentionSuffix(opts.mentions),
  };
}

/** The best solution so far (a `best` reply). */
export function bestMessage(
  node: SolutionNode | null,
  run: RunRecord,
  opts: { snippetLines?: number } = {},
): ChatMessage {
  if (!node) {
    return {
      text: `Run ${run.id} has no working solution yet.`,
      blocks: [
        { kind: "text", text: `Run \`${run.id}\` has no working solution yet (${run.progress.nodes} nodes so far).` },
      ],
    };
  }
  const metric = scoresText(node);
  const cut = snippet(node.code, opts.snippetLines ?? DEFAULT_SNIPPET_LINES);
  const blocks: ChatBlock[] = [
    { kind: "header", text: `Best so far: node ${node.id}, ${metric}` },
    {
      kind: "fields",
      fields: [
        { label: "Metric", value: `${metric}${direction(node) ? ` (${direction(node)})` : ""}` },
        { label: "Found at", value: `step ${node.step + 1} (${stageText(node)})` },
        { label: "Coder", value: coderLabel(node.coder || run.options.coder) },
      ],
    },
  ];
  if (node.plan.trim()) blocks.push({ kind: "text", text: `**Plan:** ${oneLine(node.plan)}` });
  blocks.push({
    kind: "code",
    language: "python",
    code: cut.code,
    ...(cut.totalLines !== undefined ? { totalLines: cut.totalLines } : {}),
  });
  return { text: `Best so far in run ${run.id}: node ${node.id}, ${metric}`, blocks, files: [scriptFile(node)] };
}

export interface FinalSummaryInput {
  run: RunRecord;
  journal: SolutionNode[];
  best: SolutionNode | null;
  /** Why the search ended: "steps", "budget", "stopped". */
  reason: string;
  /** The metric-over-steps chart. */
  chart?: Buffer | null;
  /** The best node's submission CSV, when kept. */
  submission?: string | null;
  mentions?: string[];
  /** The run's tree page. */
  treeUrl?: string | null;
  /** The best node's refit on all the labelled data, where the run held rows out. */
  refit?: RefitOutcome | null;
}

const OUTCOME: Record<string, string> = {
  steps: "finished all its steps",
  budget: "stopped at its budget",
  stopped: "was stopped",
};

/** The end of a run: outcome, best metric, node counts, usage, and the chart, script and submission as files. */
export function finalSummary(input: FinalSummaryInput): ChatMessage {
  const { run, journal, best } = input;
  const buggy = journal.filter((n) => n.buggy).length;
  const outcome = OUTCOME[input.reason] ?? `ended (${input.reason})`;
  const metric = best?.metric || best?.holdout ? `${scoresText(best)} (${direction(best)})` : "no working solution";
  const fields = [
    { label: "Outcome", value: `Run ${outcome}` },
    { label: "Best", value: best ? `${metric}, node ${best.id}` : metric },
    { label: "Nodes", value: `${journal.length} (${journal.length - buggy} working, ${buggy} buggy)` },
    { label: "Coder", value: coderLabel(run.options.coder) },
  ];
  if (input.refit) fields.push({ label: "Delivered", value: input.refit.note });
  const usage = formatUsage(run.usage);
  if (usage) fields.push({ label: "Tokens / cost", value: usage });
  const blocks: ChatBlock[] = [
    { kind: "header", text: `Run ${run.id} ${outcome}` },
    { kind: "fields", fields },
  ];
  if (best?.plan.trim()) blocks.push({ kind: "text", text: `**Best plan:** ${oneLine(best.plan, 300)}` });
  if (input.treeUrl) blocks.push(treeLink(input.treeUrl, true));
  const files: ChatFile[] = [];
  if (input.chart) files.push(chartFile(run, input.chart));
  if (best) files.push(scriptFile(best));
  // An ensemble's script blends its members' submissions: their scripts come with it.
  if (best) for (const member of membersOf(best, journal)) files.push(scriptFile(member, "member"));
  if (best && input.submission)
    files.push({
      name: "submission.csv",
      content: Buffer.from(input.submission, "utf8"),
      mime: "text/csv",
      title: `Submission of node ${best.id}`,
    });
  const attached = files.map((f) => f.name).join(", ");
  blocks.push({
    kind: "context",
    text: attached ? `Attached: ${attached}` : "Nothing to attach: no node produced a working solution.",
  });
  return {
    text: `Run ${run.id} ${outcome}. Best: ${best ? `${metric}, node ${best.id}` : metric}.`,
    blocks,
    ...(files.length ? { files } : {}),
    ...mentionSuffix(input.mentions),
  };
}

function steerVerb(command: SteerCommand | undefined): string {
  switch (command?.kind) {
    case "pause":
      return "Paused";
    case "resume":
      return "Resumed";
    case "stop":
      return "Stopping";
    case "more":
      return "Budget raised";
    case "guidance":
      return "Guidance applied";
    case "focus":
    case "debug":
      return "Steering applied";
    default:
      return "Steering applied";
  }
}

/** The runner applied a steering message. */
export function steerAck(note: string, command?: SteerCommand): ChatMessage {
  const verb = steerVerb(command);
  const by = command?.kind === "guidance" && command.author ? ` (from ${command.author})` : "";
  return { text: `${verb}: ${note}`, blocks: [{ kind: "text", text: `**${verb}**${by}: ${note}` }] };
}

/** Confirms that a thread reply was queued for the runner (applied at the next step boundary). */
export function steerQueued(command: SteerCommand): ChatMessage {
  const what =
    command.kind === "guidance"
      ? `Guidance noted: "${oneLine(command.text, 200)}". The coder will see it from the next step on.`
      : command.kind === "more"
        ? `Adding ${command.steps} steps.`
        : command.kind === "focus"
          ? `Focusing on node ${command.node} next.`
          : command.kind === "debug"
            ? `Debugging node ${command.node} next.`
            : command.kind === "pause"
              ? "Pausing after the current step."
              : command.kind === "resume"
                ? "Resuming."
                : "Stopping after the current step; the best solution so far will be delivered.";
  return { text: what, blocks: [{ kind: "context", text: what }] };
}

/** The run failed (bad data, a broken runner). */
export function failedMessage(error: string, mentions?: string[]): ChatMessage {
  const e = truncate(error, 600);
  return {
    text: `The run failed: ${e}`,
    blocks: [
      { kind: "header", text: "Run failed" },
      { kind: "text", text: e },
    ],
    ...mentionSuffix(mentions),
  };
}

/** A short text: a confirmation or a refusal. */
export function noticeMessage(text: string): ChatMessage {
  return { text, blocks: [{ kind: "text", text }] };
}

const COMMAND_HELP = [
  "`/aide start <task description> <data links...> [--steps N] [--metric NAME] [--timeout DURATION] [--parallel K]`",
  "    starts a run; links are http(s) links to CSV, zip or tar files (or attach the files)",
  "`/aide status [run]` shows a run (or this channel's active runs)",
  "`/aide list` lists this channel's runs",
  "`/aide stop <run>` stops a run (its starter or an admin)",
  "`/aide help` shows this",
];
const REPLY_HELP = [
  "In a run's thread, reply with:",
  "`pause`, `resume`, `stop`, `more N` (add steps), `focus <node>`, `debug <node>`",
  "`status`, `best`, `tree` (the tree and its live page), `chart`, `verbose on|off` (a line per step), `follow` / `unfollow` (mentions), `help`",
  'anything else is guidance for the coder, e.g. "try gradient boosting"',
];

/** What the bot understands; `problem` first when the input was not understood. */
export function helpMessage(problem?: string, opts: { thread?: boolean; platform?: string } = {}): ChatMessage {
  const lines = opts.thread ? [...REPLY_HELP, "", ...COMMAND_HELP] : [...COMMAND_HELP, "", ...REPLY_HELP];
  // Discord's slash command takes named options; Slack's takes free text with flags.
  const example =
    opts.platform === "discord"
      ? `Example: /aide start task:Predict house prices, RMSE data:https://example.com/houses.zip steps:20 (at most ${RUN_OPTION_LIMITS.steps.max} steps)`
      : `Example: /aide start Predict house prices, RMSE https://example.com/houses.zip --steps 20 (at most ${RUN_OPTION_LIMITS.steps.max} steps)`;
  const blocks: ChatBlock[] = [];
  if (problem) blocks.push({ kind: "text", text: `**${problem}**` });
  blocks.push({ kind: "header", text: "AIDE: an ML engineering agent in chat" });
  blocks.push({ kind: "text", text: lines.join("\n") });
  blocks.push({ kind: "context", text: example });
  return {
    text: problem
      ? `${problem} Type "/aide help" for usage.`
      : "AIDE help: /aide start <task> <data links> [--steps N]",
    blocks,
  };
}

/** Runs, newest first. */
export function runListMessage(runs: RunRecord[], title = "Runs in this channel"): ChatMessage {
  if (runs.length === 0)
    return {
      text: "No runs here yet.",
      blocks: [{ kind: "text", text: "No runs here yet. Start one with `/aide start <task> <data link>`." }],
    };
  const lines = runs.map((r) => {
    const p = r.progress;
    return `\`${r.id}\` ${statusWord(r).toLowerCase()} · step ${Math.min(p.step, p.totalSteps)}/${p.totalSteps} · best ${bestText(r)} · ${firstLine(r.task, 60)} · ${r.owner.displayName || r.owner.userId}`;
  });
  return {
    text: `${title}: ${runs.map((r) => `${r.id} (${r.status})`).join(", ")}`,
    blocks: [
      { kind: "header", text: title },
      { kind: "text", text: lines.join("\n") },
    ],
  };
}

function nodeResult(n: SolutionNode): string {
  if (n.buggy) {
    const why = n.timedOut ? "timed out" : n.killed ? "killed" : oneLine(n.analysis || "bug", 90);
    return `buggy (${why})`;
  }
  return formatScores(n);
}

/** The solution tree as indented text; the best node starred. */
export function treeMessage(
  journal: SolutionNode[],
  opts: { bestId?: number | null; maxLines?: number; treeUrl?: string | null; ended?: boolean } = {},
): ChatMessage {
  const link: ChatBlock[] = opts.treeUrl ? [treeLink(opts.treeUrl, opts.ended ?? false)] : [];
  if (journal.length === 0)
    return {
      text: "The tree is empty so far.",
      blocks: [{ kind: "text", text: "The tree is empty so far: no step has finished yet." }, ...link],
    };
  let bestId = opts.bestId;
  if (bestId === undefined) {
    const lower = recordedDirection(journal);
    bestId = lower === null ? null : (bestNode(journal, lower)?.id ?? null);
  }
  const children = new Map<number | null, SolutionNode[]>();
  const ids = new Set(journal.map((n) => n.id));
  for (const n of journal) {
    const parent = n.parentId !== null && ids.has(n.parentId) ? n.parentId : null;
    children.set(parent, [...(children.get(parent) ?? []), n]);
  }
  const lines: string[] = [];
  const walk = (parent: number | null, prefix: string) => {
    const kids = (children.get(parent) ?? []).sort((a, b) => a.id - b.id);
    kids.forEach((n, i) => {
      const last = i === kids.length - 1;
      const branch = parent === null ? "" : last ? "└─ " : "├─ ";
      lines.push(`${prefix}${branch}#${n.id} ${n.stage}: ${nodeResult(n)}${n.id === bestId ? "  ★ best" : ""}`);
      walk(n.id, parent === null ? prefix : prefix + (last ? "   " : "│  "));
    });
  };
  walk(null, "");
  const max = opts.maxLines ?? 60;
  const shown = lines.length > max ? [...lines.slice(0, max), `… ${lines.length - max} more lines`] : lines;
  const buggy = journal.filter((n) => n.buggy).length;
  return {
    text: `Solution tree: ${journal.length} nodes, ${buggy} buggy${bestId !== null ? `, best node ${bestId}` : ""}`,
    blocks: [
      { kind: "header", text: `Solution tree (${journal.length} nodes, ${buggy} buggy)` },
      { kind: "code", language: "text", code: shown.join("\n") },
      ...link,
    ],
  };
}

/** The metric-over-steps chart on demand (`chart` in the thread). */
export function chartMessage(run: RunRecord, png: Buffer | null, treeUrl?: string | null): ChatMessage {
  const link: ChatBlock[] = treeUrl ? [treeLink(treeUrl, isTerminal(run.status))] : [];
  if (!png)
    return {
      text: `Run ${run.id} has no finished step to chart yet.`,
      blocks: [{ kind: "text", text: `Run \`${run.id}\` has no finished step to chart yet.` }, ...link],
    };
  const text = `Metric over steps of run ${run.id}: ${run.progress.nodes} nodes, best ${bestText(run)}`;
  return { text, blocks: [{ kind: "context", text }, ...link], files: [chartFile(run, png)] };
}

/** One compact line per finished step, posted when the thread asked for `verbose on`. */
export function stepLine(node: SolutionNode): ChatMessage {
  const secs = node.execTimeMs > 0 ? `, ${formatNumber(Math.round(node.execTimeMs / 100) / 10)} s` : "";
  const text = `Step ${node.step + 1} (node ${node.id}, ${stageText(node)}): ${nodeResult(node)}${secs}`;
  return { text, blocks: [{ kind: "context", text }] };
}
