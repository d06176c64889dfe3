/**
 * Start-up of the `aide` command, compiled (bin/aide.mjs: dist/, after its staleness check) against the
 * TypeScript sources through tsx's loader (bench/aide-tsx.mjs, the former entry point), measured in one run:
 * the wall time of `aide --help` (loads every command) and `aide run --help`, and the resident memory of
 * `aide slack` and `aide runner` when they are ready.
 */
import { spawnSync } from "node:child_process";
import { COMPILED_AIDE, startupMemory, TSX_AIDE } from "./chat.ts";
import { median } from "./overhead.ts";

export const HELP_COMMANDS = [["--help"], ["run", "--help"]];

export interface CliStartup {
  /** Per command line (`aide --help`, ...): median wall ms of each entry point. */
  help: Array<{ command: string; compiledMs: number; tsxMs: number }>;
  reps: number;
  memory: { compiled: { botMb: number; runnerMb: number }; tsx: { botMb: number; runnerMb: number } };
}

function wallMs(entry: string, args: string[]): number {
  const t = performance.now();
  const r = spawnSync(process.execPath, [entry, ...args], { stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" });
  const ms = performance.now() - t;
  if (r.status !== 0 || !r.stdout.includes("Usage: aide"))
    throw new Error(`aide ${args.join(" ")} (${entry}) failed: ${r.stderr}`);
  return ms;
}

/** Both entry points, interleaved `reps` times after one unmeasured run each (dist/ built, tsx's cache filled). */
export async function cliStartup(reps: number): Promise<CliStartup> {
  const help = HELP_COMMANDS.map((args) => {
    const compiled: number[] = [],
      tsx: number[] = [];
    wallMs(COMPILED_AIDE, args);
    wallMs(TSX_AIDE, args);
    for (let i = 0; i < reps; i++) {
      compiled.push(wallMs(COMPILED_AIDE, args));
      tsx.push(wallMs(TSX_AIDE, args));
    }
    return { command: `aide ${args.join(" ")}`, compiledMs: median(compiled), tsxMs: median(tsx) };
  });
  const memory = { compiled: await startupMemory(COMPILED_AIDE), tsx: await startupMemory(TSX_AIDE) };
  return { help, reps, memory };
}
