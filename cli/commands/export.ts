import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Command } from "commander";
import { defaultDataDir } from "../../src/services/local-services.ts";
import { submissionFromRunDir, writeRunOutputs } from "../../src/runs/outputs.ts";
import type { Store } from "../../src/store/index.ts";
import { withServices } from "./common.ts";

/** What `aide export` reads of the store. */
export type ExportStore = Pick<Store, "requireRun" | "loadJournal" | "getSubmission" | "listSteers">;

/**
 * Writes a stored run's outputs into `outDir` as `aide run --out` writes them (journal.json, best_solution.py,
 * best_submission.csv, config.json, tree.html); a submission not in the store is read from the run's directory
 * under `dataDir`, when there is one. Returns the paths written.
 */
export async function exportRun(store: ExportStore, runId: string, outDir: string, dataDir: string): Promise<string[]> {
  const run = await store.requireRun(runId);
  const nodes = await store.loadJournal(runId);
  const best = nodes.find((n) => n.id === run.progress.bestNodeId) ?? null;
  const localRunDir = join(dataDir, "runs", runId);
  const fromDisk = existsSync(localRunDir) ? submissionFromRunDir(localRunDir) : async () => null;
  return writeRunOutputs({
    outDir,
    config: { runId, status: run.status, options: run.options, links: run.links.map((l) => l.replace(/\?.*$/, "")) },
    readSubmission: async (node) => (await store.getSubmission(runId, node.id)) ?? (await fromDisk(node)),
    record: {
      runId,
      task: run.task,
      coder: nodes[0]?.coder ?? run.options.coder,
      executor: run.progress.executor ?? "",
      lowerIsBetter: run.progress.lowerIsBetter,
      metricName: run.progress.metricName,
      best,
      nodes,
      usage: run.usage,
      finishReason: run.finishReason ?? run.status,
      holdout: run.progress.holdoutLine,
      delivered: run.progress.delivered,
      guidance: (await store.listSteers(runId)).flatMap((s) =>
        s.appliedAt && s.command.kind === "guidance" ? [s.command.text] : [],
      ),
    },
  });
}

export function registerExportCommand(program: Command): void {
  program
    .command("export")
    .description("Write a run's journal.json, best_solution.py and best_submission.csv (as `aide run --out` does).")
    .argument("<run>", "run id")
    .requiredOption("--out <dir>", "directory to write into")
    .action(async (runId: string, flags: { out: string }) => {
      await withServices(async (ctx, config) => {
        const outDir = resolve(flags.out);
        const written = await exportRun(ctx.store, runId, outDir, config.services.dataDir || defaultDataDir());
        process.stdout.write(`Wrote ${written.map((p) => p.slice(outDir.length + 1)).join(", ")} to ${outDir}\n`);
      });
    });
}
