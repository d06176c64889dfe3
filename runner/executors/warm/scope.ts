import { dirname, join } from "node:path";
import { nodeDirName } from "../../../src/search/step.ts";

/** Where a run's warm interpreters keep their workspaces: beside the node directories (same filesystem). */
export function workspaceParentOf(runDir: string): string {
  return dirname(join(runDir, nodeDirName(0)));
}
