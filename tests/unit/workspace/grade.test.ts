/** gradeSubmission: a submission file scored against an answers file by id, with the metric of the spec. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DataError } from "../../../src/errors.ts";
import { type GradingSpec, gradeSubmission } from "../../../src/workspace/grade.ts";

const dir = mkdtempSync(join(tmpdir(), "aide-grade-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
function csv(text: string): string {
  const path = join(dir, `${files++}.csv`);
  writeFileSync(path, text);
  return path;
}
const spec = (metric: string): GradingSpec => ({ metric, lower_is_better: false, id: "id", target: "y" });

describe("gradeSubmission", () => {
  const labels = csv("id,y\n1,1\n2,0\n3,1\n4,0\n");

  it("matches rows by id, whatever their order, and compares labels as numbers", async () => {
    const submission = csv("id,y\n4,0.0\n3,1\n2,1\n1,1.0\n");
    expect(await gradeSubmission(submission, labels, spec("accuracy"))).toBe(0.75);
  });

  it("scores by any name of a metric", async () => {
    const submission = csv("id,y\n1,0.9\n2,0.1\n3,0.4\n4,0.6\n");
    expect(await gradeSubmission(submission, labels, spec("roc_auc"))).toBe(0.75);
    expect(await gradeSubmission(submission, labels, spec("ROC AUC"))).toBe(0.75);
    expect(await gradeSubmission(submission, labels, spec("log loss"))).toBeCloseTo(
      -(Math.log(0.9) + Math.log(0.9) + Math.log(0.4) + Math.log(0.4)) / 4,
      12,
    );
  });

  it("scores numbers", async () => {
    const answers = csv("id,y\n1,1\n2,2\n3,3\n");
    const submission = csv("id,y\n1,1\n2,2\n3,6\n");
    expect(await gradeSubmission(submission, answers, spec("rmse"))).toBe(Math.sqrt(3));
    expect(await gradeSubmission(submission, answers, spec("mae"))).toBe(1);
    expect(await gradeSubmission(submission, answers, spec("r2"))).toBe(-3.5);
  });

  it("says what is wrong", async () => {
    await expect(gradeSubmission(csv("id,y\n1,1\n2,0\n3,1\n"), labels, spec("accuracy"))).rejects.toThrow(
      "The submission has no prediction for id 4.",
    );
    await expect(gradeSubmission(csv("id,z\n1,1\n"), labels, spec("accuracy"))).rejects.toThrow(
      "The submission lacks the column y.",
    );
    const bad = gradeSubmission(csv("id,y\n1,1\n2,x\n3,1\n4,0\n"), labels, spec("rmse"));
    await expect(bad).rejects.toBeInstanceOf(DataError);
    await expect(bad).rejects.toThrow('RMSE: prediction #2 is "x", not a finite number.');
    await expect(gradeSubmission(csv("id,y\n1,1\n2,0\n3,1\n4,0\n"), labels, spec("smape"))).rejects.toThrow(
      /cannot score the metric "smape"/,
    );
  });
});
