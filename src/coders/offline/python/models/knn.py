def make_model(task, n_rows, calibrated, n_classes):
    """The estimator: knn. `calibrated` asks for predict_proba where the model has a choice."""
    from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
    k = max(1, min({{n_neighbors}}, n_rows - 1))
    if task == "regression":
        return KNeighborsRegressor(n_neighbors=k, weights="distance", n_jobs=N_JOBS)
    return KNeighborsClassifier(n_neighbors=k, weights="distance", n_jobs=N_JOBS)
