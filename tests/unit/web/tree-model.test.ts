import { describe, expect, it } from "vitest";
import { escapeHtml, highlightPython } from "../../../src/web/highlight.ts";
import { filePageHtml, livePageHtml } from "../../../src/web/page.ts";
import {
  BEST_STROKE,
  BUGGY_FILL,
  buildTreeView,
  LEVEL_SPACING,
  metricColour,
  nodeDetail,
} from "../../../src/web/tree-model.ts";
import { runRecord, solutionNode } from "../../fakes/solution-nodes.ts";

describe("tree view", () => {
  // 0 and 1 are drafts; 2 improves 0; 3 (buggy) improves 2; 4 improves 2.
  const journal = [
    solutionNode(0, { metric: 0.7 }),
    solutionNode(1, { metric: 0.6 }),
    solutionNode(2, { parentId: 0, metric: 0.8 }),
    solutionNode(3, { parentId: 2, metric: null }),
    solutionNode(4, { parentId: 2, metric: 0.75 }),
  ];

  it("lays the tree out top-down: children one level below their parent, drafts side by side", () => {
    const v = buildTreeView(runRecord(), journal);
    const at = (id: number) => v.nodes.find((n) => n.id === id)!;
    expect(v.nodes.map((n) => n.id)).toEqual([0, 1, 2, 3, 4]);
    expect(at(0).y).toBe(at(1).y);
    expect(at(2).y - at(0).y).toBe(LEVEL_SPACING);
    expect(at(3).y - at(2).y).toBe(LEVEL_SPACING);
    expect(at(3).y).toBe(at(4).y);
    expect(at(3).x).toBeLessThan(at(4).x);
    expect(at(0).x).toBeLessThan(at(1).x);
    expect(v.edges).toEqual([
      { from: 0, to: 2 },
      { from: 2, to: 3 },
      { from: 2, to: 4 },
    ]);
    for (const n of v.nodes) {
      expect(n.x).toBeGreaterThan(0);
      expect(n.x).toBeLessThan(v.width);
      expect(n.y).toBeLessThan(v.height);
    }
  });

  it("colours working nodes by metric, greys buggy ones and highlights the best", () => {
    const v = buildTreeView(runRecord(), journal);
    const at = (id: number) => v.nodes.find((n) => n.id === id)!;
    expect(at(3)).toMatchObject({ buggy: true, fill: BUGGY_FILL, label: "exit 1", metric: null });
    expect(at(2)).toMatchObject({ best: true, stroke: BEST_STROKE, fill: metricColour(1) });
    expect(at(1).fill).toBe(metricColour(0));
    expect(v.nodes.filter((n) => n.best).map((n) => n.id)).toEqual([2]);
    expect(v.run).toMatchObject({
      bestNodeId: 2,
      bestMetric: 0.8,
      metricName: "roc_auc",
      lowerIsBetter: false,
      finished: false,
    });

    // Lower is better: the smallest value is the best and the darkest.
    const low = [
      solutionNode(0, { metric: 3, lowerIsBetter: true }),
      solutionNode(1, { metric: 1, lowerIsBetter: true }),
    ];
    const lv = buildTreeView(runRecord(), low);
    expect(lv.nodes[1]).toMatchObject({ best: true, fill: metricColour(1) });
    expect(lv.nodes[0]!.fill).toBe(metricColour(0));
  });

  it("colours an unranked node like one without a metric and never makes it the best", () => {
    const reason = "it reported mae, but this run is judged by roc_auc";
    const nodes = [
      solutionNode(0, { metric: 0.7 }),
      solutionNode(1, { metric: 0.95, metricName: "mae", lowerIsBetter: true, unranked: reason }),
      solutionNode(2, { metric: 0.8 }),
    ];
    const v = buildTreeView(runRecord(), nodes);
    const at = (id: number) => v.nodes.find((n) => n.id === id)!;
    expect(at(1)).toMatchObject({
      buggy: false,
      best: false,
      unranked: true,
      fill: BUGGY_FILL,
      label: "unranked",
      metric: 0.95,
    });
    expect(at(2)).toMatchObject({ best: true, fill: metricColour(1) });
    expect(at(0).fill).toBe(metricColour(0));
    expect(v.run).toMatchObject({ bestNodeId: 2, lowerIsBetter: false });
    expect(nodeDetail(nodes[1]!, 2)).toMatchObject({ unranked: reason, metric: { name: "mae", value: 0.95 } });
  });

  it("has no best and no colour scale while the direction is unknown, and reads it from later nodes", () => {
    const unknown = [
      solutionNode(0, { metric: 3, lowerIsBetter: null }),
      solutionNode(1, { metric: 1, lowerIsBetter: null }),
    ];
    const v = buildTreeView(runRecord(), unknown);
    expect(v.run).toMatchObject({ bestNodeId: null, lowerIsBetter: null });
    expect(v.nodes.map((n) => n.fill)).toEqual([metricColour(0.5), metricColour(0.5)]);
    const told = buildTreeView(runRecord(), [...unknown, solutionNode(2, { metric: 2, lowerIsBetter: true })]);
    expect(told.run).toMatchObject({ bestNodeId: 1, lowerIsBetter: true });
  });

  it("handles an empty journal and orphans (a parent that is not in the journal)", () => {
    const empty = buildTreeView(runRecord(), []);
    expect(empty.nodes).toEqual([]);
    expect(empty.width).toBeGreaterThan(0);
    const orphan = buildTreeView(runRecord(), [solutionNode(5, { parentId: 99, metric: 0.1 })]);
    expect(orphan.nodes[0]).toMatchObject({ id: 5, parentId: null });
  });

  it("labels a node judged on the holdout with its holdout score, and shows both scores in full", () => {
    const judged = (id: number, metric: number, holdout: number, parentId: number | null = null) => ({
      ...solutionNode(id, { metric, parentId }),
      holdout: { name: "roc_auc", value: holdout, lowerIsBetter: false },
    });
    // Node 1 reports the better validation number; node 0 does better on the holdout, so it is the best.
    const view = buildTreeView(runRecord(), [judged(0, 0.8, 0.79), judged(1, 0.85, 0.77)]);
    expect(view.run.bestNodeId).toBe(0);
    expect(view.run.bestScoresText).toBe("roc_auc: holdout 0.79 · validation 0.8");
    expect(view.nodes.map((n) => [n.label, n.scores])).toEqual([
      ["0.79", "roc_auc: holdout 0.79 · validation 0.8"],
      ["0.77", "roc_auc: holdout 0.77 · validation 0.85"],
    ]);
    expect(nodeDetail(judged(1, 0.85, 0.77), 0).metric?.scores).toBe("roc_auc: holdout 0.77 · validation 0.85");
    expect(nodeDetail(solutionNode(2, { metric: 0.8 }), 0).metric?.scores).toBe("roc_auc = 0.8");
  });

  it("gives a node's detail with its code highlighted and escaped", () => {
    const n = solutionNode(7, { code: 'x = "<script>alert(1)</script>"\nimport numpy as np\n', analysis: "Overfits." });
    const d = nodeDetail(n, 7);
    expect(d).toMatchObject({ id: 7, best: true, findings: "Overfits.", buggy: false });
    expect(d.codeHtml).toContain('<span class="hljs-keyword">import</span>');
    expect(d.codeHtml).not.toContain("<script>");
    expect(d.codeHtml).toContain("&lt;script&gt;");
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe("&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    expect(highlightPython("def f():\n    return 1\n")).toContain("hljs-title function_");
  });

  it("embeds data in pages so that no node text can end the boot script early", () => {
    const evil = solutionNode(0, { plan: "</script><script>alert(1)</script>", metric: 0.5 });
    const html = filePageHtml(buildTreeView(runRecord(), [evil]), { 0: nodeDetail(evil, 0) }, null);
    expect(html.match(/<\/script>/g)).toHaveLength(2); // the boot data and the inlined script, nothing else
    expect(html).toContain("\\u003c/script\\u003e");
    expect(html).not.toMatch(/<link|src="http/);
    const live = livePageHtml("rtree0001", "tok</script>");
    expect(live).toContain('<script src="../assets/tree.js"></script>');
    expect(live).not.toContain("tok</script>");
  });
});
