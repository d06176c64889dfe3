def make_model(task, n_rows, calibrated, n_classes):
    """The estimator: {{model}}. `calibrated` asks for predict_proba where the model has a choice."""
    from sklearn.ensemble import {{forest}}Classifier, {{forest}}Regressor
    kwargs = dict(
        n_estimators={{n_estimators}},
        max_depth={{max_depth}},
        min_samples_leaf={{min_samples_leaf}},
        max_features={{max_features}},
        n_jobs=N_JOBS,
        random_state=SEED,
    )
    if task == "regression":
        return {{forest}}Regressor(**kwargs)
    return {{forest}}Classifier(**kwargs)
