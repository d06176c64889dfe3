/**
 * The script of an ensemble node: plain Python (its standard library only) that blends the members' submissions
 * row by row on the id column, so that the blend the harness judged is one a person can read and run again. The
 * harness runs this very script (src/runs/ensemble.ts): there is no second implementation of the blend.
 */
import { memberList } from "../search/journal.ts";
import { paddedNodeId } from "../search/step.ts";
import type { NodeId } from "../search/types.ts";

/** How a prediction column is blended: the mean of the members' numbers, or the label most members predict. */
export type BlendRule = "mean" | "vote";

export interface BlendSpec {
  /** The members, the best first: a tied vote goes to the better member's label. */
  members: readonly NodeId[];
  idColumn: string;
  /** The prediction columns and how each is blended, in the sample submission's order. */
  rules: ReadonlyArray<{ column: string; rule: BlendRule }>;
}

/** The file a member's submission is read from, relative to the blend's input directory. */
export function memberFileName(member: NodeId): string {
  return `${paddedNodeId(member)}.csv`;
}

const py = (value: unknown): string => JSON.stringify(value);

/** The blend as a Python script that reads `./input/<member>.csv` and writes `./working/submission.csv`. */
export function blendScript(spec: BlendSpec): string {
  const members = memberList(spec.members);
  const rules = spec.rules.map((r) => `    ${py(r.column)}: ${py(r.rule)},`).join("\n");
  return `"""Ensemble of nodes ${members} (the best first), blended with equal weights.

Each prediction column is the mean of the members' numbers ("mean") or the label most members predict ("vote",
a tie going to the better member's label). The members' submissions are read from ./input/<node>.csv, one row per
id each; the blend is written to ./working/submission.csv with the rows in the first member's order.
"""
import csv
import os
from collections import Counter

MEMBERS = ${py(spec.members.map(memberFileName))}
ID_COLUMN = ${py(spec.idColumn)}
RULES = {
${rules}
}


def read_member(name):
    with open(os.path.join("input", name), newline="") as f:
        rows = [row for row in csv.reader(f) if row]
    header = [h.strip() for h in rows[0]]
    missing = [c for c in [ID_COLUMN, *RULES] if c not in header]
    if missing:
        raise SystemExit(f"{name} has no column {', '.join(missing)}")
    at = {c: header.index(c) for c in header}
    by_id = {}
    for row in rows[1:]:
        key = row[at[ID_COLUMN]].strip()
        if key in by_id:
            raise SystemExit(f"{name} predicts id {key} twice")
        by_id[key] = {c: row[at[c]].strip() for c in RULES}
    return [row[at[ID_COLUMN]].strip() for row in rows[1:]], by_id


def blend(values, rule):
    if rule == "vote":
        counts = Counter(values)
        most = max(counts.values())
        return next(v for v in values if counts[v] == most)
    mean = sum(float(v) for v in values) / len(values)
    return format(mean, ".10g")


members = [read_member(name) for name in MEMBERS]
order, _ = members[0]
for name, (ids, _) in zip(MEMBERS, members):
    if set(ids) != set(order):
        raise SystemExit(f"{name} does not predict the same ids as {MEMBERS[0]}")

os.makedirs("working", exist_ok=True)
with open(os.path.join("working", "submission.csv"), "w", newline="") as f:
    out = csv.writer(f, lineterminator="\\n")
    out.writerow([ID_COLUMN, *RULES])
    for key in order:
        out.writerow([key, *(blend([m[1][key][c] for m in members], rule) for c, rule in RULES.items())])
print(f"blended {len(order)} rows from {len(MEMBERS)} members")
`;
}
