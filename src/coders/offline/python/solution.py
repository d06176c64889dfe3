# @@recipe@@
# Plan: {{plan}}
# Written by the offline coder of AIDE in chat: a data-driven scikit-learn pipeline for tabular CSV data.
# Reads ./input, cross-validates on train, prints AIDE_METRIC and writes ./working/submission.csv.

# ---------------------------------------------------------------- configuration (from the recipe)
METRIC = {{metric}}  # the task's metric; None = accuracy for classification, RMSE for regression
TASK_TYPE = {{task_type}}  # None = decided from the target column
WANT_PROBA = {{want_proba}}  # the task asks for probabilities
TIME_BUDGET_SEC = {{time_budget_sec}}
MODEL = {{model}}
IMPUTATION = {{imputation}}
SCALING = {{scaling}}
ENCODING = {{encoding}}
MAX_ONEHOT = {{max_onehot}}
DATES = {{dates}}
MISSING_INDICATORS = {{missing_indicators}}
INTERACTIONS = {{interactions}}
LOG_TARGET = {{log_target}}
CLASS_WEIGHT = {{class_weight}}
FOLDS = {{folds}}
MAX_ROWS = {{max_rows}}
SANITIZE = {{sanitize}}
STRINGS_AS_CATEGORIES = {{strings_as_categories}}
PLAIN_KFOLD = {{plain_kfold}}
POSITIONAL_SUBMISSION = {{positional_submission}}
BROAD_FILE_SEARCH = {{broad_file_search}}
METRIC_FALLBACK = {{metric_fallback}}
SEED = {{seed}}  # the seed of the script's own folds and models, moved by the run's seed
N_JOBS = 2

# @@helpers@@


# ---------------------------------------------------------------- the model
# @@make_model@@


if __name__ == "__main__":
    main()
