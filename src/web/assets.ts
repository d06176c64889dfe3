/**
 * The tree page's own script and stylesheet (src/web/assets), read once. They are served by the project
 * itself (no CDN) and inlined into the self-contained file of `aide tree --out`.
 */
import { readFileSync } from "node:fs";

export interface PageAssets {
  script: string;
  style: string;
}

let cached: PageAssets | null = null;

export function pageAssets(): PageAssets {
  cached ??= {
    script: readFileSync(new URL("./assets/tree.js", import.meta.url), "utf8"),
    style: readFileSync(new URL("./assets/tree.css", import.meta.url), "utf8"),
  };
  return cached;
}
