def make_model(task, n_rows, calibrated, n_classes):
    """The estimator: svm. `calibrated` asks for predict_proba where the model has a choice."""
    from sklearn.svm import SVC, SVR
    if task == "regression":
        # The target is standardised before fitting (see TargetTransform), so epsilon is in standard units.
        return SVR(C={{C}}, epsilon={{epsilon}}, gamma="scale", cache_size=500)
    return SVC(C={{C}}, gamma="scale", probability=calibrated, random_state=SEED, cache_size=500)
