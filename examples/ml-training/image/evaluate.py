"""Step 4: score a model on the held-out test split and record the result with the model.

Usage:
    python evaluate.py --model-uri models:/NAME/VERSION|models:/NAME@ALIAS [--run-dir DIR]
    python evaluate.py --model-path URI [--run-dir DIR]

``--model-uri`` names a version in the MLflow model registry, directly or
through an alias, and needs $MLFLOW_TRACKING_URI. The alias is resolved once,
with MlflowClient, and from then on the step works with the version it named,
so an alias that moves meanwhile changes nothing. The version's MLflow model
is loaded with mlflow.sklearn.load_model (a scikit-learn model pickled with
pickle or cloudpickle, as train.py logs it). ``--model-path`` reads a joblib file
instead (train's XCom "model_path": s3://, file:// or a plain path), for runs
without MLflow.

Either way the model is a scaler + MLP pipeline taking raw pixels, and it is
scored on <run_dir>/data/test.npz, rows that neither training nor validation
has seen: accuracy and macro F1, rounded to 6 decimals.

With MLflow the scores are logged as metrics ``test_accuracy`` and
``test_f1`` (step 0) twice: into this step's own run ($MLFLOW_RUN_ID, the
run Trainyard made for this try; without it, a run the step starts itself),
and into the run that trained the version (the version's run_id), linked
there to the logged model. So every version's training run carries its test
score, and comparing two versions (Trainyard's compareBaseline step, which
decides whether to promote) reads one metric from each version's run. A
retry logs the same values again; the latest value is what MLflow reports.
With --model-path and $MLFLOW_TRACKING_URI set, the scores go into the
step's own run only.

This step decides nothing: it neither reads a baseline nor says whether to
deploy.

XCom with --model-uri: {"accuracy", "f1_score" (macro), "test_rows",
"model_uri" (models:/NAME/VERSION, the version actually scored), "model_name",
"version" (a number), "source_run_id" (the run the scores were also logged
to), "mlflow_run_id" (this step's run)}. With --model-path: {"accuracy",
"f1_score", "test_rows", "model_path"}, plus "mlflow_run_id" when tracked.
"""

from __future__ import annotations

import argparse

import common

STEP = "evaluate"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Evaluate a trained model on the test split.")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--model-uri",
        type=common.model_uri_arg,
        help="registered version to score: models:/NAME/VERSION or models:/NAME@ALIAS (needs MLFLOW_TRACKING_URI)",
    )
    source.add_argument("--model-path", help="URI (s3://, file://) or path of a joblib model train.py wrote")
    common.add_run_dir_argument(parser)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.model_uri is not None and not common.tracking_configured():
        raise common.StepError(
            f"--model-uri {args.model_uri} needs the MLflow registry: set MLFLOW_TRACKING_URI "
            "(or pass --model-path for a joblib file)"
        )
    run_dir = common.resolve_run_dir(args.run_dir)
    test = common.load_split(run_dir, "test")
    with common.tracked_run() as run:
        if args.model_uri is not None:
            result = evaluate_version(run, args.model_uri, test)  # tracked: --model-uri needs MLflow, checked above
        else:
            result = score(load_joblib(args.model_path), args.model_path, test)
            result["model_path"] = args.model_path
            if run is not None:
                run.log(metrics={"test_accuracy": result["accuracy"], "test_f1": result["f1_score"]})
                result["mlflow_run_id"] = run.run_id
        common.write_xcom(result)


def evaluate_version(run: common.TrackedRun, uri: str, test: dict) -> dict[str, object]:
    """Score the registered version ``uri`` names; log the scores to this run and to the version's run."""
    version = common.resolve_model_version(run.client, uri, "--model-uri")
    if version.run_id is None:
        raise common.StepError(
            f"{version.uri} has no source run, so its test score would have nowhere to go; "
            "register versions with the run_id and model_id of the run that trained them"
        )
    named = f" (alias {version.alias})" if version.alias else ""
    log(f"scoring {version.uri}{named}, trained in run {version.run_id}")
    loaded = common.load_registered_model(version)
    result = score(loaded.model, version.uri, test)
    scores = {"test_accuracy": result["accuracy"], "test_f1": result["f1_score"]}
    run.log(params={"model_uri": version.uri}, metrics=scores)
    run.log(metrics=scores, model_id=loaded.model_id, run_id=version.run_id)
    log(f"test scores logged to this run, {run.run_id}, and to the version's run, {version.run_id}")
    result.update(
        model_uri=version.uri,
        model_name=version.name,
        version=version.version,
        source_run_id=version.run_id,
        mlflow_run_id=run.run_id,
    )
    return result


def score(model, label: str, test: dict) -> dict[str, object]:
    """Accuracy and macro F1 of ``model`` on the test rows, rounded to 6 decimals."""
    from sklearn.metrics import accuracy_score, f1_score

    predicted = model.predict(test["X_raw"])
    accuracy = round(float(accuracy_score(test["y"], predicted)), 6)
    f1 = round(float(f1_score(test["y"], predicted, average="macro")), 6)
    log(f"{label}: test accuracy {accuracy:.4f}, macro F1 {f1:.4f} on {len(test['y'])} rows")
    return {"accuracy": accuracy, "f1_score": f1, "test_rows": len(test["y"])}


def load_joblib(uri: str):
    import joblib

    with common.local_copy(uri) as model_file:
        try:
            model = joblib.load(model_file)
        except Exception as err:  # noqa: BLE001 - any unpickling problem is a bad model file
            raise common.StepError(f"cannot load model {uri}: {type(err).__name__}: {err}") from None
    if not hasattr(model, "predict"):
        raise common.StepError(f"{uri} holds a {type(model).__name__}, not a model with predict()")
    return model


def log(message: str) -> None:
    common.log(STEP, message)


if __name__ == "__main__":
    common.run_step(STEP, main)
