"""Unit tests of the helpers every script of the offline coder inlines (src/coders/offline/python/helpers.py).

They import a script the coder rendered, so what is tested is the generated file itself, configuration block
and make_model included. tests/unit/coders/offline-python.test.ts renders one and runs:

    AIDE_OFFLINE_SCRIPT=/path/to/solution.py /usr/bin/python3 -m unittest discover -s tests/python -p "test_offline_*.py"

A test that relies on a configuration value sets it with self.configure(NAME=value); the rendered value is
put back afterwards.
"""
import contextlib
import importlib.util
import io
import json
import os
import tempfile
import unittest

import numpy as np
import pandas as pd

SCRIPT = os.environ.get("AIDE_OFFLINE_SCRIPT")
if not SCRIPT:
    raise RuntimeError("set AIDE_OFFLINE_SCRIPT to a script rendered by the offline coder (see the docstring)")
_spec = importlib.util.spec_from_file_location("offline_solution", SCRIPT)
S = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(S)


class HelperTest(unittest.TestCase):
    def configure(self, **values):
        for name, value in values.items():
            self.assertTrue(hasattr(S, name), "the script has no setting %s" % name)
            self.addCleanup(setattr, S, name, getattr(S, name))
            setattr(S, name, value)

    def in_temp_dir(self):
        """Makes a fresh directory the working directory for the rest of the test."""
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.addCleanup(os.chdir, os.getcwd())
        os.chdir(tmp.name)
        return tmp.name

    def quietly(self, fn, *args):
        """Calls fn, returning (result, what it printed)."""
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            result = fn(*args)
        return result, out.getvalue()


class OutputLines(HelperTest):
    def test_metric_line_is_a_json_object_with_the_direction(self):
        line = S.metric_line("rmse", np.float64(0.25))
        self.assertTrue(line.startswith("AIDE_METRIC {"))
        self.assertEqual(json.loads(line[len("AIDE_METRIC "):]), {"name": "rmse", "value": 0.25, "lower_is_better": True})
        self.assertIs(json.loads(S.metric_line("roc_auc", 0.9)[12:])["lower_is_better"], False)
        self.assertIs(json.loads(S.metric_line("log_loss", 0.5)[12:])["lower_is_better"], True)
        self.assertIs(json.loads(S.metric_line("made_up", 1)[12:])["lower_is_better"], False)
        self.assertNotIn("\n", line)

    def test_data_facts_of_a_classification_target(self):
        groups = {"num": ["a", "b"], "low": ["c"], "high": [], "dates": ["d"], "missing": True}
        facts = S.data_facts(groups, "classification", 4, 2, np.array([0, 0, 0, 1]))
        self.assertEqual(facts, {
            "rows": 4, "numeric": 2, "low_cat": 1, "high_cat": 0, "dates": 1, "missing": True,
            "task": "classification", "n_classes": 2, "minority_share": 0.25, "imbalance_ratio": 0.3333,
        })
        line = S.facts_line(facts)
        self.assertEqual(json.loads(line[len("AIDE_DATA_FACTS "):]), facts)

    def test_data_facts_of_a_regression_target(self):
        groups = {"num": ["a"], "low": [], "high": ["h"]}
        facts = S.data_facts(groups, "regression", 5, 0, np.array([-2.0, -1.0, 0.0, 1.0, 2.0]))
        self.assertEqual(facts["target_skew"], 0.0)
        self.assertEqual(facts["target_min"], -2.0)
        self.assertEqual((facts["dates"], facts["missing"], facts["high_cat"]), (0, False, 1))
        skewed = S.data_facts(groups, "regression", 5, 0, np.array([0.0, 0.0, 0.0, 0.0, 10.0]))
        self.assertGreater(skewed["target_skew"], 1.0)


class Metrics(HelperTest):
    def test_regression_metrics(self):
        y, pred = np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 5.0])
        self.assertAlmostEqual(S.compute_metric("rmse", y, pred), np.sqrt(4 / 3))
        self.assertAlmostEqual(S.compute_metric("mse", y, pred), 4 / 3)
        self.assertAlmostEqual(S.compute_metric("mae", y, pred), 2 / 3)
        self.assertAlmostEqual(S.compute_metric("medae", y, pred), 0.0)
        # RMSLE clips negative predictions to zero.
        self.assertAlmostEqual(S.compute_metric("rmsle", np.array([0.0]), np.array([-5.0])), 0.0)
        self.assertAlmostEqual(S.compute_metric("rmsle", np.array([np.e - 1]), np.array([0.0])), 1.0)

    def test_classification_metrics_on_encoded_labels(self):
        y = np.array([0, 1, 1, 0])
        proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.4, 0.6], [0.3, 0.7]])
        self.assertAlmostEqual(S.compute_metric("roc_auc", y, proba=proba), 0.75)
        self.assertAlmostEqual(S.compute_metric("accuracy", y, pred=proba.argmax(axis=1)), 0.75)
        self.assertAlmostEqual(S.compute_metric("f1", y, pred=np.array([0, 1, 1, 1])), 0.8)
        # Rows that do not sum to one are normalised before the log loss.
        halved = S.compute_metric("log_loss", y, proba=proba / 2)
        self.assertAlmostEqual(halved, S.compute_metric("log_loss", y, proba=proba))
        self.assertAlmostEqual(halved, -np.mean(np.log([0.9, 0.8, 0.6, 0.3])))

    def test_multiclass_auc_with_a_class_missing_from_the_fold(self):
        y = np.array([0, 0, 2, 2])
        proba = np.array([[0.8, 0.1, 0.1], [0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [0.2, 0.2, 0.6]])
        self.assertAlmostEqual(S.compute_metric("roc_auc", y, proba=proba, n_classes=3), 1.0)

    def test_unknown_metric_raises(self):
        with self.assertRaisesRegex(ValueError, "unknown metric"):
            S.compute_metric("nope", [1], [1])

    def test_fallback_only_with_the_switch(self):
        y, proba = np.array([1, 1]), np.array([[0.2, 0.8], [0.4, 0.6]])
        self.configure(METRIC_FALLBACK=False)
        with self.assertRaises(ValueError):
            S.safe_metric("roc_auc", "classification", y, proba.argmax(axis=1), proba, 2)
        self.configure(METRIC_FALLBACK=True)
        (name, value), printed = self.quietly(S.safe_metric, "roc_auc", "classification", y, proba.argmax(axis=1), proba, 2)
        self.assertEqual((name, value), ("accuracy", 1.0))
        self.assertIn("falling back to accuracy", printed)


class FindingData(HelperTest):
    def write(self, path, text):
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        with open(path, "w") as f:
            f.write(text)

    def test_train_test_and_sample_by_name_in_subfolders(self):
        self.in_temp_dir()
        self.configure(BROAD_FILE_SEARCH=False)
        self.write("input/data/train.csv", "id,x,y\n1,2,3\n2,3,4\n")
        self.write("input/data/test.csv", "id,x\n3,4\n")
        self.write("input/sample_submission.csv", "id,y\n3,0\n")
        self.write("input/notes.txt", "not a table")
        (train, test, sample), printed = self.quietly(S.locate_data)
        self.assertEqual(list(train.columns), ["id", "x", "y"])
        self.assertEqual(len(train), 2)
        self.assertEqual(list(test.columns), ["id", "x"])
        self.assertEqual(list(sample.columns), ["id", "y"])
        self.assertIn("train=./input/data/train.csv", printed)

    def test_unnamed_files_told_apart_by_their_columns(self):
        self.in_temp_dir()
        self.write("input/b.csv", "x,z\n1,2\n")
        self.write("input/a.csv", "x,z,target\n1,2,0\n3,4,1\n")
        (train, test, sample), _ = self.quietly(S.locate_data)
        self.assertIn("target", train.columns)
        self.assertNotIn("target", test.columns)
        self.assertIsNone(sample)

    def test_no_tables(self):
        self.in_temp_dir()
        self.write("input/readme.md", "# nothing")
        with self.assertRaisesRegex(FileNotFoundError, "no CSV files"):
            S.locate_data()

    def test_semicolons_tabs_and_padded_headers(self):
        self.in_temp_dir()
        self.write("a.csv", "x;y\n1;2\n")
        self.write("b.tsv", " x \ty\n1\t2\n")
        self.assertEqual(list(S.read_table("a.csv").columns), ["x", "y"])
        self.assertEqual(list(S.read_table("b.tsv").columns), ["x", "y"])
        self.assertEqual(S.read_table("a.csv")["y"].tolist(), [2])


class IdsAndTargets(HelperTest):
    def test_label_text(self):
        self.assertEqual(S.label_str(1.0), "1")
        self.assertEqual(S.label_str(np.float64(3.0)), "3")
        self.assertEqual(S.label_str(2.5), "2.5")
        self.assertEqual(S.label_str(np.int64(7)), "7")
        self.assertEqual(S.label_str(True), "True")
        self.assertEqual(S.label_str("gold"), "gold")

    def test_id_columns(self):
        unique = pd.Series(np.random.RandomState(0).permutation(200) * 3)
        self.assertTrue(S.looks_like_id("customer_id", unique))
        self.assertTrue(S.looks_like_id("PassengerId", unique))
        self.assertTrue(S.looks_like_id("Unnamed: 0", pd.Series([1, 1, 1])))
        # An unnamed running number: unique integers filling a range.
        self.assertTrue(S.looks_like_id("row", pd.Series(np.random.RandomState(0).permutation(100))))
        self.assertFalse(S.looks_like_id("row", pd.Series(np.arange(0, 200, 2))))
        self.assertFalse(S.looks_like_id("age", pd.Series(np.random.RandomState(0).randint(0, 90, 200))))
        self.assertFalse(S.looks_like_id("id", pd.Series([1, 1, 2, 2, 3, 3])))
        self.assertFalse(S.looks_like_id("Valid", unique))

    def test_targets_from_the_sample_submission(self):
        train = pd.DataFrame({"id": [1, 2], "x": [0, 1], "price": [5.0, 6.0]})
        test = pd.DataFrame({"id": [3], "x": [1]})
        self.assertEqual(S.choose_targets(train, test, pd.DataFrame({"id": [3], "price": [0.0]})), (["id"], {"price": ["price"]}))
        renamed, printed = self.quietly(S.choose_targets, train, test, pd.DataFrame({"id": [3], "SalePrice": [0.0]}))
        self.assertEqual(renamed, (["id"], {"price": ["SalePrice"]}))
        self.assertIn("written as 'SalePrice'", printed)

    def test_one_probability_column_per_class(self):
        train = pd.DataFrame({"id": [1, 2, 3], "x": [0, 1, 2], "note": ["a", "b", "c"], "medal": ["gold", "silver", "bronze"]})
        test = pd.DataFrame({"id": [4], "x": [1]})
        sample = pd.DataFrame({"id": [4], "medal_bronze": [0.3], "medal_gold": [0.3], "medal_silver": [0.4]})
        ids, targets = S.choose_targets(train, test, sample)
        self.assertEqual(ids, ["id"])
        self.assertEqual(targets, {"medal": ["medal_bronze", "medal_gold", "medal_silver"]})

    def test_targets_without_a_sample_submission(self):
        train = pd.DataFrame({"id": np.arange(60), "x": np.arange(60) % 7, "target": np.arange(60) % 2, "other": 1})
        test = pd.DataFrame({"id": np.arange(60, 80), "x": np.arange(20) % 7})
        self.assertEqual(S.choose_targets(train, test, None), (["id"], {"target": ["target"]}))
        with self.assertRaisesRegex(ValueError, "no target"):
            S.choose_targets(test, test, None)


class ColumnTyping(HelperTest):
    def frames(self):
        n = 40
        rng = np.random.RandomState(1)
        both = pd.DataFrame({
            "num": np.where(np.arange(n) % 5 == 0, np.nan, rng.rand(n)),
            "money": ["$%d,%03d" % (i + 1, i) for i in range(n)],
            "when": pd.date_range("2021-01-02", periods=n, freq="D").strftime("%Y-%m-%d"),
            "color": np.array(["red", "green", "blue"])[np.arange(n) % 3],
            "city": ["city%d" % (i % 10) for i in range(n)],
            "const": "same",
            "flag": np.arange(n) % 2 == 0,
            "text": ["a fairly long free text comment number %d here" % i for i in range(n)],
        })
        return both.iloc[:30].reset_index(drop=True), both.iloc[30:].reset_index(drop=True)

    def prepare(self):
        train, test = self.frames()
        return self.quietly(S.prepare_features, train, test, list(train.columns))

    def test_column_groups(self):
        self.configure(DATES="parts", STRINGS_AS_CATEGORIES=False, MISSING_INDICATORS=True, MAX_ONEHOT=3)
        (X, X_test, groups), printed = self.prepare()
        self.assertEqual((len(X), len(X_test)), (30, 10))
        for c in ["num", "num__isna", "money", "flag", "text__len", "text__words",
                  "when__days", "when__year", "when__month", "when__day", "when__dayofweek"]:
            self.assertIn(c, groups["num"])
        self.assertEqual(groups["dates"], ["when"])
        self.assertEqual(groups["low"], ["color"])
        self.assertEqual(sorted(groups["high"]), ["city", "text"])
        self.assertTrue(groups["missing"])
        self.assertNotIn("const", X.columns)
        self.assertIn("dropped constant columns: const", printed)
        self.assertEqual(X["money"].tolist()[:3], [1000.0, 2001.0, 3002.0])
        self.assertEqual(X["num__isna"].tolist()[:2], [1.0, 0.0])
        self.assertEqual(X["flag"].tolist()[:2], [1.0, 0.0])
        # 2021-01-02 was a Saturday, 18629 days after 1970-01-01.
        self.assertEqual((X["when__days"][0], X["when__dayofweek"][0], X["when__month"][0]), (18629.0, 5.0, 1.0))
        self.assertEqual(X_test["when__day"][0], 1.0)  # 2021-02-01

    def test_strings_as_categories(self):
        self.configure(STRINGS_AS_CATEGORIES=True, MISSING_INDICATORS=False, MAX_ONEHOT=3)
        (X, _, groups), _ = self.prepare()
        self.assertEqual(groups["dates"], [])
        self.assertIn("money", groups["high"])
        self.assertIn("when", groups["high"])
        self.assertNotIn("num__isna", groups["num"])
        self.assertEqual(X["money"][0], "$1,000")

    def test_date_feature_levels(self):
        d = pd.Series(pd.to_datetime(["2021-01-02 00:00", "2021-07-05 00:00"]))
        self.configure(DATES="ordinal")
        self.assertEqual(sorted(S.date_features(d, "t")), ["t__days", "t__year"])
        self.configure(DATES="rich")
        rich = S.date_features(d, "t")
        self.assertEqual(rich["t__weekend"].tolist(), [1.0, 0.0])
        self.assertEqual(rich["t__quarter"].tolist(), [1.0, 3.0])
        self.assertAlmostEqual(rich["t__month_sin"][0], np.sin(2 * np.pi / 12))
        self.assertNotIn("t__hour", rich)
        with_hours = S.date_features(pd.Series(pd.to_datetime(["2021-01-02 09:30", "2021-01-03 18:00"])), "t")
        self.assertEqual(with_hours["t__hour"].tolist(), [9.0, 18.0])

    def test_what_counts_as_a_date(self):
        self.assertIsNone(S.as_datetime(pd.Series(["2021-01-01", "soon", "later", "never"])))
        self.assertIsNone(S.as_datetime(pd.Series(["12", "13"])))
        utc = S.as_datetime(pd.Series(["2021-01-01T10:00:00+02:00", None]))
        self.assertEqual(utc[0], pd.Timestamp("2021-01-01 08:00"))
        self.assertTrue(pd.isna(utc[1]))

    def test_numbers_in_text(self):
        self.assertEqual(S.numbers_from_text(pd.Series(["12%", "3%", None])).tolist()[:2], [12.0, 3.0])
        self.assertEqual(S.numbers_from_text(pd.Series(["1,234", "$5"])).tolist(), [1234.0, 5.0])
        self.assertIsNone(S.numbers_from_text(pd.Series(["abc", "1"])))


class Encoders(HelperTest):
    def test_frequency_encoding(self):
        enc = S.FrequencyEncoder().fit(pd.DataFrame({"c": ["a", "a", "b", "c"]}))
        self.assertEqual(enc.transform(pd.DataFrame({"c": ["a", "b", "unseen"]})).ravel().tolist(), [0.5, 0.25, 0.0])

    def test_target_mean_encoding_is_smoothed_and_out_of_fold(self):
        self.configure(SEED=42)
        X = pd.DataFrame({"c": ["a"] * 4 + ["b"] * 4})
        y = np.array([1, 1, 1, 1, 0, 0, 0, 0])
        enc = S.TargetMeanEncoder(smoothing=4.0).fit(X, y)
        self.assertEqual(enc.transform(pd.DataFrame({"c": ["a", "b", "z"]})).ravel().tolist(), [0.75, 0.25, 0.5])
        # A category seen on one row only: out of fold, that row gets its fold's prior, never its own target.
        unique = pd.DataFrame({"c": ["u%d" % i for i in range(10)]})
        y10 = np.array([1, 0] * 5)
        oof = S.TargetMeanEncoder().fit_transform(unique, y10).ravel()
        self.assertTrue(np.all(np.abs(oof - 0.5) <= 0.13))

    def test_multiclass_target_encoding_has_a_column_per_class(self):
        X = pd.DataFrame({"c": ["a", "b", "a", "b", "c", "c"]})
        out = S.TargetMeanEncoder(n_classes=3).fit(X, np.array([0, 1, 2, 0, 1, 2])).transform(X)
        self.assertEqual(out.shape, (6, 3))
        self.assertTrue(np.allclose(out.sum(axis=1), 1.0))


class TaskAndSplits(HelperTest):
    def test_task_from_the_metric_the_setting_or_the_target(self):
        self.configure(METRIC="rmse", TASK_TYPE=None)
        self.assertEqual(S.infer_task(pd.Series([0, 1, 0]), False), "regression")
        self.configure(METRIC=None, TASK_TYPE="classification")
        self.assertEqual(S.infer_task(pd.Series(np.linspace(0, 1, 50)), False), "classification")
        self.configure(TASK_TYPE=None)
        self.assertEqual(S.infer_task(pd.Series([0, 1, 1, 0]), False), "classification")
        self.assertEqual(S.infer_task(pd.Series(np.arange(10) % 5), False), "classification")
        self.assertEqual(S.infer_task(pd.Series(np.linspace(0, 1, 50)), False), "regression")
        self.assertEqual(S.infer_task(pd.Series(["a", "b"]), False), "classification")
        self.assertEqual(S.infer_task(pd.Series([str(i) for i in range(50)]), False), "regression")
        self.assertEqual(S.infer_task(pd.Series(np.linspace(0, 1, 50)), True), "classification")

    def test_stratified_folds(self):
        self.configure(FOLDS=5, PLAIN_KFOLD=False, SEED=42)
        y = np.array([0, 1] * 10)
        splits = S.make_splits("classification", y, len(y))
        self.assertEqual(len(splits), 5)
        for tr, va in splits:
            self.assertEqual(np.bincount(y[va]).tolist(), [2, 2])
            self.assertEqual(len(np.intersect1d(tr, va)), 0)
        self.assertEqual(len(S.make_splits("classification", np.array([0] * 17 + [1] * 3), 20)), 3)

    def test_plain_folds_when_a_class_has_one_member(self):
        self.configure(FOLDS=5, PLAIN_KFOLD=False)
        y = np.array([0] * 19 + [1])
        splits, printed = self.quietly(S.make_splits, "classification", y, 20)
        self.assertIn("single example", printed)
        self.assertEqual(sorted(np.concatenate([va for _, va in splits]).tolist()), list(range(20)))
        self.assertEqual(len(S.make_splits("regression", np.zeros(3), 3)), 3)

    def test_target_transform_round_trip(self):
        y = np.array([0.0, 1.0, 10.0, 100.0])
        t = S.TargetTransform(log=True, standardize=True).fit(y)
        z = t.forward(y)
        self.assertAlmostEqual(float(np.mean(z)), 0.0)
        self.assertAlmostEqual(float(np.std(z)), 1.0)
        self.assertTrue(np.allclose(t.inverse(z), y))


class Submission(HelperTest):
    def read(self):
        return pd.read_csv("working/submission.csv")

    def test_rows_follow_the_sample_ids(self):
        self.in_temp_dir()
        self.configure(POSITIONAL_SUBMISSION=False)
        test = pd.DataFrame({"id": [1, 2, 3], "x": [0, 0, 0]})
        sample = pd.DataFrame({"id": [3, 1, 2], "y": [0, 0, 0]})
        self.quietly(S.write_submission, sample, test, ["id"], {"y": np.array([10.0, 20.0, 30.0])})
        sub = self.read()
        self.assertEqual(sub["id"].tolist(), [3, 1, 2])
        self.assertEqual(sub["y"].tolist(), [30, 10, 20])
        with open("working/submission.csv") as f:
            self.assertEqual(f.read().splitlines()[:2], ["id,y", "3,30"])

    def test_positional_and_fallback_filling(self):
        self.in_temp_dir()
        test = pd.DataFrame({"id": [1, 2], "x": [0, 0]})
        sample = pd.DataFrame({"id": [2, 1], "y": [0.5, 0.5]})
        self.configure(POSITIONAL_SUBMISSION=True)
        self.quietly(S.write_submission, sample, test, ["id"], {"y": [0.1, 0.2]})
        self.assertEqual(self.read()["y"].tolist(), [0.1, 0.2])
        self.configure(POSITIONAL_SUBMISSION=False)
        other = pd.DataFrame({"id": [8, 9], "y": [0.5, 0.5]})
        _, printed = self.quietly(S.write_submission, other, test, ["id"], {"y": [0.1, 0.2]})
        self.assertIn("filling rows by position", printed)
        self.assertEqual(self.read()["id"].tolist(), [8, 9])

    def test_row_count_mismatch_is_reported(self):
        self.in_temp_dir()
        self.configure(POSITIONAL_SUBMISSION=False)
        test = pd.DataFrame({"id": [1, 2], "x": [0, 0]})
        sample = pd.DataFrame({"id": [1, 2, 7], "y": [0, 0, 0]})
        with self.assertRaisesRegex(ValueError, "submission mismatch: sample_submission has 3 rows but test has 2"):
            self.quietly(S.write_submission, sample, test, ["id"], {"y": [1, 2]})

    def test_without_a_sample(self):
        self.in_temp_dir()
        test = pd.DataFrame({"key": ["a", "b"], "x": [0, 0]})
        _, printed = self.quietly(S.write_submission, None, test, ["key"], {"target": ["yes", "no"]})
        self.assertEqual(self.read().to_dict("list"), {"key": ["a", "b"], "target": ["yes", "no"]})
        self.assertIn("wrote ./working/submission.csv with 2 rows", printed)

    def test_class_columns(self):
        mapping = S.match_class_columns(["medal_bronze", "medal_gold", "medal_silver"], ["gold", "silver", "bronze"])
        self.assertEqual(mapping, {"medal_bronze": 2, "medal_gold": 0, "medal_silver": 1})
        by_position, printed = self.quietly(S.match_class_columns, ["p0", "p1"], ["no", "yes"])
        self.assertEqual(by_position, {"p0": 0, "p1": 1})
        self.assertIn("matched by position", printed)
        with self.assertRaisesRegex(ValueError, "3 class columns but train has 2"):
            S.match_class_columns(["a", "b", "c"], ["x", "y"])


class WholeScript(HelperTest):
    """main() of the rendered script on a small binary task: it prints one AIDE_METRIC line and the facts."""

    def test_main(self):
        root = self.in_temp_dir()
        rng = np.random.RandomState(3)
        n = 120
        x = rng.randn(n)
        frame = pd.DataFrame({"id": np.arange(n), "x": x, "noise": rng.randn(n), "y": (x > 0).astype(int)})
        os.makedirs(os.path.join(root, "input"))
        frame.iloc[:90].to_csv("input/train.csv", index=False)
        frame.iloc[90:].drop(columns="y").to_csv("input/test.csv", index=False)
        frame.iloc[90:][["id"]].assign(y=0).to_csv("input/sample_submission.csv", index=False)
        self.configure(METRIC=None, TASK_TYPE=None, WANT_PROBA=False, FOLDS=3)
        _, printed = self.quietly(S.main)
        lines = printed.splitlines()
        metrics = [json.loads(l[len("AIDE_METRIC "):]) for l in lines if l.startswith("AIDE_METRIC ")]
        self.assertEqual(len(metrics), 1)
        self.assertEqual((metrics[0]["name"], metrics[0]["lower_is_better"]), ("accuracy", False))
        self.assertGreater(metrics[0]["value"], 0.8)
        facts = [json.loads(l[len("AIDE_DATA_FACTS "):]) for l in lines if l.startswith("AIDE_DATA_FACTS ")]
        self.assertEqual((facts[0]["rows"], facts[0]["numeric"], facts[0]["task"]), (90, 2, "classification"))
        self.assertEqual(len([l for l in lines if l.startswith("fold ")]), 3)
        sub = pd.read_csv("working/submission.csv")
        self.assertEqual(sub["id"].tolist(), list(range(90, 120)))
        self.assertEqual(set(sub["y"]) - {0, 1}, set())


if __name__ == "__main__":
    unittest.main()
