import { writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { fileURLToPath } from "node:url";
import { Command } from "commander";
import Table from "cli-table3";
import { formatNumber } from "../src/search/metric.ts";
import { bareStartMs, executorRunMs, executors, perStepMs, SKLEARN_SCRIPT } from "./overhead.ts";
import { listTasks, scoreTask, type TaskScore } from "./task-scores.ts";
import { eventLatency, executorStepMs, stepsPerMinute } from "./service.ts";
import { DockerExecutor } from "../runner/executors/docker.ts";
import { silentLogger } from "../src/logger.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const f = (x: number | null, digits = 4) => (x === null ? "-" : formatNumber(Number(x.toPrecision(digits))));

function scoresMarkdown(scores: TaskScore[], steps: number, seed: number): string {
  const rows = scores.map(
    (s) =>
      `| ${s.task} | ${s.metric} | ${f(s.baseline)} | ${f(s.reference)} | ${f(s.firstDraftTest)} | ${f(s.bestTest)} (#${s.bestNode} ${s.bestStage}) | ${f(s.bestValidation)} | ${s.progress === null ? "-" : `${(s.progress * 100).toFixed(0)}%`} | ${s.beatsFirstDraft === null ? "-" : s.beatsFirstDraft ? "yes" : "no"} | ${s.buggy} | ${s.seconds.toFixed(0)} |`,
  );
  const passed = scores.filter((s) => s.progress !== null && s.progress >= 0.9).length;
  const beats = scores.filter((s) => s.beatsFirstDraft).length;
  return [
    `### Offline coder on the benchmark tasks (${steps} steps, seed ${seed}, sandbox executor)`,
    "",
    "Test scores are graded against each task's hidden `answers.csv`; progress is the share of the way from the",
    "task's baseline to its reference score (HistGradientBoosting with default settings).",
    "",
    "| task | metric | baseline | reference | first good draft (test) | best node (test) | best (validation) | progress | beats first draft | buggy nodes | seconds |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ...rows,
    "",
    `At least 90% of the way on ${passed} of ${scores.length} tasks; the best node beats the first good draft on ${beats} of ${scores.length}.`,
  ].join("\n");
}

async function overheadMarkdown(): Promise<string> {
  const ex = executors();
  const bare = bareStartMs(["-c", "pass"], 15);
  const stepSandbox = await perStepMs(ex.sandbox, 20);
  const stepLocal = await perStepMs(ex.local, 20);
  const bareSk = bareStartMs(["-c", SKLEARN_SCRIPT], 5);
  const sandboxSk = await executorRunMs(ex.sandbox, SKLEARN_SCRIPT, 5);
  const localSk = await executorRunMs(ex.local, SKLEARN_SCRIPT, 5);
  return [
    "### Orchestration and executor overhead",
    "",
    "| measure | ms | ratio |",
    "| --- | --- | --- |",
    `| bare \`/usr/bin/python3 -c pass\` process (median of 15) | ${bare.toFixed(1)} | 1.00 |`,
    `| one search step, instant coder, trivial script, sandbox executor (20 steps) | ${stepSandbox.toFixed(1)} | ${(stepSandbox / bare).toFixed(2)} |`,
    `| one search step, instant coder, trivial script, local executor (20 steps) | ${stepLocal.toFixed(1)} | ${(stepLocal / bare).toFixed(2)} |`,
    `| bare python importing sklearn.ensemble, pandas, numpy (median of 5) | ${bareSk.toFixed(0)} | 1.00 |`,
    `| the same script through the sandbox executor | ${sandboxSk.toFixed(0)} | ${(sandboxSk / bareSk).toFixed(2)} |`,
    `| the same script through the local executor | ${localSk.toFixed(0)} | ${(localSk / bareSk).toFixed(2)} |`,
    "",
    "Ratios are to the bare interpreter measured in the same run. A search step includes the policy, prompt",
    "context, writing the script, the sandbox, the submission check, the review and the journal.",
  ].join("\n");
}

async function serviceMarkdown(): Promise<string> {
  const ex = executors();
  const rows: string[] = [];
  const base = await stepsPerMinute(ex.sandbox, 1, 8, 2);
  rows.push(`| parallel 1, 8 steps of a 2 s script (sandbox) | ${base.toFixed(1)} steps/min | 1.00 |`);
  for (const k of [2, 4]) {
    const spm = await stepsPerMinute(ex.sandbox, k, 8, 2);
    rows.push(`| parallel ${k}, 8 steps of a 2 s script (sandbox) | ${spm.toFixed(1)} steps/min | ${(spm / base).toFixed(2)} |`);
  }
  const sandboxStep = await executorStepMs(ex.sandbox);
  rows.push(`| one step, trivial script, sandbox executor | ${sandboxStep.toFixed(0)} ms | 1.00 |`);
  const docker = await DockerExecutor.check({});
  if (docker.ok) {
    const dockerStep = await executorStepMs(new DockerExecutor({ logger: silentLogger }));
    rows.push(`| one step, trivial script, docker executor | ${dockerStep.toFixed(0)} ms | ${(dockerStep / sandboxStep).toFixed(2)} |`);
  } else rows.push(`| docker executor | not measured: ${docker.reason} | - |`);
  const latency = await eventLatency(200);
  rows.push(`| best.improved published -> consumer group handler (200 events) | median ${latency.medianMs.toFixed(2)} ms, p95 ${latency.p95Ms.toFixed(2)} ms | - |`);
  return ["### Runner service", "", "| measure | value | ratio |", "| --- | --- | --- |", ...rows, "", "Ratios: parallel K to parallel 1; docker to sandbox."].join("\n");
}

const program = new Command("bench")
  .description("Benchmarks: offline coder scores on ../shared/tasks, orchestration and executor overhead.")
  .option("--tasks <dir>", "directory of benchmark tasks (task.md, input/, answers.csv, meta.json)", `${ROOT}../shared/tasks`)
  .option("--steps <n>", "steps per task", "20")
  .option("--seed <n>", "search seed", "0")
  .option("--only <part>", "run one part: scores, overhead or service")
  .option("--write <file>", "also write the results as markdown to this file (e.g. docs/benchmarks.md)")
  .action(async (opts: { tasks: string; steps: string; seed: string; only?: string; write?: string }) => {
    const steps = Number(opts.steps), seed = Number(opts.seed);
    const parts: string[] = [
      "# Benchmarks",
      "",
      `Produced by \`npm run bench${process.argv.slice(2).length ? " -- " + process.argv.slice(2).join(" ") : ""}\` on ${new Date().toISOString().slice(0, 10)}, ${cpus().length} cores (${cpus()[0]?.model.trim()}), Node ${process.version}.`,
      "",
    ];
    if (!opts.only || opts.only === "scores") {
      const tasks = listTasks(opts.tasks);
      if (tasks.length === 0) process.stdout.write(`No benchmark tasks under ${opts.tasks}; skipping the scores.\n`);
      const scores: TaskScore[] = [];
      for (const dir of tasks) {
        process.stdout.write(`scoring ${dir} ...\n`);
        scores.push(await scoreTask(dir, steps, seed));
      }
      if (scores.length) {
        const t = new Table({ head: ["task", "first draft", "best", "progress", "beats draft"] });
        for (const s of scores) t.push([s.task, f(s.firstDraftTest), f(s.bestTest), s.progress === null ? "-" : `${(s.progress * 100).toFixed(0)}%`, String(s.beatsFirstDraft)]);
        process.stdout.write(t.toString() + "\n");
        parts.push(scoresMarkdown(scores, steps, seed), "");
      }
    }
    if (!opts.only || opts.only === "overhead") parts.push(await overheadMarkdown(), "");
    if (!opts.only || opts.only === "service") parts.push(await serviceMarkdown(), "");
    const md = parts.join("\n");
    process.stdout.write("\n" + md + "\n");
    if (opts.write) writeFileSync(opts.write, md);
  });

await program.parseAsync(process.argv);
