/**
 * The tree page in a real browser: Debian's Chromium (playwright-core) against the real TreeServer, a real
 * Redis event stream and the store. A node is clicked and its code appears; a node finished during the test
 * appears without a reload; the run's end is shown; a wrong or missing token is refused; the self-contained
 * file of `aide tree --out` works opened from disk. Screenshots go to test-output/.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../../src/logger.ts";
import { eventIdFor, publishEvent } from "../../../src/queue/events.ts";
import type { RunEvent } from "../../../src/search/types.ts";
import type { Store } from "../../../src/store/index.ts";
import { TreeServer } from "../../../src/web/server.ts";
import { treeFileHtml } from "../../../src/web/tree-file.ts";
import { solutionNode } from "../../fakes/solution-nodes.ts";
import { launchChromium, TEST_OUTPUT_DIR } from "../../support/browser.ts";
import { useMongo } from "../../support/mongo.ts";
import { useRedisServer } from "../../support/redis.ts";

const mongo = useMongo();
const redisServer = useRedisServer({ flush: false });

let store: Store;
let server: TreeServer;
let base: string;
let browser: Browser;
let runId: string;
let token: string;

/** Generous: the page and the server share two cores with the rest of the suite. */
const POLL = { timeout: 20_000, interval: 100 };

const CODE_OF_2 = "from sklearn.ensemble import HistGradientBoostingClassifier  # node two's model";

async function publish(event: RunEvent): Promise<void> {
  await publishEvent(redisServer.redis, { ...event, id: eventIdFor(event) });
}

async function finishNode(node: ReturnType<typeof solutionNode>, best: boolean): Promise<void> {
  await store.appendNode(runId, node);
  await store.updateProgress(runId, {
    step: node.id + 1,
    nodes: node.id + 1,
    ...(best
      ? { bestNodeId: node.id, bestMetric: node.metric!.value, metricName: "roc_auc", lowerIsBetter: false }
      : {}),
  });
  const at = new Date().toISOString();
  await publish({ type: "step.finished", runId, at, node });
  if (best) await publish({ type: "best.improved", runId, at, node, previous: null });
}

beforeAll(async () => {
  store = await mongo.connect();
  const run = await store.createRun({
    task: "Predict loan default from the applicant table; metric ROC AUC",
    options: { steps: 6, parallel: 1, coder: "offline", metric: null, timeoutSec: 60, budgetUsd: null },
    owner: { platform: "slack", userId: "U1", displayName: "Ada" },
    origin: { platform: "slack", channel: "C1", thread: null },
  });
  runId = run.id;
  await store.transition(runId, ["queued"], "running");
  await finishNode(solutionNode(0, { metric: 0.71 }), true);
  await finishNode(
    solutionNode(1, { metric: null, analysis: "KeyError: the target column is named 'default', not 'target'." }),
    false,
  );
  await finishNode(
    solutionNode(2, {
      parentId: 0,
      metric: 0.78,
      code: `import pandas as pd\n${CODE_OF_2}\nprint("AIDE_METRIC 0.78")\n`,
      plan: "Switch to gradient boosting.",
    }),
    true,
  );
  await finishNode(solutionNode(3, { parentId: 1, metric: 0.74 }), false);
  token = (await store.viewToken(runId))!;
  server = new TreeServer({
    store,
    redis: redisServer.client(),
    logger: silentLogger,
    host: "127.0.0.1",
    port: 0,
    coalesceMs: 50,
  });
  base = `http://127.0.0.1:${await server.start()}`;
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

async function nodeCount(page: Page): Promise<number> {
  return page.locator("#tree g.node").count();
}

describe("tree page in Chromium", () => {
  it("shows the tree, a clicked node's code, a new node without reload, and the run's end", async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const failed: string[] = [];
    // Cancelled by the page itself, not failures: a chart image replaced by a newer one before it loaded, and the
    // event stream the page closes when the run has ended.
    page.on("requestfailed", (r) => {
      const cancelled = /\/(chart\.png|stream)\?/.test(r.url()) && r.failure()?.errorText === "net::ERR_ABORTED";
      if (!cancelled) failed.push(`${r.url()} ${r.failure()?.errorText}`);
    });
    const external: string[] = [];
    page.on("request", (r) => {
      if (!r.url().startsWith(base) && !r.url().startsWith("data:")) external.push(r.url());
    });
    const res = await page.goto(`${base}/runs/${runId}?token=${token}`);
    expect(res?.status()).toBe(200);
    await page.locator('#tree g.node[data-id="3"]').waitFor();
    expect(await nodeCount(page)).toBe(4);
    expect(await page.locator("#tree g.node.best").getAttribute("data-id")).toBe("2");
    expect(await page.locator("#tree g.node.buggy").getAttribute("data-id")).toBe("1");
    await expect.poll(() => page.locator("#live-state").getAttribute("data-state"), POLL).toBe("live");

    await page.locator('#tree g.node[data-id="2"]').click();
    await page.locator("#detail pre.code code").waitFor();
    expect(await page.locator("#detail pre.code code").innerText()).toContain(CODE_OF_2);
    expect(await page.locator("#detail pre.code code .hljs-keyword").count()).toBeGreaterThan(0);
    expect(await page.locator("#detail .plan").innerText()).toBe("Switch to gradient boosting.");
    expect(await page.locator("#detail .badge").innerText()).toContain("roc_auc = 0.78");

    await page.locator('#tree g.node[data-id="1"]').click();
    await expect
      .poll(() => page.locator("#detail .findings").innerText(), POLL)
      .toContain("KeyError: the target column");
    expect(await page.locator("#detail .badge").getAttribute("data-kind")).toBe("buggy");
    expect(await page.locator("#detail pre.output").innerText()).toContain("Traceback");

    // A node finishes while the page is open: it appears without a reload, as the new best.
    await page.evaluate(() => ((window as unknown as { __sameDocument: boolean }).__sameDocument = true));
    await finishNode(solutionNode(4, { parentId: 2, metric: 0.83 }), true);
    await page.locator('#tree g.node[data-id="4"]').waitFor({ timeout: 15_000 });
    expect(await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument)).toBe(true);
    await expect.poll(() => page.locator("#tree g.node.best").getAttribute("data-id"), POLL).toBe("4");
    // The selection survives the redraw.
    expect(await page.locator("#tree g.node.selected").getAttribute("data-id")).toBe("1");
    await page.locator('#tree g.node[data-id="4"]').click();
    await expect.poll(() => page.locator("#detail h2").innerText(), POLL).toContain("Node 4");
    await page.locator("#chart").waitFor();
    await expect
      .poll(() => page.locator("#chart").evaluate((img) => (img as HTMLImageElement).naturalWidth), POLL)
      .toBe(900);
    await page.screenshot({ path: join(TEST_OUTPUT_DIR, "tree-page.png"), fullPage: true });

    await store.transition(runId, ["running"], "finished", { finishReason: "steps" });
    await publish({ type: "run.finished", runId, at: new Date().toISOString(), best: null, reason: "steps" });
    await expect.poll(() => page.locator("#live-state").getAttribute("data-state"), POLL).toBe("ended");
    expect(external).toEqual([]);
    expect(failed).toEqual([]);
    await page.close();
  }, 90_000);

  it("refuses the page and its data without the run's token", async () => {
    const page = await browser.newPage();
    for (const query of ["", "?token=", `?token=${token.slice(0, -2)}xx`, `?token=${token}x`]) {
      const res = await page.goto(`${base}/runs/${runId}${query}`);
      expect(res?.status()).toBe(403);
      expect(await page.locator("h1").innerText()).toBe("This link is not valid");
      expect(await page.locator("#tree").count()).toBe(0);
    }
    for (const path of ["tree.json", "chart.png", "stream", "nodes/2"]) {
      const res = await fetch(`${base}/runs/${runId}/${path}?token=wrong`);
      expect(res.status).toBe(403);
      expect(await res.text()).not.toContain(CODE_OF_2);
    }
    // Another run's token does not open this run.
    const other = await store.createRun({
      task: "other",
      options: { steps: 1, parallel: 1, coder: "offline", metric: null, timeoutSec: 60, budgetUsd: null },
      owner: { platform: "slack", userId: "U2", displayName: "Bo" },
      origin: { platform: "slack", channel: "C1", thread: null },
    });
    const otherToken = (await store.viewToken(other.id))!;
    expect((await fetch(`${base}/runs/${runId}/tree.json?token=${otherToken}`)).status).toBe(403);
    expect((await fetch(`${base}/runs/${other.id}/tree.json?token=${otherToken}`)).status).toBe(200);
    await page.close();
  });

  it("writes a self-contained file that works opened from disk, with no server", async () => {
    const html = await treeFileHtml(store, runId);
    const file = join(TEST_OUTPUT_DIR, "tree-file.html");
    writeFileSync(file, html);
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const requests: string[] = [];
    page.on("request", (r) => {
      if (!r.url().startsWith("file:") && !r.url().startsWith("data:")) requests.push(r.url());
    });
    await page.goto(`file://${file}`);
    await page.locator('#tree g.node[data-id="4"]').waitFor();
    expect(await nodeCount(page)).toBe(5);
    await page.locator('#tree g.node[data-id="2"]').click();
    expect(await page.locator("#detail pre.code code").innerText()).toContain(CODE_OF_2);
    expect(await page.locator("#live-state").getAttribute("data-state")).toBe("snapshot");
    expect(requests).toEqual([]);
    await page.close();
  });
});
