/**
 * What must hold after any fault, checked from the outside (MongoDB, the event streams, the fake Slack's record of
 * what the bot posted):
 *  - the run ended as expected (finished, or stopped when asked);
 *  - its journal holds nodes 0..n-1, each once, and every step.finished / best.improved event names a node once;
 *  - every steering message sent was saved, applied and confirmed (steer.applied) exactly once;
 *  - in the thread, every new best, every steering confirmation and the final summary were posted exactly once,
 *    no message was posted twice, the card is one message edited in place, and the summary's files arrived once.
 * `runInvariants` returns the problems found (empty when all holds), so a test can show all of them at once.
 */
import type { Redis } from "ioredis";
import { expect } from "vitest";
import { readEvents, type StoredRunEvent } from "../../../src/queue/events.ts";
import { bestNode, recordedDirection } from "../../../src/search/journal.ts";
import type { Store } from "../../../src/store/index.ts";
import type { FakeMessage, FakeSlackApi } from "../../fakes/slack-api.ts";
import { messageText } from "../../e2e/slack/support.ts";
import type { Deployment, StartedRun } from "./deployment.ts";
import { recordFigure, type FigureValues } from "./figures.ts";

export interface InvariantInput {
  store: Store;
  redis: Redis;
  slack: FakeSlackApi;
  started: StartedRun;
  /** Guidance texts sent as thread replies. */
  guidance: string[];
  /** Expected final status. Default finished. */
  status?: "finished" | "stopped";
  /** How long the bot may take, after the run ended, to post the summary and edit the card. Default 120 s. */
  chatTimeoutMs?: number;
}

export interface RunFacts {
  runId: string;
  nodes: number;
  events: StoredRunEvent[];
  threadMessages: number;
}

/** A run's whole event stream, oldest first. */
export async function runEvents(redis: Redis, runId: string): Promise<StoredRunEvent[]> {
  const out: StoredRunEvent[] = [];
  let from = "0-0";
  for (;;) {
    const page = await readEvents(redis, runId, from, 500);
    if (page.length === 0) break;
    out.push(...page.map((e) => e.event));
    from = page.at(-1)!.entryId;
  }
  return out;
}

/** The final summary's text: `Run <id> finished all its steps. Best: ...` (after any mentions). */
export function isSummary(m: { text: string }, runId: string): boolean {
  return new RegExp(`(^|\\s)Run ${runId} (finished all its steps|was stopped|stopped at its budget|ended)`).test(
    m.text,
  );
}

/** The message the Slack surface posts when a message's files could not be uploaded. */
function isUploadFailure(m: { text: string }): boolean {
  return m.text.startsWith("Could not attach");
}

/** The file names a summary says it attaches (its "Attached: a, b, c" line). */
function attachedNames(summaryText: string): string[] {
  const m = /Attached: ([\w.-]+(?:, [\w.-]+)*)/.exec(summaryText);
  return m ? m[1]!.split(", ") : [];
}

/**
 * Waits until the bot has posted the run's final summary, its files have arrived in the thread (they follow the
 * message, paced with the channel's other posts, or a "Could not attach" message says why not), and the card shows
 * its final state.
 */
export async function waitForChatEnd(slack: FakeSlackApi, started: StartedRun, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const thread = slack.thread(started.channel, started.cardTs);
    const summary = thread.find((m) => isSummary(m, started.run.id));
    const card = slack.message(started.channel, started.cardTs);
    const inThread = new Set(slack.filesIn(started.channel, started.cardTs).map((f) => f.name));
    const filesSettled =
      summary !== undefined &&
      (attachedNames(messageText(summary)).every((name) => inThread.has(name)) || thread.some(isUploadFailure));
    if (filesSettled && card && /Finished|Stopped/i.test(messageText(card))) return;
    if (Date.now() > deadline) return; // runInvariants reports what is missing
    await new Promise((r) => setTimeout(r, 200));
  }
}

function countBy<T>(items: T[], key: (t: T) => string): Map<string, number> {
  const m = new Map<string, number>();
  for (const i of items) m.set(key(i), (m.get(key(i)) ?? 0) + 1);
  return m;
}

export async function runInvariants(input: InvariantInput): Promise<{ problems: string[]; facts: RunFacts }> {
  const { store, redis, slack, started } = input;
  const runId = started.run.id;
  const problems: string[] = [];
  await waitForChatEnd(slack, started, input.chatTimeoutMs ?? 120_000);
  const run = await store.requireRun(runId);
  const wanted = input.status ?? "finished";
  if (run.status !== wanted)
    problems.push(`run ${runId} is ${run.status}${run.error ? ` (${run.error})` : ""}, not ${wanted}`);

  // The journal: nodes 0..n-1, each once.
  const journal = await store.loadJournal(runId);
  const ids = journal.map((n) => n.id);
  const expectedIds = Array.from({ length: journal.length }, (_, i) => i);
  if (JSON.stringify(ids) !== JSON.stringify(expectedIds))
    problems.push(`journal node ids are ${JSON.stringify(ids)}, not 0..${journal.length - 1}`);
  if (wanted === "finished" && journal.length !== run.progress.totalSteps)
    problems.push(`journal has ${journal.length} nodes for ${run.progress.totalSteps} steps`);
  if (run.progress.nodes !== journal.length)
    problems.push(`the run says ${run.progress.nodes} nodes, the journal holds ${journal.length}`);

  // The events: unique ids; each node finished once; one end.
  const events = await runEvents(redis, runId);
  for (const [id, n] of countBy(events, (e) => e.id))
    if (n > 1) problems.push(`event ${id} is in the stream ${n} times`);
  const finished = events.flatMap((e) => (e.type === "step.finished" ? [e.node.id] : []));
  if (JSON.stringify([...finished].sort((a, b) => a - b)) !== JSON.stringify(ids))
    problems.push(`step.finished events name nodes ${JSON.stringify(finished)}, the journal ${JSON.stringify(ids)}`);
  const ends = events.filter((e) => e.type === "run.finished" || e.type === "run.failed");
  if (ends.length !== 1 || ends[0]!.type !== "run.finished")
    problems.push(`the run's end events are ${JSON.stringify(ends.map((e) => e.type))}`);
  const bests = events.flatMap((e) => (e.type === "best.improved" ? [e.node.id] : []));

  // Steering: saved, applied, acknowledged once each.
  const steers = await store.listSteers(runId);
  const applied = events.flatMap((e) => (e.type === "steer.applied" ? [e] : []));
  for (const text of input.guidance) {
    const saved = steers.filter((s) => s.command.kind === "guidance" && s.command.text === text);
    if (saved.length !== 1) problems.push(`guidance "${text}" was saved ${saved.length} times`);
    else if (!saved[0]!.appliedAt) problems.push(`guidance "${text}" was never applied`);
    const acks = applied.filter((e) => e.command.kind === "guidance" && e.command.text === text);
    if (acks.length !== 1) problems.push(`guidance "${text}" has ${acks.length} steer.applied events`);
  }

  // The thread: everything once, nothing twice.
  const thread: FakeMessage[] = slack.thread(started.channel, started.cardTs);
  const texts = thread.map((m) => messageText(m));
  for (const [text, n] of countBy(texts, (t) => t))
    if (n > 1) problems.push(`posted ${n} times in the thread: ${text.split("\n")[0]!.slice(0, 120)}`);
  for (const id of bests) {
    const posts = thread.filter((m) => m.text.includes(`New best in run ${runId}: node ${id},`));
    if (posts.length !== 1) problems.push(`the new best node ${id} was posted ${posts.length} times`);
  }
  const newBestPosts = thread.filter((m) => m.text.includes(`New best in run ${runId}:`)).length;
  if (newBestPosts !== bests.length)
    problems.push(`${newBestPosts} new-best posts for ${bests.length} best.improved events`);
  for (const text of input.guidance) {
    const confirmations = thread.filter((m) => m.text.startsWith("Guidance applied:") && m.text.includes(`"${text}"`));
    if (confirmations.length !== 1)
      problems.push(`guidance "${text}" was confirmed ${confirmations.length} times in the thread`);
  }
  // The run's best is the journal's best (by the run's own ranking: holdout scores where nodes have them), and it
  // was announced in the thread.
  const best = bestNode(journal, recordedDirection(journal) ?? false);
  if (best) {
    if (run.progress.bestNodeId !== best.id)
      problems.push(`the run's best is node ${run.progress.bestNodeId}, the journal's node ${best.id}`);
    if (!thread.some((m) => m.text.includes(`New best in run ${runId}: node ${best.id},`)))
      problems.push(`the best node ${best.id} was never announced in the thread`);
  }
  const summaries = thread.filter((m) => isSummary(m, runId));
  if (summaries.length !== 1) problems.push(`the final summary was posted ${summaries.length} times`);
  const roots = slack.messages.filter((m) => m.channel === started.channel && m.threadTs === null);
  if (roots.length !== 1) problems.push(`${roots.length} top-level messages in ${started.channel}, not one card`);
  else if (!/Finished|Stopped/i.test(messageText(roots[0]!)))
    problems.push(`the card does not show the end: ${roots[0]!.text}`);
  const files = slack.filesIn(started.channel, started.cardTs);
  for (const [name, n] of countBy(files, (f) => f.name)) {
    // Each new best attaches its script, and the summary attaches the best one again.
    const allowed = /^best_node_\d+\.py$/.test(name) ? 2 : 1;
    if (n > allowed) problems.push(`file ${name} was shared ${n} times`);
  }
  if (journal.some((n) => !n.buggy) && !files.some((f) => f.name === "submission.csv"))
    problems.push(
      `the summary's submission.csv never arrived (files in the thread: ${files.map((f) => f.name).join(", ") || "none"}; ` +
        `the summary: ${summaries.map((m) => messageText(m).replace(/\s+/g, " ").slice(-200)).join(" | ") || "none"}; ` +
        `upload failures: ${
          thread
            .filter(isUploadFailure)
            .map((m) => m.text)
            .join(" | ") || "none"
        })`,
    );
  return { problems, facts: { runId, nodes: journal.length, events, threadMessages: thread.length } };
}

/**
 * After a fault: checks every invariant, records the run's figures under `faults` (nodes, pickups of the run by a
 * worker, steering applied, problems found, plus `extra`), and fails the test with the whole list of problems.
 */
export async function expectRunSurvived(
  d: Deployment,
  started: StartedRun,
  fault: string,
  opts: { guidance?: string[]; extra?: FigureValues; chatTimeoutMs?: number } = {},
): Promise<RunFacts> {
  const guidance = opts.guidance ?? [];
  const { problems, facts } = await runInvariants({
    store: d.store,
    redis: d.redisClient,
    slack: d.slack,
    started,
    guidance,
    chatTimeoutMs: opts.chatTimeoutMs,
  });
  recordFigure("faults", fault, {
    nodes: facts.nodes,
    "run.started (pickups)": facts.events.filter((e) => e.type === "run.started").length,
    "steering applied": `${guidance.filter((t) => !problems.some((p) => p.includes(`"${t}"`))).length} of ${guidance.length}`,
    ...opts.extra,
    problems: problems.length,
  });
  expect(problems).toEqual([]);
  return facts;
}
