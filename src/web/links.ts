/**
 * Links to a run's tree page: `<public URL>/runs/<id>?token=<view token>`. The token is the run's own random
 * secret (Store.viewToken); whoever has the link can watch the run, nobody else can.
 */
import type { Config } from "../config.ts";
import type { Store } from "../store/store.ts";

/** The base URL people's browsers reach the tree pages at, without a trailing slash. */
export function publicBaseUrl(web: Config["web"]): string {
  return (web.publicUrl || `http://localhost:${web.port}`).replace(/\/+$/, "");
}

export function treePageUrl(web: Config["web"], runId: string, token: string): string {
  return `${publicBaseUrl(web)}/runs/${encodeURIComponent(runId)}?token=${encodeURIComponent(token)}`;
}

/** The tree page link of a run, or null when the tree pages are turned off or there is no such run. */
export async function treePageLink(store: Store, web: Config["web"], runId: string): Promise<string | null> {
  if (!web.enabled) return null;
  const token = await store.viewToken(runId);
  return token ? treePageUrl(web, runId, token) : null;
}
