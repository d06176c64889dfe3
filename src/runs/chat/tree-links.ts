/**
 * The tree page link of each run, for the status card, the final summary and `tree` / `chart` replies. A
 * run's token never changes, so links are remembered (a bounded number of runs). A failure to make one is
 * logged and the message goes without the link.
 */
import type { Config } from "../../config.ts";
import type { Logger } from "../../logger.ts";
import type { Store } from "../../store/store.ts";
import { treePageLink } from "../../web/links.ts";

const REMEMBERED_RUNS = 1000;

export class TreeLinks {
  private readonly known = new Map<string, string>();

  constructor(
    private readonly store: Store,
    private readonly web: Config["web"],
    private readonly log: Logger,
  ) {}

  async of(runId: string): Promise<string | null> {
    if (!this.web.enabled) return null;
    const known = this.known.get(runId);
    if (known) return known;
    try {
      const link = await treePageLink(this.store, this.web, runId);
      if (link) {
        if (this.known.size >= REMEMBERED_RUNS) this.known.delete(this.known.keys().next().value!);
        this.known.set(runId, link);
      }
      return link;
    } catch (err) {
      this.log.warn({ err, runId }, "could not make the tree page link; the message goes without it");
      return null;
    }
  }
}
