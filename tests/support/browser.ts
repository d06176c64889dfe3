/**
 * Headless Chromium for page tests: Debian's /usr/bin/chromium (installed by scripts/ensure-deps.sh --services)
 * driven by playwright-core, which downloads no browser of its own. AIDE_CHROMIUM overrides the path.
 */
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser } from "playwright-core";

export const CHROMIUM_PATH = process.env.AIDE_CHROMIUM || "/usr/bin/chromium";

/** Where tests leave screenshots and rendered files for people to look at (git-ignored). */
export const TEST_OUTPUT_DIR = join(process.cwd(), "test-output");

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `No Chromium at ${CHROMIUM_PATH}: install Debian's chromium (bash scripts/ensure-deps.sh --services) or set AIDE_CHROMIUM.`,
    );
  }
  mkdirSync(TEST_OUTPUT_DIR, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    // As root in a container; and without the background-networking flags Chromium keeps trying the closed network.
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--disable-quic",
    ],
  });
}
