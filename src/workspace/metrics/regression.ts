/** Metrics over predicted numbers, as scikit-learn computes them: RMSE, RMSLE, MAE, MAPE and R². */
import { MetricError } from "./input.ts";

const mean = (xs: readonly number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
const squaredErrors = (actual: readonly number[], predicted: readonly number[]) =>
  actual.map((a, i) => (a - predicted[i]!) ** 2);

export function rmse(actual: readonly number[], predicted: readonly number[]): number {
  return Math.sqrt(mean(squaredErrors(actual, predicted)));
}

/** RMSE of ln(1 + value); a negative actual or predicted value is an error, as in scikit-learn. */
export function rmsle(actual: readonly number[], predicted: readonly number[], title: string): number {
  for (const [what, values] of [
    ["actual value", actual],
    ["prediction", predicted],
  ] as const) {
    const i = values.findIndex((v) => v < 0);
    if (i >= 0)
      throw new MetricError(
        "negative",
        `${title}: ${what} #${i + 1} is ${values[i]}; the logarithmic error needs values of 0 or more.`,
      );
  }
  return rmse(actual.map(Math.log1p), predicted.map(Math.log1p));
}

export function mae(actual: readonly number[], predicted: readonly number[]): number {
  return mean(actual.map((a, i) => Math.abs(a - predicted[i]!)));
}

/** Mean of |error| / |actual|, an actual of 0 counting as float64's epsilon (so its error is huge), as in scikit-learn. */
export function mape(actual: readonly number[], predicted: readonly number[]): number {
  return mean(actual.map((a, i) => Math.abs(predicted[i]! - a) / Math.max(Math.abs(a), Number.EPSILON)));
}

/** 1 - SS_res / SS_tot; where the actual values are all equal, 1 for a perfect prediction and 0 otherwise. */
export function r2(actual: readonly number[], predicted: readonly number[]): number {
  const m = mean(actual);
  const residual = squaredErrors(actual, predicted).reduce((s, v) => s + v, 0);
  const total = actual.reduce((s, a) => s + (a - m) ** 2, 0);
  if (total === 0) return residual === 0 ? 1 : 0;
  return 1 - residual / total;
}
