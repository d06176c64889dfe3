#!/usr/bin/env node
// Entry point of the `aide` command: the compiled JavaScript in dist/, with no TypeScript loader. In a checkout
// (the sources beside dist/) dist/ is first brought up to date when it is missing or any source changed
// (scripts/build.mjs: a 3 ms check, about a second to build), so a clone, `npm run demo` and the tests need no
// build step and always run the current sources. An installed package has no sources and runs dist/ as it is.
import { existsSync } from "node:fs";

if (
  existsSync(new URL("../cli/main.ts", import.meta.url)) &&
  existsSync(new URL("../scripts/build.mjs", import.meta.url))
) {
  const { ensureBuilt } = await import("../scripts/build.mjs");
  try {
    ensureBuilt({ announce: process.stderr.isTTY === true });
  } catch (err) {
    process.stderr.write(`aide: could not build dist/ from the sources: ${err.message}\n`);
    process.exit(1);
  }
}
// Stack traces of unexpected errors (AIDE_DEBUG=1) point at the TypeScript lines.
if (process.env.AIDE_DEBUG) process.setSourceMapsEnabled(true);
const { main } = await import("../dist/cli/main.js");
process.exitCode = await main(process.argv);
