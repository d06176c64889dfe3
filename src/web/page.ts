/**
 * The tree page's HTML. Live (served by TreeServer): the page boots with the run id and its token, loads
 * /assets/tree.js and /assets/tree.css, fetches the tree and follows it over server-sent events. File (`aide
 * tree --out`): the same script and stylesheet inlined, with the tree, every node's detail and the chart
 * embedded, so the file opens anywhere without a server.
 */
import { pageAssets } from "./assets.ts";
import { escapeHtml } from "./highlight.ts";
import type { NodeDetail, TreeView } from "./tree-model.ts";

export type PageBoot =
  | { mode: "live"; runId: string; token: string }
  | { mode: "file"; view: TreeView; details: Record<number, NodeDetail>; chart: string | null };

/** JSON that can sit inside a <script> element: "<", ">", "&" and line separators escaped. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/>/g, "\\u003e")
    .replace(/&/g, "\\u0026")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

function skeleton(title: string, head: string, boot: PageBoot, tail: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)}</title>
${head}
</head>
<body>
<script id="aide-boot" type="application/json">${scriptJson(boot)}</script>
<header id="run-header">
  <h1 id="run-title">${escapeHtml(title)}</h1>
  <div id="run-facts"></div>
  <div id="live-state" class="live-state"></div>
</header>
<main>
  <section id="tree-pane" aria-label="Solution tree">
    <div id="legend">
      <span class="swatch swatch-worst"></span> worse
      <span class="swatch swatch-best"></span> better
      <span class="swatch swatch-buggy"></span> buggy
      <span class="swatch swatch-star"></span> best node
    </div>
    <div id="tree-scroll"><svg id="tree" xmlns="http://www.w3.org/2000/svg" role="img" aria-label="solution tree"></svg></div>
    <figure id="chart-figure" hidden><img id="chart" alt="Metric over steps"></figure>
  </section>
  <aside id="detail" aria-live="polite">
    <p class="hint">Click a node to see its plan, code, metric, review findings and output.</p>
  </aside>
</main>
${tail}
</body>
</html>
`;
}

export function livePageHtml(runId: string, token: string): string {
  return skeleton(
    `AIDE run ${runId}`,
    `<link rel="stylesheet" href="../assets/tree.css">`,
    { mode: "live", runId, token },
    `<script src="../assets/tree.js"></script>`,
  );
}

export function filePageHtml(view: TreeView, details: Record<number, NodeDetail>, chartPng: Buffer | null): string {
  const { script, style } = pageAssets();
  const chart = chartPng ? `data:image/png;base64,${chartPng.toString("base64")}` : null;
  // "</" inside the inlined script or style would end the element early.
  const safeScript = script.replace(/<\/(script)/gi, "<\\/$1");
  const safeStyle = style.replace(/<\/(style)/gi, "<\\/$1");
  return skeleton(
    `AIDE run ${view.run.id}`,
    `<style>\n${safeStyle}\n</style>`,
    { mode: "file", view, details, chart },
    `<script>\n${safeScript}\n</script>`,
  );
}
