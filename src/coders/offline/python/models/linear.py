def make_model(task, n_rows, calibrated, n_classes):
    """The estimator: linear. `calibrated` asks for predict_proba where the model has a choice."""
    if task == "regression":
        from sklearn.linear_model import Ridge
        return Ridge(alpha={{alpha}})
    from sklearn.linear_model import LogisticRegression
    return LogisticRegression(C={{C}}, max_iter=5000)
