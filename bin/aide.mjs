#!/usr/bin/env node
// Entry point of the `aide` command. The project runs its TypeScript sources directly through tsx's loader,
// so there is no build step between a clone and a working command.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../cli/main.ts");
process.exitCode = await main(process.argv);
