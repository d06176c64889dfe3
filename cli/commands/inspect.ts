import type { Command } from "commander";
import { followEvents, readEvents } from "../../src/queue/events.ts";
import { describeEvent } from "../../src/runs/event-text.ts";
import { formatUsage } from "../../src/runs/usage-text.ts";
import { formatNumber } from "../../src/search/metric.ts";
import type { RunRecord } from "../../src/store/types.ts";
import { printJson, withServices } from "./common.ts";

export function runSummaryLine(run: RunRecord): string {
  const p = run.progress;
  const best =
    p.bestMetric === null
      ? "no working solution yet"
      : `best ${p.metricName ?? "metric"}=${formatNumber(p.bestMetric)} (node ${p.bestNodeId})`;
  return `${run.id}  ${run.status.padEnd(8)}  step ${p.step}/${p.totalSteps}  ${p.nodes} nodes  ${best}`;
}

export function registerInspectCommands(program: Command): void {
  program
    .command("status")
    .description("Show a run (state, step k/N, best metric, node count, last events), or list recent runs.")
    .argument("[run]", "run id; without it, the most recent runs")
    .option("--json", "print JSON")
    .option("--events <n>", "how many recent events to show", "8")
    .action(async (runId: string | undefined, flags: { json?: boolean; events: string }) => {
      await withServices(async (ctx) => {
        if (!runId) {
          const runs = await ctx.runs.list({ limit: 20 });
          if (flags.json) printJson(runs);
          else process.stdout.write(runs.length ? `${runs.map(runSummaryLine).join("\n")}\n` : "No runs yet.\n");
          return;
        }
        const { run, events } = await ctx.runs.status(runId, Number(flags.events) || 8);
        if (flags.json) return printJson({ run, events: events.map((e) => e.event) });
        const lines = [
          runSummaryLine(run),
          `task: ${run.task.split("\n")[0]!.slice(0, 120)}`,
          `coder: ${run.options.coder}  parallel: ${run.options.parallel}  usage: ${formatUsage(run.usage) ?? "none"}`,
          ...(run.error ? [`error: ${run.error}`] : []),
          ...(events.length
            ? ["recent events:", ...events.map((e) => `  ${e.event.at}  ${describeEvent(e.event)}`)]
            : []),
        ];
        process.stdout.write(`${lines.join("\n")}\n`);
      });
    });

  program
    .command("events")
    .description("Print a run's event stream, as the bots see it; --follow keeps printing until the run ends.")
    .argument("<run>", "run id")
    .option("--follow", "wait for new events until the run finishes or fails (Ctrl-C to stop)")
    .option("--json", "one JSON event per line")
    .action(async (runId: string, flags: { follow?: boolean; json?: boolean }) => {
      await withServices(async (ctx) => {
        await ctx.store.requireRun(runId);
        const print = (e: { event: Parameters<typeof describeEvent>[0] }): void => {
          process.stdout.write(
            `${flags.json ? JSON.stringify(e.event) : `${e.event.at}  ${describeEvent(e.event)}`}\n`,
          );
        };
        const seen = await readEvents(ctx.redis, runId, undefined, 1000);
        seen.forEach(print);
        const ended = (t: string) => t === "run.finished" || t === "run.failed";
        if (!flags.follow || seen.some((e) => ended(e.event.type))) return;
        const controller = new AbortController();
        process.once("SIGINT", () => controller.abort());
        await followEvents(ctx.redis, runId, print, controller.signal, {
          fromId: seen.at(-1)?.entryId ?? "0",
          until: (e) => ended(e.type),
        });
      });
    });
}
