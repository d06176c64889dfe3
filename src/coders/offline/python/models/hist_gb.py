def make_model(task, n_rows, calibrated, n_classes):
    """The estimator: hist_gb. `calibrated` asks for predict_proba where the model has a choice."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    kwargs = dict(
        learning_rate={{learning_rate}},
        max_iter={{max_iter}},
        max_leaf_nodes={{max_leaf_nodes}},
        min_samples_leaf={{min_samples_leaf}},
        l2_regularization={{l2_regularization}},
        random_state=SEED,
    )
    if task == "regression":
        return HistGradientBoostingRegressor(**kwargs)
    return HistGradientBoostingClassifier(**kwargs)
