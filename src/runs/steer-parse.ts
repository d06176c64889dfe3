import type { SteerCommand } from "../search/types.ts";
import { moreStepsProblem } from "./run-options.ts";

/**
 * Reads a steering message as a user types it (a thread reply or `aide steer <run> ...`): `pause`, `resume`,
 * `stop`, `more N` / `+N`, `focus <node>`, `debug <node>` (node as `7` or `#7`); anything else is guidance
 * for the coder. Returns an error message for commands with a bad argument, so a typo never becomes guidance.
 */
export function parseSteer(text: string, author?: string): { command: SteerCommand } | { error: string } {
  const t = text.trim();
  if (!t) return { error: "Empty message: nothing to apply." };
  const lower = t.toLowerCase();
  if (["pause", "resume", "stop"].includes(lower)) return { command: { kind: lower as "pause" | "resume" | "stop" } };

  const more = /^(?:more|\+)\s*(\S+)?(?:\s+steps?)?$/i.exec(t);
  if (more) {
    const n = Number(more[1]);
    const problem = moreStepsProblem(n);
    if (problem) return { error: problem };
    return { command: { kind: "more", steps: n } };
  }
  const node = /^(focus|debug)(?:\s+(?:on\s+)?(?:node\s+)?#?(\S+))?$/i.exec(t);
  if (node) {
    const kind = node[1]!.toLowerCase() as "focus" | "debug";
    const id = Number(node[2]);
    if (!Number.isInteger(id) || id < 0) return { error: `"${kind}" takes a node number, e.g. "${kind} 7".` };
    return { command: { kind, node: id } };
  }
  return { command: author ? { kind: "guidance", text: t, author } : { kind: "guidance", text: t } };
}

/**
 * Commands only the run's starter and admins may give: stop, pause and resume (a pause holds the run until
 * someone resumes it, so it is a stop in all but name) and budget changes. Guidance, focus and debug are open
 * to everyone in the channel.
 */
export function isPrivilegedSteer(command: SteerCommand): boolean {
  return command.kind === "stop" || command.kind === "more" || command.kind === "pause" || command.kind === "resume";
}

/** What a privileged command does, for the refusal: "stop this run", "change its budget". */
export function privilegedVerb(command: SteerCommand): string {
  switch (command.kind) {
    case "stop":
      return "stop this run";
    case "pause":
      return "pause this run";
    case "resume":
      return "resume this run";
    default:
      return "change its budget";
  }
}
