import { writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { Command } from "commander";
import { treePageLink } from "../../src/web/links.ts";
import { treeFileHtml } from "../../src/web/tree-file.ts";
import { withServices } from "./common.ts";

export function registerTreeCommand(program: Command): void {
  program
    .command("tree")
    .description(
      "Write a run's solution tree as one self-contained HTML file (tree, every node's plan, code, metric, findings and output, " +
        "and the chart; opens from disk, no server), or print the link of its live tree page.",
    )
    .argument("<run>", "run id")
    .option("--out <file>", "HTML file to write, e.g. tree.html")
    .option("--link", "print the run's live tree page link instead (served by `aide web` or the bots)")
    .action(async (runId: string, flags: { out?: string; link?: boolean }) => {
      await withServices(async (ctx, config) => {
        if (flags.link || !flags.out) {
          const run = await ctx.store.requireRun(runId);
          const link = await treePageLink(ctx.store, { ...config.web, enabled: true }, run.id);
          process.stdout.write(`${link}\n`);
          if (!flags.link) process.stderr.write("(give --out tree.html to write a self-contained file instead)\n");
          return;
        }
        const run = await ctx.store.requireRun(runId);
        const html = await treeFileHtml(ctx.store, run.id);
        const out = resolve(flags.out);
        await writeFile(out, html);
        const ended = ["finished", "stopped", "failed"].includes(run.status);
        process.stdout.write(
          `Wrote ${out} (${run.progress.nodes} nodes, run ${run.status}${ended ? "" : "; a snapshot: the run is still going"}).\n`,
        );
      });
    });
}
