// The `aide` command as it ran before the compiled build (the former bin/aide.mjs): the TypeScript sources
// through tsx's loader. Only for the benchmark's comparison with the compiled command (bench/cli.ts, chat.ts).
import { register } from "tsx/esm/api";

register();
const { main } = await import("../cli/main.ts");
process.exitCode = await main(process.argv);
