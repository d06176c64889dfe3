/**
 * The hidden holdout (issue 13): a share of train.csv's labelled rows that the scripts see only as test rows, so
 * that every script is judged on the same rows by the harness rather than on a split of its own. Pure file and
 * data work: plan the rows (planHoldout), write the scripts' view of the input (writeHoldoutView), take a
 * submission apart (splitSubmission) and score its hidden rows (scoreHidden).
 */
export {
  type ActiveHoldoutPlan,
  type HoldoutPlan,
  describeHoldout,
  parseHoldoutPlan,
  planHoldout,
} from "./plan.ts";
export { writeHoldoutView } from "./view.ts";
export {
  type HiddenPrediction,
  scoreHidden,
  scoreHiddenWithError,
  splitSubmission,
} from "./split.ts";
