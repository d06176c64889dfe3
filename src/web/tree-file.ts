/**
 * The self-contained tree page of a run (`aide tree <run> --out tree.html`): one HTML file with the tree, every
 * node's detail and the chart embedded, and the page's script and stylesheet inlined. It opens from disk, sends
 * no request anywhere, and shows the run as it was when written.
 */
import type { SolutionNode } from "../search/types.ts";
import type { Store } from "../store/store.ts";
import { metricChartPng } from "../charts/metric-chart.ts";
import { filePageHtml } from "./page.ts";
import { buildTreeView, nodeDetail, type NodeDetail, type TreeRunSource } from "./tree-model.ts";

export async function treeFileHtmlOf(run: TreeRunSource, journal: readonly SolutionNode[]): Promise<string> {
  const view = buildTreeView(run, [...journal]);
  const details: Record<number, NodeDetail> = {};
  for (const n of journal) details[n.id] = nodeDetail(n, view.run.bestNodeId);
  const chart = journal.length ? await metricChartPng([...journal], { title: `run ${run.id}` }) : null;
  return filePageHtml(view, details, chart);
}

/** The file for a stored run; a missing run is a RunNotFoundError. */
export async function treeFileHtml(store: Store, runId: string): Promise<string> {
  const run = await store.requireRun(runId);
  return treeFileHtmlOf(run, await store.loadJournal(runId));
}
