"""Writes the small datasets of tests/e2e/offline-scripts.test.ts under the folder given as the argument:
each dataset gets input/{train,test,sample_submission}.csv and answers.csv."""
import numpy as np, pandas as pd, os, sys
root = sys.argv[1]
rng = np.random.RandomState(7)

def save(name, df, target_cols, sample, id_col="id"):
    d = os.path.join(root, name, "input"); os.makedirs(d, exist_ok=True)
    n_train = int(len(df) * 0.7)
    train, test = df.iloc[:n_train], df.iloc[n_train:]
    train.to_csv(os.path.join(d, "train.csv"), index=False)
    test.drop(columns=target_cols).to_csv(os.path.join(d, "test.csv"), index=False)
    sample(test).to_csv(os.path.join(d, "sample_submission.csv"), index=False)
    test[[id_col] + target_cols].to_csv(os.path.join(root, name, "answers.csv"), index=False)

# Binary: categories with gaps, numbers with missing values, a date column; AUC on probabilities.
n = 900
plan = rng.choice(["basic", "plus", "pro"], n)
region = rng.choice(["north", "south", "east", None], n)
tenure = rng.randint(1, 60, n).astype(float)
charges = rng.uniform(20, 120, n)
tickets = rng.poisson(1.0, n).astype(float); tickets[rng.rand(n) < 0.15] = np.nan
signup = pd.Timestamp("2022-01-01") + pd.to_timedelta(rng.randint(0, 700, n), unit="D")
logit = -1.0 - 0.05 * tenure + 0.02 * charges + 0.6 * np.nan_to_num(tickets) + (plan == "basic") * 0.8
churned = (rng.rand(n) < 1 / (1 + np.exp(-logit))).astype(int)
df = pd.DataFrame({"customer_id": rng.permutation(np.arange(1000, 1000 + n)), "plan": plan, "region": region,
                   "tenure": tenure, "charges": charges.round(2), "tickets": tickets,
                   "signup_date": signup.strftime("%Y-%m-%d"), "churned": churned})
save("binary", df, ["churned"], lambda t: pd.DataFrame({"customer_id": t.customer_id, "churned": churned.mean()}), "customer_id")

# Regression.
n = 700
X = rng.uniform(0, 1, (n, 5))
y = 10 * np.sin(np.pi * X[:, 0] * X[:, 1]) + 20 * (X[:, 2] - 0.5) ** 2 + 10 * X[:, 3] + rng.randn(n)
df = pd.DataFrame(X, columns=["a", "b", "c", "d", "e"]); df.insert(0, "id", np.arange(n)); df["y"] = y
save("regression", df, ["y"], lambda t: pd.DataFrame({"id": t.id, "y": y.mean()}))

# Multiclass with string labels.
n = 900
X = rng.randn(n, 4)
size = rng.choice(["S", "M", "L"], n)
score = X[:, 0] + 0.8 * X[:, 1] + (size == "L") * 0.7
label = np.where(score > 0.7, "gold", np.where(score > -0.7, "silver", "bronze"))
df = pd.DataFrame(X, columns=["f1", "f2", "f3", "f4"]); df["size"] = size; df.insert(0, "id", np.arange(n)); df["medal"] = label
save("multiclass", df, ["medal"], lambda t: pd.DataFrame({"id": t.id, "medal": "silver"}))

# Multiclass with one probability column per class in the sample submission.
def probs(t):
    return pd.DataFrame({"id": t.id, "medal_bronze": 1 / 3, "medal_gold": 1 / 3, "medal_silver": 1 / 3})
save("probcols", df, ["medal"], probs)
print("ok")
