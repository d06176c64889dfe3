import { ModelError, userMessageOf } from "../errors.ts";
import type { Logger } from "../logger.ts";
import { budgetExhausted, type Budget } from "./budget.ts";
import { buildPromptContext, type PendingProposal, type RunBrief } from "./context.ts";
import { isRanked, Journal, memberList, membersOf } from "./journal.ts";
import {
  canonicalMetricName,
  directionOfMetricName,
  judgedMetric,
  UNNAMED_METRIC,
  type JudgedMetric,
} from "./metric-names.ts";
import type { Policy } from "./policy.ts";
import { seededRng } from "./rng.ts";
import { addUsage, NO_USAGE, runStep, type StepDeps, type StepLimits } from "./step.ts";
import type { StepFailure } from "./step-failure.ts";
import type {
  Action,
  Ensembler,
  EnsembleAction,
  FinishReason,
  NodeId,
  RefitOutcome,
  Refitter,
  RunEvent,
  RunSink,
  SolutionNode,
  SteerCommand,
  SteeringInbox,
  TokenUsage,
} from "./types.ts";

export interface SearchOptions {
  runId: string;
  brief: RunBrief;
  /** Total number of nodes the run should have (resumed nodes count). */
  steps: number;
  /** Steps in flight at once. */
  parallel: number;
  seed: number;
  limits: StepLimits;
  inputDir: string;
  budget?: Budget;
  /**
   * Direction fixed by configuration. Otherwise the first ranked node whose direction something tells fixes it:
   * its metric line, else its review, else the task text and `brief.metricHint`, else its metric's name.
   */
  lowerIsBetter?: boolean;
  /** Guidance carried over from earlier (a resumed run). */
  guidance?: string[];
  /** Start paused (a resumed run that was paused); a `resume` command starts the steps. */
  startPaused?: boolean;
  /** The line saying how scripts are judged (the hidden holdout, or why there is none), for run.started. */
  holdoutLine?: string;
  /** Aborts the run at once (steps in flight are cancelled and lost); `run()` rejects with the signal's reason. */
  signal?: AbortSignal;
}

export interface SearchDeps extends StepDeps {
  policy: Policy;
  sink: RunSink;
  inbox?: SteeringInbox;
  logger: Logger;
  /** Refits the best node on all the labelled data at the end (a run with a holdout). */
  refit?: Refitter;
  /** Makes the ensemble steps the policy asks for (a run with a holdout; the policy asks for none without). */
  ensembler?: Ensembler;
}

export interface SearchResult {
  journal: Journal;
  best: SolutionNode | null;
  lowerIsBetter: boolean | null;
  /** Canonical name of the metric the run is judged by, once known. */
  metricName: string | null;
  /** Why it ended; "failed" only in the snapshot of a run that failed (see `Search.snapshot`). */
  reason: FinishReason | "failed";
  /** The best node's refit on all the labelled data, once the run finished (null: none was made). */
  refit: RefitOutcome | null;
  /** How the run judged its scripts (the holdout it kept, or why none), as run.started said it. */
  holdoutLine: string | null;
  usage: TokenUsage;
  guidance: string[];
}

/**
 * Steps in a row whose model request failed (refused for the prompt, timed out, went silent) before the run
 * ends: one such step is that step's problem, a row of them is the endpoint's.
 */
export const MAX_FAILED_REQUESTS_IN_A_ROW = 3;

/** A step in flight: its action, its proposal once known, and how to cancel it. */
interface InFlight extends PendingProposal {
  abort: AbortController;
  done: Promise<{
    id: NodeId;
    node: SolutionNode | null;
    suggested: boolean | null;
    error?: unknown;
    failure?: StepFailure;
  }>;
}

/**
 * The search loop: policy -> coder.propose -> executor.run -> coder.review -> journal -> sink, with up to
 * `parallel` steps in flight and the steering inbox read at every step boundary. Resumes from the nodes of
 * an earlier journal: ids continue after the largest, and each step's randomness is derived from the seed and
 * the step id, so a resumed run decides as the uninterrupted one would have. With `parallel` 1 a run with the
 * same coder outputs replays exactly.
 */
export class Search {
  private readonly journal: Journal;
  private readonly inFlight = new Map<NodeId, InFlight>();
  private readonly overrides: Action[] = [];
  private readonly guidance: string[];
  private lowerIsBetter: boolean | null;
  /** What the task text and `--metric` say the run is judged by. */
  private readonly judged: JudgedMetric;
  /** The run's metric (canonical): the judged one, else the first ranked node's that has a name. */
  private metricName: string | null;
  private best: SolutionNode | null = null;
  private refit: RefitOutcome | null = null;
  private usage: TokenUsage = NO_USAGE;
  private totalSteps: number;
  private nextId: NodeId;
  /**
   * Ids below `nextId` that no node has: steps that were in flight when an earlier worker died while a later
   * step had already finished (parallel > 1). They are taken first, so a resumed run's ids stay 0..n-1.
   */
  private readonly gaps: NodeId[];
  /** Steps in a row whose model request failed (see MAX_FAILED_REQUESTS_IN_A_ROW). */
  private failedRequests = 0;
  private paused = false;
  private stopped = false;
  /** Serialises proposals so parallel steps see each other's code and never propose the same change. */
  private proposing: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly options: SearchOptions,
    private readonly deps: SearchDeps,
    resumeFrom: Iterable<SolutionNode> = [],
  ) {
    this.journal = new Journal([...resumeFrom].sort((a, b) => a.id - b.id));
    this.guidance = [...(options.guidance ?? [])];
    this.totalSteps = options.steps;
    this.paused = options.startPaused ?? false;
    this.nextId = this.journal.nodes.reduce((max, n) => Math.max(max, n.id + 1), 0);
    this.gaps = Array.from({ length: this.nextId }, (_, id) => id).filter((id) => !this.journal.has(id));
    // The same as the recorded nodes decided them (unranked flags are stored): the first telling ranked node.
    this.judged = judgedMetric(options.brief.task, options.brief.metricHint);
    this.metricName = this.judged.name;
    this.lowerIsBetter = options.lowerIsBetter ?? null;
    for (const node of this.journal.rankedNodes) {
      this.metricName ??= namedMetric(node);
      this.lowerIsBetter ??= this.directionOf(node, node.metric!.lowerIsBetter);
    }
    if (this.lowerIsBetter !== null)
      this.best = withDirection(this.journal.best(this.lowerIsBetter), this.lowerIsBetter);
    for (const node of this.journal.nodes) this.usage = addUsage(this.usage, node.usage);
  }

  async run(): Promise<SearchResult> {
    const { deps, options } = this;
    await this.emit({
      type: "run.started",
      coder: deps.coder.name,
      executor: deps.executor.name,
      steps: this.totalSteps,
      ...(options.holdoutLine ? { holdout: options.holdoutLine } : {}),
    });
    await this.announceResumed();
    let reason: FinishReason = "steps";
    const abortedP = this.aborted();
    try {
      for (;;) {
        if (options.signal?.aborted) throw options.signal.reason ?? new Error("run aborted");
        await this.applySteering();
        if (this.stopped) {
          reason = "stopped";
          for (const f of this.inFlight.values()) f.abort.abort();
        } else if (budgetExhausted(options.budget, this.usage)) {
          reason = "budget";
        } else if (!this.paused) {
          while (this.inFlight.size < options.parallel && this.mayStartStep()) this.startStep();
        }
        if (this.inFlight.size === 0) {
          if (
            this.paused &&
            !this.stopped &&
            this.journal.size < this.totalSteps &&
            !budgetExhausted(options.budget, this.usage)
          ) {
            await this.emit({ type: "run.paused" });
            await this.waitForSteering();
            continue;
          }
          break;
        }
        const finished = await Promise.race([...[...this.inFlight.values()].map((f) => f.done), abortedP]);
        if (finished === null) {
          for (const f of this.inFlight.values()) f.abort.abort();
          await Promise.allSettled([...this.inFlight.values()].map((f) => f.done));
          throw options.signal!.reason ?? new Error("run aborted");
        }
        this.inFlight.delete(finished.id);
        if (finished.error !== undefined) {
          if (this.stopped) continue;
          for (const f of this.inFlight.values()) f.abort.abort();
          await Promise.allSettled([...this.inFlight.values()].map((f) => f.done));
          throw finished.error;
        }
        if (finished.node) await this.record(finished.node, finished.suggested);
        this.failedRequests = finished.failure?.requestFailed ? this.failedRequests + 1 : 0;
        if (this.failedRequests >= MAX_FAILED_REQUESTS_IN_A_ROW) {
          for (const f of this.inFlight.values()) f.abort.abort();
          await Promise.allSettled([...this.inFlight.values()].map((f) => f.done));
          throw new ModelError(
            `The model failed ${this.failedRequests} steps in a row; the last time: ${finished.failure!.reason}`,
            { cause: finished.failure },
          );
        }
      }
    } catch (err) {
      // An aborted run is not a failed one: whoever aborted it (a lost lease, a shutdown) decides what follows.
      if (!options.signal?.aborted) await this.emit({ type: "run.failed", error: userMessageOf(err) });
      throw err;
    }
    this.refit = await this.refitBest(reason);
    await this.emit({ type: "run.finished", best: this.best, reason, ...(this.refit ? { refit: this.refit } : {}) });
    return this.snapshot(reason);
  }

  /**
   * Whether another step may start now: steps are left, and the last step of a run that makes ensembles waits for
   * the steps in flight, so that the blend its policy may choose sees every other node.
   */
  private mayStartStep(): boolean {
    const started = this.journal.size + this.inFlight.size;
    if (started >= this.totalSteps) return false;
    return !(this.deps.ensembler && this.inFlight.size > 0 && started === this.totalSteps - 1);
  }

  /**
   * The best node's script once more on all the labelled data, before the run is announced as finished (not for a
   * stopped run: a stop asks for the end now). A refit that throws is noted, never the run's failure.
   */
  private async refitBest(reason: FinishReason): Promise<RefitOutcome | null> {
    const best = this.best;
    if (!best || !this.deps.refit) return null;
    if (reason === "stopped")
      return {
        ok: false,
        nodeId: best.id,
        note: "not refit: the run was stopped; the node's own submission is delivered",
      };
    try {
      const members = membersOf(best, this.journal.nodes);
      return await this.deps.refit.refit(best, members, this.options.signal);
    } catch (err) {
      if (this.options.signal?.aborted) throw err;
      this.deps.logger.warn({ err, nodeId: best.id }, "refit failed");
      return {
        ok: false,
        nodeId: best.id,
        note: `the refit on all labelled rows failed (${userMessageOf(err)}); the node's own submission is delivered`,
      };
    }
  }

  /** What the search has so far: its journal, best node, direction and spending (also after it failed). */
  snapshot(reason: FinishReason | "failed" = "failed"): SearchResult {
    return {
      journal: this.journal,
      best: this.best,
      lowerIsBetter: this.lowerIsBetter,
      metricName: this.metricName,
      reason,
      refit: this.refit,
      holdoutLine: this.options.holdoutLine ?? null,
      usage: this.usage,
      guidance: [...this.guidance],
    };
  }

  /**
   * A worker that died between recording a node and announcing it (step.finished, best.improved) left the
   * announcement undone: the run's best submission unsaved, its progress stale, its chat post missing. Only the
   * last `parallel` nodes recorded can be in that state; they and the best are announced again on resume. Events
   * have deterministic ids, so where the first announcement got out this adds nothing.
   */
  private async announceResumed(): Promise<void> {
    const nodes = [...this.journal.nodes];
    if (nodes.length === 0) return;
    const latest = [...nodes]
      .sort((a, b) => a.finishedAt.localeCompare(b.finishedAt) || a.id - b.id)
      .slice(-this.options.parallel);
    for (const node of latest) await this.emit({ type: "step.finished", node });
    const best = this.best;
    if (!best || this.lowerIsBetter === null) return;
    const lower = this.lowerIsBetter;
    const before = new Journal(nodes.filter((n) => n.id !== best.id && n.finishedAt <= best.finishedAt));
    await this.emit({ type: "best.improved", node: best, previous: withDirection(before.best(lower), lower) });
  }

  /** Resolves with null when the run's signal aborts; never otherwise. */
  private aborted(): Promise<null> {
    const signal = this.options.signal;
    if (!signal) return new Promise(() => {});
    if (signal.aborted) return Promise.resolve(null);
    return new Promise((resolve) => signal.addEventListener("abort", () => resolve(null), { once: true }));
  }

  private startStep(): void {
    const id = this.gaps.shift() ?? this.nextId++;
    const stepsLeft = this.totalSteps - this.journal.size - this.inFlight.size;
    const chosen =
      this.overrides.shift() ??
      this.deps.policy.next(
        this.journal,
        seededRng(`${this.options.seed}/${id}`),
        [...this.inFlight.values()],
        this.lowerIsBetter,
        stepsLeft,
      );
    const abort = new AbortController();
    if (chosen.kind === "ensemble") {
      this.startEnsemble(id, chosen, abort);
      return;
    }
    const action: Action = chosen;
    const entry = { id, action, abort } as InFlight;
    let releaseProposal!: () => void;
    const proposalTurn = this.proposing.then(() => undefined);
    this.proposing = new Promise<void>((resolve) => (releaseProposal = resolve));
    entry.done = (async () => {
      try {
        await this.emit({ type: "step.started", nodeId: id, action });
        await proposalTurn;
        // Built when this step's turn to propose comes, so it holds the code of the steps in flight before it.
        const ctx = buildPromptContext({
          brief: { ...this.options.brief, totalSteps: this.totalSteps },
          journal: this.journal,
          action,
          step: id,
          guidance: this.guidance,
          pending: [...this.inFlight.values()].filter((p) => p.id !== id),
          lowerIsBetter: this.lowerIsBetter,
        });
        const outcome = await runStep({
          id,
          action,
          ctx,
          deps: this.deps,
          limits: this.options.limits,
          inputDir: this.options.inputDir,
          signal: abort.signal,
          onProposal: (p) => {
            entry.plan = p.plan;
            entry.code = p.code;
            releaseProposal();
          },
        });
        releaseProposal(); // a step whose coder failed never proposed
        return { id, node: outcome.node, suggested: outcome.suggestedLowerIsBetter, failure: outcome.failure };
      } catch (error) {
        releaseProposal();
        if (abort.signal.aborted) return { id, node: null, suggested: null };
        return { id, node: null, suggested: null, error };
      }
    })();
    this.inFlight.set(id, entry);
  }

  /** An ensemble step: the harness blends the members (no model, no proposal turn) and judges the blend. */
  private startEnsemble(id: NodeId, action: EnsembleAction, abort: AbortController): void {
    const ensembler = this.deps.ensembler;
    const entry = { id, action, abort } as InFlight;
    entry.done = (async () => {
      try {
        if (!ensembler) throw new Error("the policy asked for an ensemble, but this run makes none");
        await this.emit({ type: "step.started", nodeId: id, action });
        const members = action.members.map((m) => {
          const member = this.journal.get(m);
          if (!member) throw new Error(`the ensemble's member ${m} is not in the journal`);
          return member;
        });
        const node = await ensembler.blend(id, members, abort.signal);
        return { id, node, suggested: null };
      } catch (error) {
        if (abort.signal.aborted) return { id, node: null, suggested: null };
        return { id, node: null, suggested: null, error };
      }
    })();
    this.inFlight.set(id, entry);
  }

  private async record(node: SolutionNode, suggested: boolean | null): Promise<void> {
    node = this.rank(node);
    const ranked = isRanked(node);
    if (ranked && this.lowerIsBetter === null) {
      this.lowerIsBetter = this.directionOf(node, suggested);
      if (this.lowerIsBetter !== null)
        this.deps.logger.info(
          { runId: this.options.runId, lowerIsBetter: this.lowerIsBetter },
          "metric direction fixed",
        );
    }
    if (ranked && this.lowerIsBetter !== null) node = withDirection(node, this.lowerIsBetter);
    this.journal.add(node);
    this.usage = addUsage(this.usage, node.usage);
    await this.deps.sink.nodeFinished(node);
    await this.emit({ type: "step.finished", node });
    if (ranked && this.lowerIsBetter !== null) {
      // Over the whole journal: when this node fixed the direction, an earlier node may be the best.
      const best = this.journal.best(this.lowerIsBetter);
      if (best && best.id !== this.best?.id) {
        const previous = this.best;
        this.best = withDirection(best, this.lowerIsBetter);
        await this.emit({ type: "best.improved", node: this.best, previous });
      }
    }
  }

  /** A ranked node's direction: its line's (or review's), else the task's and `--metric`'s, else its name's. */
  private directionOf(node: SolutionNode, suggested: boolean | null): boolean | null {
    return suggested ?? this.judged.lowerIsBetter ?? directionOfMetricName(node.metric!.name);
  }

  /**
   * Flags a good node that reports another metric than the run's as unranked; the first ranked node with a
   * named metric names the run's metric when the task and `--metric` did not.
   */
  private rank(node: SolutionNode): SolutionNode {
    if (node.buggy || !node.metric) return node;
    const name = namedMetric(node);
    if (name === null || name === this.metricName) return node;
    if (this.metricName === null) {
      this.metricName = name;
      return node;
    }
    const unranked = `it reported ${node.metric.name}, but this run is judged by ${this.metricName}`;
    return {
      ...node,
      unranked,
      analysis: [node.analysis.trim(), `Problem: ${unranked}; not ranked.`].filter(Boolean).join(" "),
      metric: { ...node.metric, lowerIsBetter: node.metric.lowerIsBetter ?? directionOfMetricName(node.metric.name) },
    };
  }

  private async applySteering(): Promise<void> {
    const inbox = this.deps.inbox;
    if (!inbox) return;
    for (const command of await inbox.drain()) {
      const note = this.apply(command);
      await this.emit({ type: "steer.applied", command, note });
    }
  }

  private async waitForSteering(): Promise<void> {
    if (!this.deps.inbox) {
      this.paused = false;
      return;
    }
    await this.deps.inbox.wait(this.options.signal);
  }

  /** Applies one steering command and says what it did, in words for the thread. */
  private apply(command: SteerCommand): string {
    switch (command.kind) {
      case "guidance":
        this.guidance.push(command.text);
        return `Guidance added for the next steps: "${command.text}"`;
      case "pause":
        this.paused = true;
        return "Paused after the steps in flight finish.";
      case "resume":
        this.paused = false;
        return "Resumed.";
      case "stop":
        this.stopped = true;
        return "Stopping; the best solution so far will be delivered.";
      case "more":
        this.totalSteps += command.steps;
        return `Added ${command.steps} steps (now ${this.totalSteps}).`;
      case "focus": {
        const node = this.journal.get(command.node);
        if (!node) return `Node ${command.node} does not exist (yet); nothing changed.`;
        if (node.stage === "ensemble") return notAScript(node);
        if (node.buggy) {
          this.overrides.push({ kind: "debug", parent: node.id });
          return `Node ${node.id} is buggy; the next step debugs it.`;
        }
        this.overrides.push({ kind: "improve", parent: node.id });
        return `The next step improves node ${node.id}.`;
      }
      case "debug": {
        const node = this.journal.get(command.node);
        if (!node) return `Node ${command.node} does not exist (yet); nothing changed.`;
        if (node.stage === "ensemble") return notAScript(node);
        this.overrides.push({ kind: "debug", parent: node.id });
        return `The next step debugs node ${node.id}.`;
      }
    }
  }

  private async emit(e: DistributiveOmit<RunEvent, "runId" | "at">): Promise<void> {
    await this.deps.sink.event({
      ...e,
      runId: this.options.runId,
      at: this.deps.clock.now().toISOString(),
    } as RunEvent);
  }
}

type DistributiveOmit<T, K extends keyof never> = T extends unknown ? Omit<T, K> : never;

/** What steering is told when it asks a coder to build on an ensemble. */
function notAScript(node: SolutionNode): string {
  return `Node ${node.id} is an ensemble of ${memberList(node.members ?? [])}, not a script a coder can work on; focus on one of its members instead. Nothing changed.`;
}

/** Canonical name of a node's metric; null when the metric line named none. */
function namedMetric(node: SolutionNode): string | null {
  const name = canonicalMetricName(node.metric!.name);
  return name === UNNAMED_METRIC ? null : name;
}

/** The node with the run's direction on its metric (nodes recorded before the run knew it carry none). */
function withDirection(node: SolutionNode, lowerIsBetter: boolean): SolutionNode;
function withDirection(node: SolutionNode | null, lowerIsBetter: boolean): SolutionNode | null;
function withDirection(node: SolutionNode | null, lowerIsBetter: boolean): SolutionNode | null {
  return node?.metric ? { ...node, metric: { ...node.metric, lowerIsBetter } } : node;
}

export async function runSearch(
  options: SearchOptions,
  deps: SearchDeps,
  resumeFrom: Iterable<SolutionNode> = [],
): Promise<SearchResult> {
  return new Search(options, deps, resumeFrom).run();
}
