def make_model(task, n_rows, calibrated, n_classes):
    """The estimator: gradient_boosting. `calibrated` asks for predict_proba where the model has a choice."""
    from sklearn.ensemble import GradientBoostingClassifier, GradientBoostingRegressor
    kwargs = dict(
        n_estimators={{n_estimators}},
        learning_rate={{learning_rate}},
        max_depth={{max_depth}},
        subsample={{subsample}},
        min_samples_leaf={{min_samples_leaf}},
        random_state=SEED,
    )
    if task == "regression":
        return GradientBoostingRegressor(**kwargs)
    if n_classes > 2:
        # One tree per class per round: stop early on a 10% holdout to keep multiclass runs short.
        kwargs.update(n_iter_no_change=15, validation_fraction=0.1)
    return GradientBoostingClassifier(**kwargs)
