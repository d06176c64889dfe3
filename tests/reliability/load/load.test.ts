/**
 * Load: many runs at once through the whole service: `/aide start` commands to the Slack bot process, two runner
 * processes (each allowed enough runs at once to hold its half), the offline coder with sleep-bound scripts in the
 * bubblewrap sandbox, the bot posting every new best and summary to the fake Slack. Measured and printed:
 * - runs held at once (most runs between their run.started and run.finished at any moment);
 * - steps per minute over the whole load (finished nodes / time from the first run.started to the last run.finished);
 * - event latency, p50 and p95: from an event's emission in the runner (its `at`) to the bot's chat call for it (the
 *   fake's record of the new-best or summary post);
 * - peak resident memory (VmHWM) of the bot and of each worker;
 * - events lost: events in the stream for these runs that the bot's consumer group never handled.
 * Every run must also pass the fault suite's invariants (journal, events, chat posts once each).
 *
 * Fast suite: 8 runs. Long suite: 50 runs.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { EVENTS_STREAM } from "../../../src/queue/events.ts";
import { chatGroup } from "../../../src/runs/chat/bridge.ts";
import { useDeployment, poll, type Deployment, type StartedRun } from "../support/deployment.ts";
import { describeLong } from "../support/flags.ts";
import { recordFigure } from "../support/figures.ts";
import { isSummary, runEvents, runInvariants } from "../support/invariants.ts";

const SLEEP_SEC = 2;
const STEPS = 4;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** Most intervals overlapping at one moment. */
function maxOverlap(intervals: Array<[number, number]>): number {
  const points = intervals
    .flatMap(
      ([a, b]) =>
        [
          [a, 1],
          [b, -1],
        ] as Array<[number, number]>,
    )
    .sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  let now = 0;
  let max = 0;
  for (const [, delta] of points) {
    now += delta;
    max = Math.max(max, now);
  }
  return max;
}

async function startAll(d: Deployment, runs: number): Promise<StartedRun[]> {
  const started: StartedRun[] = [];
  // A team's worth of commands at a time, as people type them: in batches, not one by one.
  for (let i = 0; i < runs; i += 10) {
    const batch = Array.from({ length: Math.min(10, runs - i) }, (_, k) =>
      d.startRun(`CLOAD${String(i + k).padStart(3, "0")}`, { steps: STEPS, parallel: 1 }),
    );
    started.push(...(await Promise.all(batch)));
  }
  return started;
}

function loadCase(runs: number) {
  const perWorker = Math.ceil(runs / 2);
  const d = useDeployment({
    workers: 2,
    workerConcurrency: perWorker,
    lockDurationSec: 30,
    workerArgs: ["--import", "tsx", join(import.meta.dirname, "..", "support", "sleep-runner.ts")],
    // Warm interpreters pre-import scikit-learn for every run; these scripts need none of it.
    workerEnv: { AIDE_SLEEP_SEC: String(SLEEP_SEC), AIDE_WARM: "0" },
  });

  it(`holds ${runs} concurrent runs across 2 workers and loses no event`, async () => {
    const started = await startAll(d, runs);
    const ids = new Set(started.map((s) => s.run.id));
    for (const s of started) await d.waitForEnd(s.run.id, 600_000);
    // The bot catches up: every summary posted and nothing pending in its consumer group.
    await poll(
      () => started.every((s) => d.slack.thread(s.channel, s.cardTs).some((m) => isSummary(m, s.run.id))),
      300_000,
      "every summary",
    );
    const group = chatGroup("slack");
    await poll(
      async () => Number(((await d.redisClient.xpending(EVENTS_STREAM, group)) as [number])[0]) === 0,
      120_000,
      "no pending events",
    );

    const memory = { bot: d.bot.peakRssMb() ?? NaN, workers: d.workers.map((w) => w.peakRssMb() ?? NaN) };
    const problems: string[] = [];
    const intervals: Array<[number, number]> = [];
    const latencies: number[] = [];
    let steps = 0;
    let emitted = 0;
    let lost = 0;
    for (const s of started) {
      const inv = await runInvariants({
        store: d.store,
        redis: d.redisClient,
        slack: d.slack,
        started: s,
        guidance: [],
      });
      problems.push(...inv.problems.map((p) => `${s.run.id}: ${p}`));
      const events = await runEvents(d.redisClient, s.run.id);
      const at = (type: string) => events.filter((e) => e.type === type).map((e) => Date.parse(e.at));
      intervals.push([Math.min(...at("run.started")), Math.max(...at("run.finished"))]);
      steps += events.filter((e) => e.type === "step.finished").length;
      for (const e of events) {
        emitted += 1;
        if ((await d.redisClient.exists(`aide:handled:${group}:${e.id}`)) !== 1) lost += 1;
        const text =
          e.type === "best.improved"
            ? `New best in run ${s.run.id}: node ${e.node.id},`
            : e.type === "run.finished"
              ? null
              : undefined;
        if (text === undefined) continue;
        const call = d.slack.calls.find(
          (c) =>
            c.method === "chat.postMessage" &&
            c.ok &&
            c.args.channel === s.channel &&
            (text ? String(c.args.text).includes(text) : isSummary({ text: String(c.args.text) }, s.run.id)),
        );
        if (call) latencies.push(d.slack.startedAt + call.at - Date.parse(e.at));
      }
    }
    // Stream entries of these runs in the global stream the bots read: the same events, none missing.
    const globalEntries = ((await d.redisClient.xrange(EVENTS_STREAM, "-", "+")) as Array<[string, string[]]>).filter(
      ([, f]) => ids.has(f[f.indexOf("runId") + 1]!),
    ).length;
    const spanMs = Math.max(...intervals.map((i) => i[1])) - Math.min(...intervals.map((i) => i[0]));
    const sorted = [...latencies].sort((a, b) => a - b);
    const figures = {
      runs,
      "runs held at once (max)": maxOverlap(intervals),
      "steps/min": Number(((steps / spanMs) * 60_000).toFixed(1)),
      "event latency p50 ms": Math.round(percentile(sorted, 50)),
      "event latency p95 ms": Math.round(percentile(sorted, 95)),
      "latency samples": sorted.length,
      "bot peak RSS MB": Math.round(memory.bot),
      "worker peak RSS MB": memory.workers.map((m) => Math.round(m)).join(" / "),
      "events emitted": emitted,
      "events lost": lost,
      problems: problems.length,
    };
    recordFigure("load", `${runs} runs, 2 workers, ${STEPS} steps of ${SLEEP_SEC} s scripts`, figures);
    console.log(
      ["| measure | value |", "| --- | --- |", ...Object.entries(figures).map(([k, v]) => `| ${k} | ${v} |`)].join(
        "\n",
      ),
    );
    expect(problems).toEqual([]);
    expect(lost).toBe(0);
    expect(globalEntries).toBe(emitted);
    expect(steps).toBe(runs * STEPS);
    expect(sorted.length).toBeGreaterThanOrEqual(runs);
  }, 1_200_000);
}

describe("load: concurrent runs (fast)", () => {
  loadCase(8);
});

describeLong("load: 50 concurrent runs", () => {
  loadCase(50);
});
