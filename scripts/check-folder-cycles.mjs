#!/usr/bin/env node
/**
 * Fails when folders import each other in a cycle, even where no module cycle exists (src/runs/chat/a.ts ->
 * src/web/b.ts and src/web/c.ts -> src/runs/d.ts). Modules are collapsed to their folder two levels down
 * (src/runs, src/web, runner/executors, bots/slack; a file directly in src/ counts as src), and the strongly
 * connected components of that folder graph (Tarjan) are the cycles. Each is printed with one import per step.
 *
 *   node scripts/check-folder-cycles.mjs [dir ...]    # default: src bots runner cli
 *
 * The graph is dependency-cruiser's, with the options of .dependency-cruiser.cjs (parser, resolution), so both
 * checks see the same edges. Exit 0 with a one-line summary, 1 listing the cycles, 2 when nothing resolved.
 */
import { fileURLToPath } from "node:url";
import { cruise } from "dependency-cruiser";
import extractDepcruiseOptions from "dependency-cruiser/config-utl/extract-depcruise-options";

const DEPTH = 2;
process.chdir(fileURLToPath(new URL("..", import.meta.url)));
const dirs = process.argv.length > 2 ? process.argv.slice(2) : ["src", "bots", "runner", "cli"];
const { output } = await cruise(dirs, await extractDepcruiseOptions("./.dependency-cruiser.cjs"));

const folderOf = (file) => {
  const parts = file.split("/");
  return parts.slice(0, Math.min(DEPTH, parts.length - 1)).join("/");
};
const isOwn = (file) => !file.startsWith("node_modules/") && file.includes("/");

/** folder -> (folder -> one example import "from -> to"), over the project's own files. */
const graph = new Map();
let modules = 0;
let edges = 0;
for (const m of [...output.modules].sort((a, b) => a.source.localeCompare(b.source))) {
  if (m.coreModule || !isOwn(m.source)) continue;
  modules++;
  const from = folderOf(m.source);
  if (!graph.has(from)) graph.set(from, new Map());
  for (const d of m.dependencies) {
    if (d.coreModule || d.couldNotResolve || !isOwn(d.resolved)) continue;
    edges++;
    const to = folderOf(d.resolved);
    if (!graph.has(to)) graph.set(to, new Map());
    if (to !== from && !graph.get(from).has(to)) graph.get(from).set(to, `${m.source} -> ${d.resolved}`);
  }
}
if (edges === 0) {
  console.error(
    `check-folder-cycles: no imports between the project's files resolved in ${dirs.join(" ")}: the graph is empty, check .dependency-cruiser.cjs`,
  );
  process.exit(2);
}

// Tarjan's strongly connected components.
const index = new Map();
const low = new Map();
const stack = [];
const onStack = new Set();
const components = [];
const visit = (v) => {
  index.set(v, index.size);
  low.set(v, index.get(v));
  stack.push(v);
  onStack.add(v);
  for (const w of graph.get(v).keys()) {
    if (!index.has(w)) {
      visit(w);
      low.set(v, Math.min(low.get(v), low.get(w)));
    } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), index.get(w)));
  }
  if (low.get(v) === index.get(v)) {
    const component = [];
    let w;
    do {
      w = stack.pop();
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1) components.push(component.sort());
  }
};
for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);

/** The shortest cycle through `start` inside `component` (breadth-first), as the list of folders on it. */
const cycleThrough = (start, component) => {
  const inside = new Set(component);
  const parent = new Map();
  const queue = [start];
  while (queue.length) {
    const v = queue.shift();
    for (const w of graph.get(v).keys()) {
      if (!inside.has(w) || parent.has(w)) continue;
      parent.set(w, v);
      if (w === start) {
        const path = [start];
        for (let u = v; u !== start; u = parent.get(u)) path.splice(1, 0, u);
        return [...path, start];
      }
      queue.push(w);
    }
  }
};

const summary = `${modules} modules, ${edges} imports, ${graph.size} folders at depth ${DEPTH}`;
if (components.length === 0) {
  console.log(`check-folder-cycles: no folder cycles among ${summary}`);
  process.exit(0);
}
console.error(`check-folder-cycles: ${components.length} folder cycle(s) among ${summary}:`);
for (const component of components) {
  console.error(`\n  ${component.join(", ")}`);
  // One cycle per folder not yet shown, so every folder of the component appears on a printed cycle.
  const shown = new Set();
  for (const start of component) {
    if (shown.has(start)) continue;
    const cycle = cycleThrough(start, component);
    for (const f of cycle) shown.add(f);
    console.error(`    ${cycle.join(" -> ")}`);
    for (let i = 0; i + 1 < cycle.length; i++) console.error(`      ${graph.get(cycle[i]).get(cycle[i + 1])}`);
  }
}
process.exit(1);
