"""scikit-learn's values for the harness's metrics (src/workspace/metrics), for tests/unit/workspace/metrics.test.ts.

Reads a JSON list of cases on stdin and writes a JSON list of values, one per case, on stdout:

    {"metric": "auc", "actual": [...], "predicted": [...] | {"classes": [...], "rows": [[...], ...]},
     "positive": <label> (optional)}

Metric names are those of src/search/metric-names.ts. Per-class probabilities are put in scikit-learn's column order
(the sorted classes) and the classes passed as `labels`. A binary metric's positive class is "positive" when given,
else the greater of the two actual classes, as the harness takes it. Exit 3 when scikit-learn cannot be imported.
"""
import json
import math
import sys
import warnings

try:
    import numpy as np
    from sklearn import metrics as m
except ImportError as err:  # pragma: no cover - the test reports it
    print(f"scikit-learn is missing for {sys.executable}: {err}", file=sys.stderr)
    sys.exit(3)

warnings.filterwarnings("ignore")  # zero-division and "y_pred has classes not in y_true" warnings: values stand


def positive_of(case):
    if "positive" in case:
        return case["positive"]
    return sorted(set(case["actual"]))[1]


def matrix_of(predicted):
    """Probabilities with the columns in sorted class order, and those classes."""
    classes = sorted(predicted["classes"])
    order = [predicted["classes"].index(c) for c in classes]
    return np.array(predicted["rows"], dtype=float)[:, order], classes


def auc(case):
    y, p = case["actual"], case["predicted"]
    if isinstance(p, dict):
        probs, classes = matrix_of(p)
        if len(classes) > 2:
            return m.roc_auc_score(y, probs, multi_class="ovr", average="macro", labels=classes)
        pos = case.get("positive", classes[1])
        return m.roc_auc_score([v == pos for v in y], probs[:, classes.index(pos)])
    pos = positive_of(case)
    return m.roc_auc_score([v == pos for v in y], p)


def log_loss(case):
    y, p = case["actual"], case["predicted"]
    if isinstance(p, dict):
        probs, classes = matrix_of(p)
        return m.log_loss(y, probs, labels=classes)
    pos = positive_of(case)
    return m.log_loss([int(v == pos) for v in y], p, labels=[0, 1])


def measure(fn, average):
    def score(case):
        if average == "binary":
            return fn(case["actual"], case["predicted"], average="binary", pos_label=positive_of(case))
        return fn(case["actual"], case["predicted"], average=average)

    return score


def numbers(fn):
    return lambda case: fn(np.array(case["actual"], dtype=float), np.array(case["predicted"], dtype=float))


METRICS = {
    "accuracy": lambda c: m.accuracy_score(c["actual"], c["predicted"]),
    "balanced_accuracy": lambda c: m.balanced_accuracy_score(c["actual"], c["predicted"]),
    "auc": auc,
    "logloss": log_loss,
    "f1": measure(m.f1_score, "binary"),
    "f1_macro": measure(m.f1_score, "macro"),
    "f1_micro": measure(m.f1_score, "micro"),
    "f1_weighted": measure(m.f1_score, "weighted"),
    "precision": measure(m.precision_score, "binary"),
    "precision_macro": measure(m.precision_score, "macro"),
    "recall": measure(m.recall_score, "binary"),
    "recall_macro": measure(m.recall_score, "macro"),
    "qwk": lambda c: m.cohen_kappa_score(c["actual"], c["predicted"], weights="quadratic"),
    # root_mean_squared_error came with scikit-learn 1.4; the square root of the mean squared error is the same.
    "rmse": numbers(lambda y, p: math.sqrt(m.mean_squared_error(y, p))),
    "rmsle": numbers(lambda y, p: math.sqrt(m.mean_squared_log_error(y, p))),
    "mae": numbers(m.mean_absolute_error),
    "mape": numbers(m.mean_absolute_percentage_error),
    "r2": numbers(m.r2_score),
}


def main():
    cases = json.load(sys.stdin)
    json.dump([float(METRICS[case["metric"]](case)) for case in cases], sys.stdout)


if __name__ == "__main__":
    main()
