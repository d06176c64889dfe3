/**
 * Figures the reliability tests measure. Each is printed as one line (`[reliability] <section> | <name> | k: v, ...`)
 * and, when AIDE_RELIABILITY_FIGURES names a file, appended to it as a JSON line, so docs/reliability.md can be
 * refreshed from a run of the suite (the command is written next to each table there).
 */
import { appendFileSync } from "node:fs";

export type FigureValues = Record<string, string | number | boolean>;

export function recordFigure(section: string, name: string, values: FigureValues): void {
  const line = Object.entries(values)
    .map(([k, v]) => `${k}: ${v}`)
    .join(", ");
  console.log(`[reliability] ${section} | ${name} | ${line}`);
  const file = process.env.AIDE_RELIABILITY_FIGURES;
  if (file) appendFileSync(file, `${JSON.stringify({ at: new Date().toISOString(), section, name, values })}\n`);
}
