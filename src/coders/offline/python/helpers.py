# ---------------------------------------------------------------- helpers (the same in every offline script)
import json
import os
import re
import sys
import time
import warnings

# One thread per native library: the sandbox has 2 cores, and oversubscribed OpenMP is many times slower.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np
import pandas as pd
from sklearn import metrics as skm
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    LabelEncoder,
    OneHotEncoder,
    OrdinalEncoder,
    PolynomialFeatures,
    QuantileTransformer,
    RobustScaler,
    StandardScaler,
)

warnings.filterwarnings("ignore")
START = time.time()


# ---------------------------------------------------------------- metrics
LOWER_IS_BETTER = {
    "rmsle": True, "rmse": True, "mse": True, "mape": True, "medae": True, "mae": True, "r2": False,
    "log_loss": True, "average_precision": False, "roc_auc": False, "qwk": False, "mcc": False,
    "f1_macro": False, "f1_micro": False, "f1_weighted": False, "f1": False,
    "balanced_accuracy": False, "accuracy": False,
}
REGRESSION_METRICS = {"rmsle", "rmse", "mse", "mape", "medae", "mae", "r2"}
PROBA_METRICS = {"roc_auc", "log_loss", "average_precision"}


def compute_metric(name, y_true, pred=None, proba=None, n_classes=2):
    """Regression: pred are values. Classification: y_true/pred are encoded labels, proba is (n, n_classes)."""
    y_true = np.asarray(y_true)
    if name == "rmse":
        return float(np.sqrt(skm.mean_squared_error(y_true, pred)))
    if name == "mse":
        return float(skm.mean_squared_error(y_true, pred))
    if name == "mae":
        return float(skm.mean_absolute_error(y_true, pred))
    if name == "medae":
        return float(skm.median_absolute_error(y_true, pred))
    if name == "r2":
        return float(skm.r2_score(y_true, pred))
    if name == "mape":
        return float(skm.mean_absolute_percentage_error(y_true, pred))
    if name == "rmsle":
        p = np.log1p(np.clip(pred, 0, None))
        t = np.log1p(np.clip(y_true, 0, None))
        return float(np.sqrt(np.mean((p - t) ** 2)))
    labels = list(range(n_classes))
    if name == "roc_auc":
        if n_classes == 2:
            return float(skm.roc_auc_score(y_true, proba[:, 1]))
        present = sorted(set(y_true.tolist()))
        p = proba[:, present]
        p = p / np.clip(p.sum(axis=1, keepdims=True), 1e-12, None)
        if len(present) == 2:
            return float(skm.roc_auc_score(y_true == present[1], p[:, 1]))
        return float(skm.roc_auc_score(y_true, p, multi_class="ovr", labels=present))
    if name == "average_precision":
        if n_classes == 2:
            return float(skm.average_precision_score(y_true, proba[:, 1]))
        onehot = np.eye(n_classes)[y_true]
        return float(skm.average_precision_score(onehot, proba, average="macro"))
    if name == "log_loss":
        p = np.clip(proba, 1e-15, 1 - 1e-15)
        p = p / p.sum(axis=1, keepdims=True)
        return float(skm.log_loss(y_true, p, labels=labels))
    if name == "accuracy":
        return float(skm.accuracy_score(y_true, pred))
    if name == "balanced_accuracy":
        return float(skm.balanced_accuracy_score(y_true, pred))
    if name == "f1":
        if n_classes == 2:
            return float(skm.f1_score(y_true, pred, pos_label=1, average="binary"))
        return float(skm.f1_score(y_true, pred, average="macro", labels=labels))
    if name in ("f1_macro", "f1_micro", "f1_weighted"):
        return float(skm.f1_score(y_true, pred, average=name[3:], labels=labels))
    if name == "mcc":
        return float(skm.matthews_corrcoef(y_true, pred))
    if name == "qwk":
        return float(skm.cohen_kappa_score(y_true, pred, weights="quadratic"))
    raise ValueError("unknown metric " + str(name))


def safe_metric(name, task, y_true, pred, proba, n_classes):
    """The task's metric; with METRIC_FALLBACK, accuracy / RMSE when the metric cannot be computed."""
    try:
        value = compute_metric(name, y_true, pred, proba, n_classes)
        if not np.isfinite(value):
            raise ValueError("metric %s is not finite" % name)
        return name, value
    except Exception as exc:  # noqa: BLE001 - only with the fallback switch
        if not METRIC_FALLBACK:
            raise
        fallback = "rmse" if task == "regression" else "accuracy"
        print("metric %s failed (%s); falling back to %s" % (name, exc, fallback))
        return fallback, compute_metric(fallback, y_true, pred, proba, n_classes)


# ---------------------------------------------------------------- finding the data
def list_tables(root):
    exts = (".csv", ".csv.gz", ".csv.zip", ".tsv", ".tsv.gz")
    if BROAD_FILE_SEARCH:
        exts = exts + (".txt", ".data", ".dat", ".csv.bz2", ".zip", ".gz")
    found = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames.sort()
        for name in sorted(filenames):
            if name.lower().endswith(exts) and not name.startswith("."):
                found.append(os.path.join(dirpath, name))
    return found


def pick_file(paths, words, exclude=()):
    best = None
    for path in paths:
        base = os.path.basename(path).lower()
        if any(w in base for w in exclude) or not any(w in base for w in words):
            continue
        key = (path.count(os.sep), len(base), path)
        if best is None or key < best[0]:
            best = (key, path)
    return None if best is None else best[1]


def read_table(path):
    low = path.lower()
    sep = "\t" if ".tsv" in low else ","
    if BROAD_FILE_SEARCH and low.endswith((".txt", ".data", ".dat")):
        return pd.read_csv(path, sep=None, engine="python")
    df = pd.read_csv(path, sep=sep, low_memory=False)
    if df.shape[1] == 1 and ";" in str(df.columns[0]):
        df = pd.read_csv(path, sep=";", low_memory=False)
    df.columns = [str(c).strip() for c in df.columns]
    return df


def locate_data():
    paths = list_tables("./input")
    if not paths:
        raise FileNotFoundError("no CSV files found under ./input")
    sample_path = pick_file(paths, ("sample_submission", "samplesubmission", "sample-submission", "sample", "submission"))
    rest = [p for p in paths if p != sample_path]
    train_path = pick_file(rest, ("train",), exclude=("test",))
    test_path = pick_file([p for p in rest if p != train_path], ("test",))
    if test_path is None:
        test_path = pick_file([p for p in rest if p != train_path], ("holdout", "eval", "predict", "score", "unlabel"))
    if train_path is None or test_path is None:
        # Fall back to shapes: the test file's columns are a subset of the training file's.
        others = [p for p in rest if p not in (train_path, test_path)]
        candidates = ([train_path] if train_path else []) + ([test_path] if test_path else []) + others
        frames = {p: read_table(p) for p in candidates[:6]}
        for a in frames:
            for b in frames:
                if a == b or (train_path and a != train_path) or (test_path and b != test_path):
                    continue
                if set(frames[b].columns) < set(frames[a].columns):
                    train_path, test_path = a, b
                    break
            if train_path and test_path:
                break
    if train_path is None or test_path is None:
        raise FileNotFoundError("could not tell the training and test CSVs apart among: %s" % ", ".join(paths))
    print("data: train=%s test=%s sample=%s" % (train_path, test_path, sample_path))
    sample = read_table(sample_path) if sample_path else None
    return read_table(train_path), read_table(test_path), sample


# ---------------------------------------------------------------- ids and targets
ID_NAMES = {"id", "ids", "index", "idx", "row_id", "rowid", "uid", "uuid", "key", "unnamed: 0"}


def label_str(v):
    """Comparable text of an id or a class label (1, 1.0 and "1" agree)."""
    if isinstance(v, (float, np.floating)) and np.isfinite(v) and float(v).is_integer():
        return str(int(v))
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    return str(v)


def looks_like_id(name, values):
    low = name.lower().strip()
    named = (
        low in ID_NAMES
        or low.startswith("unnamed:")
        or low.endswith(("_id", " id", "-id", "_key", "_uuid"))
        or low.startswith(("id_", "id "))
        or re.search(r"[a-z0-9]I[Dd]$", name) is not None
    )
    n = len(values)
    if n == 0:
        return named
    unique_share = values.nunique(dropna=False) / n
    if named and unique_share > 0.9:
        return True
    if low.startswith("unnamed:"):
        return True
    # An unnamed running number: unique integers that fill a contiguous range.
    if values.dtype.kind in "iu" and unique_share == 1.0 and n > 50:
        span = int(values.max()) - int(values.min()) + 1
        return span == n
    return False


def choose_targets(train, test, sample):
    """Returns (id_cols, {train target column: [submission columns]}). A target with several submission
    columns is written as one probability column per class."""
    test_cols = set(test.columns)
    train_only = [c for c in train.columns if c not in test_cols]
    if sample is not None:
        id_cols = [c for c in sample.columns if c in test_cols]
        sub_targets = [c for c in sample.columns if c not in test_cols]
        if not sub_targets:
            sub_targets = [c for c in sample.columns if c in train_only] or [c for c in sample.columns if c not in id_cols]
        if sub_targets and all(c in train.columns for c in sub_targets):
            return id_cols, {c: [c] for c in sub_targets}
        if len(sub_targets) == 1 and len(train_only) == 1:
            print("target column %r in train is written as %r" % (train_only[0], sub_targets[0]))
            return id_cols, {train_only[0]: sub_targets}
        if len(sub_targets) >= 2 and train_only:
            # One probability column per class: pick the train column whose classes match the names best.
            def score(col):
                classes = {label_str(v).lower() for v in train[col].dropna().unique()}
                hits = sum(1 for s in sub_targets if s.lower() in classes or any(s.lower().endswith(c) for c in classes))
                return (hits, -abs(len(classes) - len(sub_targets)))
            target = max(train_only, key=score)
            return id_cols, {target: sub_targets}
        raise ValueError("cannot match sample submission columns %s to train columns" % sub_targets)
    id_cols = [c for c in test.columns if looks_like_id(c, test[c])][:1]
    targets = [c for c in train_only if not looks_like_id(c, train[c])] or train_only
    if not targets:
        raise ValueError("no target: every train column is also in test and there is no sample submission")
    named = [c for c in targets if c.lower() in ("target", "label", "labels", "y", "class", "outcome", "response")]
    if len(targets) > 1 and named:
        targets = named[:1]
    return id_cols, {c: [c] for c in targets}


# ---------------------------------------------------------------- features
DATE_RE = re.compile(
    r"^\s*(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?\s*(Z|[+-]\d{2}:?\d{2})?\s*$"
)


def as_datetime(s):
    if s.dtype.kind == "M":
        d = s
    else:
        text = s.dropna().astype(str)
        if len(text) == 0:
            return None
        probe = text.sample(min(len(text), 300), random_state=0)
        if probe.map(lambda v: DATE_RE.match(v) is not None).mean() < 0.9:
            return None
        d = pd.to_datetime(s, errors="coerce", utc=True)
    if getattr(d.dt, "tz", None) is not None:
        d = d.dt.tz_convert(None)
    if d.notna().sum() < 0.9 * s.notna().sum():
        return None
    return d


def date_features(d, name):
    out = {}
    days = (d - pd.Timestamp("1970-01-01")).dt.total_seconds() / 86400.0
    out[name + "__days"] = days
    out[name + "__year"] = d.dt.year.astype(float)
    if DATES in ("parts", "rich"):
        out[name + "__month"] = d.dt.month.astype(float)
        out[name + "__day"] = d.dt.day.astype(float)
        out[name + "__dayofweek"] = d.dt.dayofweek.astype(float)
    if DATES == "rich":
        out[name + "__dayofyear"] = d.dt.dayofyear.astype(float)
        out[name + "__quarter"] = d.dt.quarter.astype(float)
        out[name + "__weekend"] = (d.dt.dayofweek >= 5).astype(float).where(d.notna())
        out[name + "__month_sin"] = np.sin(2 * np.pi * d.dt.month / 12.0)
        out[name + "__month_cos"] = np.cos(2 * np.pi * d.dt.month / 12.0)
        hours = d.dt.hour.astype(float)
        if hours.fillna(0).abs().sum() > 0:
            out[name + "__hour"] = hours
    return out


def numbers_from_text(s):
    """Object column that is really numeric ("1,234", "$5", "12%")? Returns floats or None."""
    text = s.dropna().astype(str).str.strip()
    if len(text) == 0:
        return None
    cleaned = s.astype(str).str.strip().str.replace(r"^\$|%$|,(?=\d{3})", "", regex=True)
    values = pd.to_numeric(cleaned.where(s.notna()), errors="coerce")
    if values.notna().sum() >= 0.95 * len(text):
        return values.astype(float)
    return None


def prepare_features(train, test, feature_cols):
    both = pd.concat([train[feature_cols], test[feature_cols]], axis=0, ignore_index=True)
    n_train = len(train)
    out, num, low, high, dropped, dates = {}, [], [], [], [], []
    has_missing = bool(both.isna().any().any())
    for c in feature_cols:
        s = both[c]
        if s.dtype == bool:
            s = s.astype(float)
        if s.dtype.kind == "m":
            s = s.dt.total_seconds()
        if not STRINGS_AS_CATEGORIES and (s.dtype.kind == "M" or s.dtype == object):
            d = as_datetime(s)
            if d is not None:
                dates.append(c)
                for k, v in date_features(d, c).items():
                    out[k] = v.reset_index(drop=True)
                    num.append(k)
                continue
        if s.dtype.kind == "M":
            s = s.astype(str)
        if s.dtype == object and not STRINGS_AS_CATEGORIES:
            parsed = numbers_from_text(s)
            if parsed is not None:
                s = parsed
        if s.dtype.kind in "biuf":
            s = s.astype(float).replace([np.inf, -np.inf], np.nan)
            if s.iloc[:n_train].nunique(dropna=False) <= 1:
                dropped.append(c)
                continue
            out[c] = s
            num.append(c)
            if MISSING_INDICATORS and s.isna().any():
                out[c + "__isna"] = s.isna().astype(float)
                num.append(c + "__isna")
            continue
        absent = s.isna()
        s = s.map(label_str)
        s[absent] = "__nan__"
        train_part = s.iloc[:n_train]
        card = train_part.nunique()
        if card <= 1:
            dropped.append(c)
            continue
        lengths = train_part.str.len()
        if lengths.mean() > 25 and train_part.str.count(" ").mean() >= 2:
            out[c + "__len"] = s.str.len().astype(float)
            out[c + "__words"] = (s.str.count(" ") + 1).astype(float)
            num.extend([c + "__len", c + "__words"])
        out[c] = s
        (low if card <= MAX_ONEHOT else high).append(c)
    if not out:
        out["__const__"] = pd.Series(np.zeros(len(both)))
        num.append("__const__")
    frame = pd.DataFrame(out)
    if dropped:
        print("dropped constant columns: %s" % ", ".join(map(str, dropped[:20])))
    X = frame.iloc[:n_train].reset_index(drop=True)
    X_test = frame.iloc[n_train:].reset_index(drop=True)
    return X, X_test, {"num": num, "low": low, "high": high, "dates": dates, "missing": has_missing}


class FrequencyEncoder(BaseEstimator, TransformerMixin):
    """Share of training rows with each category (0 for unseen ones)."""

    def fit(self, X, y=None):
        X = pd.DataFrame(X).astype(str)
        self.maps_ = [X.iloc[:, j].value_counts(normalize=True).to_dict() for j in range(X.shape[1])]
        return self

    def transform(self, X):
        X = pd.DataFrame(X).astype(str)
        cols = [X.iloc[:, j].map(m).fillna(0.0).astype(float).values for j, m in enumerate(self.maps_)]
        return np.column_stack(cols) if cols else np.zeros((len(X), 0))


class TargetMeanEncoder(BaseEstimator, TransformerMixin):
    """Smoothed mean of the (encoded) target per category; one column per class for multiclass targets.
    On the rows it is fitted on it returns out-of-fold encodings so models do not see their own target."""

    def __init__(self, n_classes=0, smoothing=20.0):
        self.n_classes = n_classes
        self.smoothing = smoothing

    def _targets(self, y):
        y = np.asarray(y)
        if self.n_classes > 2:
            return np.eye(self.n_classes)[y.astype(int)]
        return y.astype(float).reshape(-1, 1)

    def _fit_maps(self, X, Y):
        prior = Y.mean(axis=0)
        maps = []
        for j in range(X.shape[1]):
            col = X.iloc[:, j].values
            per_col = []
            for k in range(Y.shape[1]):
                g = pd.DataFrame({"c": col, "y": Y[:, k]}).groupby("c")["y"].agg(["sum", "count"])
                per_col.append(((g["sum"] + prior[k] * self.smoothing) / (g["count"] + self.smoothing)).to_dict())
            maps.append(per_col)
        return prior, maps

    def _apply(self, X, prior, maps):
        cols = []
        for j, per_col in enumerate(maps):
            for k, m in enumerate(per_col):
                cols.append(X.iloc[:, j].map(m).fillna(prior[k]).astype(float).values)
        return np.column_stack(cols) if cols else np.zeros((len(X), 0))

    def fit(self, X, y):
        X = pd.DataFrame(X).astype(str).reset_index(drop=True)
        self.prior_, self.maps_ = self._fit_maps(X, self._targets(y))
        return self

    def transform(self, X):
        return self._apply(pd.DataFrame(X).astype(str).reset_index(drop=True), self.prior_, self.maps_)

    def fit_transform(self, X, y=None, **fit_params):
        X = pd.DataFrame(X).astype(str).reset_index(drop=True)
        Y = self._targets(y)
        self.prior_, self.maps_ = self._fit_maps(X, Y)
        out = np.zeros((len(X), X.shape[1] * Y.shape[1]))
        for tr, va in KFold(5, shuffle=True, random_state=SEED).split(X):
            prior, maps = self._fit_maps(X.iloc[tr], Y[tr])
            out[va] = self._apply(X.iloc[va].reset_index(drop=True), prior, maps)
        return out


def make_finite(X):
    X = np.asarray(X, dtype=np.float64)
    X = np.nan_to_num(X, nan=0.0, posinf=1e9, neginf=-1e9)
    return np.clip(X, -1e9, 1e9)


def make_scaler():
    if SCALING == "standard":
        return StandardScaler()
    if SCALING == "robust":
        return RobustScaler()
    if SCALING == "quantile":
        return QuantileTransformer(n_quantiles=200, output_distribution="normal", random_state=SEED)
    return None


def build_pipeline(groups, task, n_classes, n_rows, calibrated):
    num, low, high = groups["num"], groups["low"], groups["high"]
    scaled_model = MODEL in ("linear", "svm", "knn")
    transformers = []
    if num:
        if IMPUTATION == "constant":
            steps = [("impute", SimpleImputer(strategy="constant", fill_value=0.0))]
        else:
            steps = [("impute", SimpleImputer(strategy=IMPUTATION))]
        scaler = make_scaler()
        if scaler is not None:
            steps.append(("scale", scaler))
        if INTERACTIONS and scaled_model and len(num) <= 40:
            steps.append(("poly", PolynomialFeatures(degree=2, include_bias=False)))
            steps.append(("rescale", StandardScaler()))
        transformers.append(("num", Pipeline(steps), num))
    if low:
        if ENCODING == "onehot":
            enc = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
        elif ENCODING == "ordinal":
            enc = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1)
        else:
            enc = TargetMeanEncoder(n_classes=n_classes)
        if scaled_model and ENCODING != "onehot":
            enc = Pipeline([("enc", enc), ("scale", StandardScaler())])
        transformers.append(("cat", enc, low))
    if high:
        freq = FrequencyEncoder() if not scaled_model else Pipeline([("freq", FrequencyEncoder()), ("scale", StandardScaler())])
        transformers.append(("freq", freq, high))
        if ENCODING == "target" or scaled_model:
            te = TargetMeanEncoder(n_classes=n_classes)
            transformers.append(("te", Pipeline([("te", te), ("scale", StandardScaler())]) if scaled_model else te, high))
        else:
            transformers.append(("ord", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1), high))
    pre = ColumnTransformer(transformers, remainder="drop", sparse_threshold=0)
    model = make_model(task, n_rows, calibrated, n_classes)
    if MODEL == "hist_gb" and ENCODING == "ordinal" and low:
        mask = [False] * len(num) + [True] * len(low) + [False] * (2 * len(high))
        model.set_params(categorical_features=mask)
    steps = [("pre", pre)]
    if SANITIZE:
        steps.append(("finite", FunctionTransformer(make_finite)))
    steps.append(("model", model))
    return Pipeline(steps)


class TargetTransform:
    """Regression target transform: log1p (LOG_TARGET or RMSLE) and/or standardisation (SVM, kNN)."""

    def __init__(self, log, standardize):
        self.log = log
        self.standardize = standardize

    def fit(self, y):
        t = np.log1p(y) if self.log else np.asarray(y, dtype=float)
        self.mean_, self.std_ = float(np.mean(t)), float(np.std(t)) or 1.0
        return self

    def forward(self, y):
        t = np.log1p(y) if self.log else np.asarray(y, dtype=float)
        return (t - self.mean_) / self.std_ if self.standardize else t

    def inverse(self, t):
        t = np.asarray(t, dtype=float)
        if self.standardize:
            t = t * self.std_ + self.mean_
        return np.expm1(t) if self.log else t


def scores_to_proba(model, X, n_classes):
    """Class probabilities (n, n_classes) in encoded-label order, from predict_proba or decision_function."""
    est = model.steps[-1][1] if hasattr(model, "steps") else model
    classes = np.asarray(est.classes_).astype(int)
    if hasattr(est, "predict_proba") and (not hasattr(est, "probability") or est.probability):
        raw = model.predict_proba(X)
    else:
        d = model.decision_function(X)
        if d.ndim == 1:
            p = 1.0 / (1.0 + np.exp(-d))
            raw = np.column_stack([1 - p, p])
        else:
            e = np.exp(d - d.max(axis=1, keepdims=True))
            raw = e / e.sum(axis=1, keepdims=True)
    full = np.zeros((raw.shape[0], n_classes))
    full[:, classes] = raw
    return full


def infer_task(y, proba_columns):
    if METRIC is not None:
        return "regression" if METRIC in REGRESSION_METRICS else "classification"
    if TASK_TYPE is not None:
        return TASK_TYPE
    if proba_columns:
        return "classification"
    if y.dtype == object or y.dtype == bool or str(y.dtype) == "category":
        numeric = pd.to_numeric(y, errors="coerce")
        if numeric.notna().mean() > 0.99 and numeric.nunique() > 20:
            return "regression"
        return "classification"
    values = pd.to_numeric(y, errors="coerce").dropna()
    n_unique = values.nunique()
    if n_unique <= 2:
        return "classification"
    if np.allclose(values, np.round(values)) and n_unique <= 20:
        return "classification"
    return "regression"


def make_splits(task, y, n_rows):
    folds = FOLDS if n_rows <= 20000 else min(FOLDS, 3)
    if n_rows > 200000:
        rng = np.random.RandomState(SEED)
        idx = rng.permutation(n_rows)
        cut = int(n_rows * 0.8)
        print("large data: single 80/20 holdout instead of K-fold")
        return [(np.sort(idx[:cut]), np.sort(idx[cut:]))]
    if task == "classification" and not PLAIN_KFOLD:
        min_count = int(np.bincount(y).min())
        if min_count >= 2:
            k = max(2, min(folds, min_count))
            return list(StratifiedKFold(k, shuffle=True, random_state=SEED).split(np.zeros(n_rows), y))
        print("a class has a single example: plain K-fold")
    return list(KFold(max(2, min(folds, n_rows)), shuffle=True, random_state=SEED).split(np.zeros(n_rows)))


def fit_model(pipe, X, y, task):
    est = pipe.steps[-1][1]
    if task == "classification" and np.bincount(y).min() < 3:
        # Internal early-stopping splits are stratified and fail on classes with one or two members.
        if getattr(est, "n_iter_no_change", None) is not None and hasattr(est, "validation_fraction") and MODEL == "gradient_boosting":
            est.set_params(n_iter_no_change=None)
        if MODEL == "hist_gb":
            est.set_params(early_stopping=False)
    if task == "classification" and CLASS_WEIGHT and MODEL != "knn":
        from sklearn.utils.class_weight import compute_sample_weight
        pipe.fit(X, y, model__sample_weight=compute_sample_weight("balanced", y))
    else:
        pipe.fit(X, y)
    return pipe


def data_facts(groups, task, n_rows, n_classes, y):
    """What the offline coder learns about the data from a run: column groups, size, task, class balance
    or target shape. y is the encoded target (classification) or the target values (regression)."""
    facts = {
        "rows": int(n_rows),
        "numeric": len(groups["num"]),
        "low_cat": len(groups["low"]),
        "high_cat": len(groups["high"]),
        "dates": len(groups.get("dates", [])),
        "missing": bool(groups.get("missing", False)),
        "task": task,
        "n_classes": int(n_classes),
    }
    if task == "classification":
        counts = np.bincount(y)
        facts["minority_share"] = round(float(counts.min() / counts.sum()), 4)
        facts["imbalance_ratio"] = round(float(counts.min() / counts.max()), 4)
    else:
        centred = y - y.mean()
        sd = float(np.sqrt(np.mean(centred ** 2))) or 1.0
        facts["target_skew"] = round(float(np.mean(centred ** 3) / sd ** 3), 3)
        facts["target_min"] = float(y.min())
    return facts


def facts_line(facts):
    """The line the offline coder reads the data facts of a run from."""
    return "AIDE_DATA_FACTS " + json.dumps(facts)


def metric_line(name, value):
    """The line AIDE reads a run's validation score from."""
    return "AIDE_METRIC " + json.dumps({"name": name, "value": float(value), "lower_is_better": LOWER_IS_BETTER.get(name, False)})


def solve_target(X, X_test, groups, y_raw, target, sample, sub_cols):
    """Cross-validates the pipeline on one target and predicts the test rows.
    Returns (metric_name, cv_score, {submission column: values})."""
    keep = y_raw.notna().values
    if not keep.all():
        print("target %r: dropping %d training rows without a target" % (target, int((~keep).sum())))
        X, y_raw = X.loc[keep].reset_index(drop=True), y_raw.loc[keep].reset_index(drop=True)
    proba_columns = len(sub_cols) > 1
    task = infer_task(y_raw, proba_columns)
    n_rows = len(X)
    cap = MAX_ROWS
    if MODEL in ("svm", "knn") and n_rows > 20000:
        cap = min(cap or 20000, 20000)
    if cap is not None and n_rows > cap:
        rng = np.random.RandomState(SEED)
        idx = np.sort(rng.choice(n_rows, cap, replace=False))
        print("training on a random subsample of %d of %d rows" % (cap, n_rows))
        X, y_raw, n_rows = X.iloc[idx].reset_index(drop=True), y_raw.iloc[idx].reset_index(drop=True), cap

    if task == "classification":
        labels = y_raw.map(label_str) if y_raw.dtype == object else y_raw
        le = LabelEncoder()
        y = le.fit_transform(labels)
        n_classes = len(le.classes_)
        if n_classes < 2:
            raise ValueError("target %r has a single class in train" % target)
        metric = METRIC or ("log_loss" if proba_columns else "accuracy")
        sample_col = sample[sub_cols[0]] if sample is not None and sub_cols[0] in sample.columns else None
        sample_proba = (
            sample_col is not None
            and sample_col.dtype.kind == "f"
            and not np.allclose(sample_col.fillna(0), np.round(sample_col.fillna(0)))
            and sample_col.between(0, 1).all()
        )
        proba_out = proba_columns or (n_classes == 2 and (WANT_PROBA or sample_proba or metric in PROBA_METRICS))
        if METRIC is None and proba_out and n_classes == 2:
            metric = "roc_auc"
        calibrated = metric == "log_loss" or proba_columns
        transform = None
        y_fit = y
    else:
        y = pd.to_numeric(y_raw, errors="coerce").astype(float).values
        if np.isnan(y).any():
            raise ValueError("target %r has values that are not numbers" % target)
        n_classes = 0
        metric = METRIC or "rmse"
        use_log = (LOG_TARGET or metric == "rmsle") and y.min() > -1
        if LOG_TARGET and not use_log:
            print("log target skipped: the target has values <= -1")
        transform = TargetTransform(use_log, MODEL in ("svm", "knn"))
        proba_out = calibrated = False
        y_fit = y
    print("target %r: %s, %d rows, metric %s%s" % (
        target, task, n_rows, metric, (", %d classes" % n_classes) if n_classes else ""))
    print(facts_line(data_facts(groups, task, n_rows, n_classes, y)))

    splits = make_splits(task, y, n_rows)
    fold_scores, fold_times = [], []
    metric_used = metric
    for k, (tr, va) in enumerate(splits):
        t0 = time.time()
        pipe = build_pipeline(groups, task, n_classes, len(tr), calibrated)
        if task == "classification":
            fit_model(pipe, X.iloc[tr], y_fit[tr], task)
            proba = scores_to_proba(pipe, X.iloc[va], n_classes)
            pred = proba.argmax(axis=1)
        else:
            transform.fit(y[tr])
            fit_model(pipe, X.iloc[tr], transform.forward(y[tr]), task)
            pred, proba = transform.inverse(pipe.predict(X.iloc[va])), None
        metric_used, score = safe_metric(metric, task, y[va], pred, proba, n_classes)
        fold_scores.append(score)
        fold_times.append(time.time() - t0)
        print("fold %d/%d: %s = %.5f (%.1fs)" % (k + 1, len(splits), metric_used, score, fold_times[-1]), flush=True)
        elapsed = time.time() - START
        left = len(splits) - k - 1
        projected = elapsed + np.mean(fold_times) * (left + 1.5)
        if left and projected > 0.7 * TIME_BUDGET_SEC:
            print("stopping CV after %d folds to stay within the time limit" % (k + 1))
            break
    cv = float(np.mean(fold_scores))
    print("CV %s: %.5f +/- %.5f" % (metric_used, cv, float(np.std(fold_scores))), flush=True)

    pipe = build_pipeline(groups, task, n_classes, n_rows, calibrated)
    out = {}
    if task == "classification":
        fit_model(pipe, X, y_fit, task)
        proba = scores_to_proba(pipe, X_test, n_classes)
        if proba_columns:
            mapping = match_class_columns(sub_cols, list(le.classes_))
            for col, cls_index in mapping.items():
                out[col] = proba[:, cls_index] if cls_index is not None else np.zeros(len(X_test))
        elif proba_out:
            out[sub_cols[0]] = proba[:, 1]
        else:
            out[sub_cols[0]] = le.inverse_transform(proba.argmax(axis=1))
    else:
        transform.fit(y)
        fit_model(pipe, X, transform.forward(y), task)
        pred = transform.inverse(pipe.predict(X_test))
        if metric in ("rmsle", "mape") or (use_log and y.min() >= 0):
            pred = np.clip(pred, 0, None)
        out[sub_cols[0]] = pred
    return metric_used, cv, out


def match_class_columns(columns, classes):
    """Maps each probability column of the sample submission to a class index."""
    names = [label_str(c).lower() for c in classes]
    mapping = {}
    for col in columns:
        low = col.lower()
        hit = [i for i, n in enumerate(names) if low == n]
        if not hit:
            hit = sorted((i for i, n in enumerate(names) if low.endswith(n)), key=lambda i: -len(names[i]))[:1]
        mapping[col] = hit[0] if hit else None
    matched = [v for v in mapping.values() if v is not None]
    if len(set(matched)) != len(matched) or len(matched) < min(len(columns), len(classes)):
        if len(columns) != len(classes):
            raise ValueError("sample submission has %d class columns but train has %d classes" % (len(columns), len(classes)))
        print("class columns matched by position: %s" % columns)
        mapping = {col: i for i, col in enumerate(columns)}
    return mapping


def row_keys(frame, cols):
    return ["|".join(label_str(v) for v in row) for row in frame[cols].itertuples(index=False, name=None)]


def write_submission(sample, test, id_cols, outputs):
    os.makedirs("./working", exist_ok=True)
    if sample is not None:
        sub = sample.copy()
        order = None
        if id_cols and not POSITIONAL_SUBMISSION:
            test_keys, sample_keys = row_keys(test, id_cols), row_keys(sample, id_cols)
            if test_keys == sample_keys:
                order = np.arange(len(test))
            else:
                position = {k: i for i, k in enumerate(test_keys)}
                found = [position.get(k) for k in sample_keys]
                if all(i is not None for i in found):
                    order = np.array(found)
                else:
                    print("sample submission ids do not all appear in test; filling rows by position")
        if order is None:
            if len(sample) != len(test):
                raise ValueError("submission mismatch: sample_submission has %d rows but test has %d" % (len(sample), len(test)))
            order = np.arange(len(test))
        for col, values in outputs.items():
            values = np.asarray(values)[order]
            if sub[col].dtype.kind in "iu" and values.dtype.kind == "f" and np.allclose(values, np.round(values)):
                values = np.round(values).astype(np.int64)
            sub[col] = values
    else:
        sub = test[id_cols].copy() if id_cols else pd.DataFrame(index=range(len(test)))
        for col, values in outputs.items():
            sub[col] = np.asarray(values)
    sub.to_csv("./working/submission.csv", index=False)
    print("wrote ./working/submission.csv with %d rows and columns %s" % (len(sub), list(sub.columns)))


def main():
    train, test, sample = locate_data()
    print("train %s, test %s%s" % (train.shape, test.shape, "" if sample is None else ", sample %s" % (sample.shape,)))
    id_cols, targets = choose_targets(train, test, sample)
    drop = set(id_cols) | set(targets)
    feature_cols = []
    for c in train.columns:
        if c in drop or c not in test.columns:
            continue
        if looks_like_id(c, pd.concat([train[c], test[c]], ignore_index=True)):
            print("dropping id-like column %r" % c)
            continue
        feature_cols.append(c)
    print("ids: %s; targets: %s; %d feature columns" % (id_cols, list(targets), len(feature_cols)))
    X, X_test, groups = prepare_features(train, test, feature_cols)
    print("features: %d numeric, %d low-cardinality categorical, %d high-cardinality categorical" % (
        len(groups["num"]), len(groups["low"]), len(groups["high"])))

    outputs, scores, names = {}, [], []
    for target, sub_cols in targets.items():
        name, cv, out = solve_target(X, X_test, groups, train[target].reset_index(drop=True), target, sample, sub_cols)
        outputs.update(out)
        scores.append(cv)
        names.append(name)
    write_submission(sample, test, id_cols, outputs)
    metric = names[0]
    value = float(np.mean(scores))
    print(metric_line(metric, value))
    print("done in %.1fs" % (time.time() - START))

