#!/usr/bin/env python3
"""Writes the bundled example tasks under examples/ (small synthetic tabular data sets).

Uses only numpy and pandas (Debian's python3-numpy / python3-pandas are enough) and a fixed seed per task,
so running it again rewrites the same files:

    /usr/bin/python3 scripts/make-examples.py [--out examples]

Each task gets task.md (what a user would type), input/{train,test,sample_submission}.csv and answers.csv
(the hidden test labels, for scoring a run's submission).
"""
import argparse
import os

import numpy as np
import pandas as pd


def write_csv(df: pd.DataFrame, path: str) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    df.to_csv(path, index=False, lineterminator="\n")


def write_text(text: str, path: str) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text.strip() + "\n")


def split(df: pd.DataFrame, n_train: int):
    return df.iloc[:n_train].reset_index(drop=True), df.iloc[n_train:].reset_index(drop=True)


def random_dates(rng: np.random.Generator, n: int, start: str, days: int) -> pd.Series:
    offsets = rng.integers(0, days, size=n)
    return (pd.Timestamp(start) + pd.to_timedelta(offsets, unit="D")).strftime("%Y-%m-%d")


# ---------------------------------------------------------------------------------------------------------
def loan_default(out: str) -> None:
    rng = np.random.default_rng(20240501)
    n, n_train = 2000, 1400
    age = rng.integers(19, 76, size=n)
    income = np.round(rng.lognormal(mean=10.9, sigma=0.45, size=n), -2).astype(int)
    loan_amount = np.round(rng.uniform(1000, 40000, size=n), -2).astype(int)
    term = rng.choice([36, 60], size=n, p=[0.7, 0.3])
    credit_score = np.clip(np.round(rng.normal(680, 60, size=n)), 400, 850).astype(int)
    employment_years = np.round(np.clip(rng.exponential(6, size=n), 0, 40), 1)
    home = rng.choice(["RENT", "MORTGAGE", "OWN", "OTHER"], size=n, p=[0.42, 0.38, 0.16, 0.04])
    purpose = rng.choice(
        ["debt_consolidation", "credit_card", "home_improvement", "small_business", "car", "medical", "other"],
        size=n,
        p=[0.35, 0.2, 0.12, 0.08, 0.1, 0.05, 0.1],
    )
    delinquencies = rng.poisson(0.4, size=n)
    application_date = random_dates(rng, n, "2019-01-01", 5 * 365)

    # Risk with non-linear parts: a debt-to-income threshold, a credit-score kink, an interaction with
    # small-business loans, and a U shape in age.
    dti = loan_amount / income
    logit = (
        -2.2
        + 2.4 * (dti > 0.45)
        + 1.2 * (dti > 0.8)
        + 0.03 * np.maximum(0, 640 - credit_score)
        - 0.004 * np.maximum(0, credit_score - 640)
        + 1.3 * ((purpose == "small_business") & (credit_score < 660))
        + 0.5 * (term == 60)
        + 0.45 * np.minimum(delinquencies, 3)
        + 0.0012 * (age - 45) ** 2
        - 0.05 * np.minimum(employment_years, 10)
        + 0.4 * (home == "RENT")
    )
    default = (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(int)

    df = pd.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "age": age,
            "income": income,
            "loan_amount": loan_amount,
            "term_months": term,
            "credit_score": credit_score,
            "employment_years": employment_years,
            "home_ownership": home,
            "purpose": purpose,
            "delinquencies_2y": delinquencies,
            "application_date": application_date,
            "default": default,
        }
    )
    # Gaps: missing incomes, employment years and categories.
    df["income"] = df["income"].astype(object).where(rng.uniform(size=n) > 0.06, "")
    df["employment_years"] = df["employment_years"].astype(object).where(rng.uniform(size=n) > 0.04, "")
    df["home_ownership"] = df["home_ownership"].where(rng.uniform(size=n) > 0.05, "")
    df["purpose"] = df["purpose"].where(rng.uniform(size=n) > 0.03, "")

    train, test = split(df, n_train)
    base = os.path.join(out, "loan-default")
    write_csv(train, os.path.join(base, "input", "train.csv"))
    write_csv(test.drop(columns=["default"]), os.path.join(base, "input", "test.csv"))
    write_csv(pd.DataFrame({"id": test["id"], "default": 0.5}), os.path.join(base, "input", "sample_submission.csv"))
    write_csv(test[["id", "default"]], os.path.join(base, "answers.csv"))
    write_text(
        """
# Loan default

Predict the probability that each loan applicant in `test.csv` defaults (`default` = 1) on the loan.

- Training data: `train.csv` (one row per loan, the target column is `default`, 0 or 1).
- Metric: ROC AUC of the predicted probabilities against the true labels. Higher is better.
- Submission: a CSV with the columns `id,default`, one row per row of `test.csv` in the same order,
  where `default` is the predicted probability of default (a number between 0 and 1).
  See `sample_submission.csv`.

Some incomes, employment lengths and categories are missing. `application_date` is the day of the application.
""",
        os.path.join(base, "task.md"),
    )


# ---------------------------------------------------------------------------------------------------------
def house_prices(out: str) -> None:
    rng = np.random.default_rng(20240502)
    n, n_train = 1500, 1000
    neighborhoods = ["Riverside", "Old Town", "Hillcrest", "Meadows", "Industrial", "Lakeview"]
    nb_effect = {"Riverside": 1.15, "Old Town": 1.05, "Hillcrest": 1.3, "Meadows": 1.0, "Industrial": 0.78, "Lakeview": 1.45}
    neighborhood = rng.choice(neighborhoods, size=n, p=[0.18, 0.2, 0.15, 0.25, 0.1, 0.12])
    living_area = np.round(rng.gamma(9, 16, size=n) + 40).astype(int)  # square metres
    lot_area = np.round(living_area * rng.uniform(1.5, 6, size=n)).astype(int)
    bedrooms = np.clip(np.round(living_area / 35 + rng.normal(0, 0.8, size=n)), 1, 7).astype(int)
    bathrooms = np.clip(np.round(bedrooms / 2 + rng.normal(0, 0.5, size=n)), 1, 4).astype(int)
    year_built = rng.integers(1900, 2023, size=n)
    condition = rng.choice(["Poor", "Fair", "Good", "Excellent"], size=n, p=[0.08, 0.3, 0.45, 0.17])
    cond_effect = pd.Series(condition).map({"Poor": 0.8, "Fair": 0.93, "Good": 1.0, "Excellent": 1.12}).to_numpy()
    has_garage = rng.uniform(size=n) < 0.7
    garage_cars = np.where(has_garage, rng.choice([1, 2, 3], size=n, p=[0.45, 0.45, 0.1]), 0)
    sale_date = random_dates(rng, n, "2018-01-01", 6 * 365)
    years_since_2018 = (pd.to_datetime(sale_date) - pd.Timestamp("2018-01-01")).days.to_numpy() / 365.0

    age = 2024 - year_built
    age_effect = np.where(age < 15, 1.12, np.where(age > 90, 1.05, 1.0 - 0.0015 * age))  # new and historic houses sell high
    price = (
        2100
        * living_area**0.95
        * (lot_area / 400) ** 0.12
        * np.array([nb_effect[x] for x in neighborhood])
        * cond_effect
        * age_effect
        * (1 + 0.04 * garage_cars)
        * (1 + 0.035 * years_since_2018)
        * rng.lognormal(0, 0.09, size=n)
    )
    price = np.round(price, -2).astype(int)

    df = pd.DataFrame(
        {
            "id": np.arange(1001, 1001 + n),
            "neighborhood": neighborhood,
            "living_area_m2": living_area,
            "lot_area_m2": lot_area,
            "bedrooms": bedrooms,
            "bathrooms": bathrooms,
            "year_built": year_built,
            "condition": condition,
            "has_garage": np.where(has_garage, "True", "False"),
            "garage_cars": garage_cars,
            "sale_date": sale_date,
            "price": price,
        }
    )
    df["lot_area_m2"] = df["lot_area_m2"].astype(object).where(rng.uniform(size=n) > 0.05, "")
    df["condition"] = df["condition"].where(rng.uniform(size=n) > 0.03, "")

    train, test = split(df, n_train)
    base = os.path.join(out, "house-prices")
    write_csv(train, os.path.join(base, "input", "train.csv"))
    write_csv(test.drop(columns=["price"]), os.path.join(base, "input", "test.csv"))
    mean_price = int(round(train["price"].mean(), -2))
    write_csv(pd.DataFrame({"id": test["id"], "price": mean_price}), os.path.join(base, "input", "sample_submission.csv"))
    write_csv(test[["id", "price"]], os.path.join(base, "answers.csv"))
    write_text(
        """
# House prices

Predict the sale price (`price`, in dollars) of each house in `test.csv`.

- Training data: `train.csv` (one row per sold house, the target column is `price`).
- Metric: RMSE (root mean squared error) between predicted and true prices. Lower is better.
- Submission: a CSV with the columns `id,price`, one row per row of `test.csv` in the same order.
  See `sample_submission.csv`.

Areas are in square metres; some lot areas and conditions are missing.
""",
        os.path.join(base, "task.md"),
    )


# ---------------------------------------------------------------------------------------------------------
def plant_species(out: str) -> None:
    rng = np.random.default_rng(20240503)
    n, n_train = 1200, 800
    species = ["aster", "bellflower", "clover", "daisy", "foxglove"]
    # Per species: leaf length, leaf width, petal length, stem height (cm) means.
    means = {
        "aster": (6.0, 2.0, 1.5, 40.0),
        "bellflower": (5.0, 2.6, 3.0, 55.0),
        "clover": (2.0, 1.8, 0.6, 15.0),
        "daisy": (4.5, 1.4, 1.9, 35.0),
        "foxglove": (14.0, 5.0, 4.5, 110.0),
    }
    colors = {
        "aster": (["purple", "blue", "white"], [0.6, 0.25, 0.15]),
        "bellflower": (["blue", "purple", "white"], [0.6, 0.3, 0.1]),
        "clover": (["white", "pink", "purple"], [0.5, 0.35, 0.15]),
        "daisy": (["white", "yellow", "pink"], [0.7, 0.2, 0.1]),
        "foxglove": (["pink", "purple", "white"], [0.5, 0.35, 0.15]),
    }
    label = rng.choice(species, size=n, p=[0.24, 0.2, 0.22, 0.22, 0.12])
    rows = []
    for s in label:
        ll, lw, pl, sh = means[s]
        names, probs = colors[s]
        rows.append(
            (
                round(max(0.3, float(rng.normal(ll, ll * 0.3))), 2),
                round(max(0.2, float(rng.normal(lw, lw * 0.3))), 2),
                round(max(0.1, float(rng.normal(pl, pl * 0.3))), 2),
                round(max(3.0, float(rng.normal(sh, sh * 0.35))), 1),
                int(rng.poisson(5 if s != "clover" else 3)),
                str(rng.choice(names, p=probs)),
                str(rng.choice(["meadow", "forest edge", "roadside", "garden"])),
            )
        )
    df = pd.DataFrame(
        rows,
        columns=["leaf_length_cm", "leaf_width_cm", "petal_length_cm", "stem_height_cm", "petal_count", "flower_color", "habitat"],
    )
    df.insert(0, "plant_id", [f"P{i:05d}" for i in range(1, n + 1)])
    df["species"] = label
    df["stem_height_cm"] = df["stem_height_cm"].astype(object).where(rng.uniform(size=n) > 0.04, "")

    train, test = split(df, n_train)
    base = os.path.join(out, "plant-species")
    write_csv(train, os.path.join(base, "input", "train.csv"))
    write_csv(test.drop(columns=["species"]), os.path.join(base, "input", "test.csv"))
    write_csv(pd.DataFrame({"plant_id": test["plant_id"], "species": "aster"}), os.path.join(base, "input", "sample_submission.csv"))
    write_csv(test[["plant_id", "species"]], os.path.join(base, "answers.csv"))
    write_text(
        """
# Plant species

Classify each plant in `test.csv` into one of five species: aster, bellflower, clover, daisy or foxglove.

- Training data: `train.csv` (one row per plant, the target column is `species`, a string label).
- Metric: accuracy (share of plants whose species is predicted exactly). Higher is better.
- Submission: a CSV with the columns `plant_id,species`, one row per row of `test.csv` in the same order,
  where `species` is one of the five names. See `sample_submission.csv`.
""",
        os.path.join(base, "task.md"),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_out = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")
    parser.add_argument("--out", default=default_out, help="directory to write the tasks into (default: examples/)")
    args = parser.parse_args()
    loan_default(args.out)
    house_prices(args.out)
    plant_species(args.out)
    for root, _dirs, files in sorted(os.walk(args.out)):
        for f in sorted(files):
            if f.endswith(".csv"):
                p = os.path.join(root, f)
                print(f"{os.path.relpath(p, args.out)}: {os.path.getsize(p) / 1024:.1f} KB")


if __name__ == "__main__":
    main()
