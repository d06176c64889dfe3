/**
 * What the headers of a task's train, test and sample submission CSVs tell about its columns: the train columns
 * the test lacks and the sample submission's prediction columns that train has, from which the likely targets
 * follow. The data preview shows them to the coder; the hidden holdout decides from them what to hold out.
 */

export interface TaskHeaders {
  train: readonly string[];
  test?: readonly string[];
  sampleSubmission?: readonly string[];
}

export interface TaskColumns {
  /** Train columns that the test CSV lacks, in train's order (empty without a test CSV). */
  notInTest: string[];
  /** The sample submission's prediction columns (all but its first, the id) that train has, in its order. */
  inSample: string[];
  /** The likely targets: `notInTest` where there are any, else `inSample`. */
  targets: string[];
  /** Which of the two the targets are (null when neither names any). */
  targetsFrom: "not-in-test" | "in-sample" | null;
}

export function taskColumns(headers: TaskHeaders): TaskColumns {
  const trainCols = new Set(headers.train);
  const testCols = headers.test ? new Set(headers.test) : null;
  const notInTest = testCols ? headers.train.filter((c) => !testCols.has(c)) : [];
  const inSample = (headers.sampleSubmission ?? []).slice(1).filter((c) => trainCols.has(c));
  if (notInTest.length > 0) return { notInTest, inSample, targets: notInTest, targetsFrom: "not-in-test" };
  if (inSample.length > 0) return { notInTest, inSample, targets: inSample, targetsFrom: "in-sample" };
  return { notInTest, inSample, targets: [], targetsFrom: null };
}
