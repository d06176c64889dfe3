import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Command } from "commander";
import { defaultDataDir } from "../../src/services/local-services.ts";
import { submissionFromRunDir, writeRunOutputs } from "../../src/runs/outputs.ts";
import { withServices } from "./common.ts";

export function registerExportCommand(program: Command): void {
  program
    .command("export")
    .description("Write a run's journal.json, best_solution.py and best_submission.csv (as `aide run --out` does).")
    .argument("<run>", "run id")
    .requiredOption("--out <dir>", "directory to write into")
    .action(async (runId: string, flags: { out: string }) => {
      await withServices(async (ctx, config) => {
        const run = await ctx.store.requireRun(runId);
        const nodes = await ctx.store.loadJournal(runId);
        const best = nodes.find((n) => n.id === run.progress.bestNodeId) ?? null;
        const localRunDir = join(config.services.dataDir || defaultDataDir(), "runs", runId);
        const fromDisk = existsSync(localRunDir) ? submissionFromRunDir(localRunDir) : async () => null;
        const outDir = resolve(flags.out);
        const written = await writeRunOutputs({
          outDir,
          config: { runId, status: run.status, options: run.options, links: run.links.map((l) => l.replace(/\?.*$/, "")) },
          readSubmission: async (node) => (await ctx.store.getSubmission(runId, node.id)) ?? (await fromDisk(node)),
          record: {
            runId,
            task: run.task,
            coder: nodes[0]?.coder ?? run.options.coder,
            executor: "",
            lowerIsBetter: run.progress.lowerIsBetter,
            best,
            nodes,
            usage: run.usage,
            finishReason: run.finishReason ?? run.status,
            guidance: (await ctx.store.listSteers(runId)).flatMap((s) => (s.appliedAt && s.command.kind === "guidance" ? [s.command.text] : [])),
          },
        });
        process.stdout.write(`Wrote ${written.map((p) => p.slice(outDir.length + 1)).join(", ")} to ${outDir}\n`);
      });
    });
}
