"""Step 4: score a trained model on the held-out test split and decide whether to deploy it.

Usage:
    python evaluate.py --model-path URI [--threshold 0.9] [--min-improvement 0.0]
                       [--serving-dir DIR] [--model-name production-model] [--run-dir DIR]

Loads the model written by train.py (a scaler + MLP pipeline taking raw
pixels) from its URI (train's XCom "model_path": s3://, file:// or a plain
path) and <run_dir>/data/test.npz, and computes accuracy and macro F1 on
the test rows, which neither training nor validation has seen.

The baseline is the accuracy recorded in <serving_dir>/<model_name>/current.json
(written by deploy.py), or 0.0 when nothing is deployed yet or the deployed
version has no recorded accuracy. ``--serving-dir`` defaults to
$TRAINYARD_SERVING_DIR, else <run_dir>/../../serving.

Decision rule (accuracies rounded to 6 decimals first):

    improvement   = accuracy - baseline_accuracy
    should_deploy = accuracy >= threshold and improvement >= min_improvement

The improvement comparison is inclusive, so with the default --min-improvement
0.0 a first model deploys, and so does a model exactly as good as the current
one (deploy.py then notices an identical file and does nothing). Pass a small
positive --min-improvement, e.g. 0.001, to require a strict gain.

XCom: {"accuracy", "f1_score", "baseline_accuracy", "improvement",
"should_deploy", "model_path", "threshold", plus "min_improvement",
"model_name", "baseline_version", "test_rows", "reason"}.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import common

STEP = "evaluate"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Evaluate a trained model on the test split.")
    parser.add_argument("--model-path", required=True, help="URI (s3://, file://) or path of the model train.py wrote")
    parser.add_argument(
        "--threshold", type=common.finite_float, default=0.9, help="lowest test accuracy that may deploy (default 0.9)"
    )
    parser.add_argument(
        "--min-improvement",
        type=common.finite_float,
        default=0.0,
        help="least gain over the deployed model's accuracy (inclusive, default 0.0)",
    )
    parser.add_argument(
        "--serving-dir", default=None, help="serving area (default $TRAINYARD_SERVING_DIR, else <run_dir>/../../serving)"
    )
    parser.add_argument("--model-name", default="production-model", help="served model name (default production-model)")
    common.add_run_dir_argument(parser)
    return parser.parse_args()


def read_baseline(serving_dir: Path, model_name: str) -> tuple[float, int | None]:
    """(accuracy, version) of the deployed model, or (0.0, None) when there is none."""
    current = serving_dir / model_name / "current.json"
    if not current.exists():
        log(f"no deployed '{model_name}' in {serving_dir}; baseline accuracy 0.0")
        return 0.0, None
    record = common.read_json(current, "current deployment record")
    if not isinstance(record, dict):
        raise common.StepError(f"{current} should hold a JSON object, got {type(record).__name__}")
    version = record.get("version")
    accuracy = record.get("accuracy")
    if accuracy is None:
        log(f"deployed '{model_name}' v{version} has no recorded accuracy; baseline 0.0")
        return 0.0, version
    if isinstance(accuracy, bool) or not isinstance(accuracy, (int, float)):
        raise common.StepError(f"{current} has a non-numeric accuracy: {accuracy!r}")
    log(f"deployed '{model_name}' v{version} has accuracy {accuracy:.4f}")
    return float(accuracy), version


def main() -> None:
    args = parse_args()
    run_dir = common.resolve_run_dir(args.run_dir)
    serving_dir = common.resolve_serving_dir(args.serving_dir, args.run_dir)
    model_uri = args.model_path
    test = common.load_split(run_dir, "test")

    import joblib
    from sklearn.metrics import accuracy_score, f1_score

    with common.local_copy(model_uri) as model_file:
        try:
            model = joblib.load(model_file)
        except Exception as err:  # noqa: BLE001 - any unpickling problem is a bad model file
            raise common.StepError(f"cannot load model {model_uri}: {type(err).__name__}: {err}") from None
    if not hasattr(model, "predict"):
        raise common.StepError(f"{model_uri} holds a {type(model).__name__}, not a model with predict()")

    predicted = model.predict(test["X_raw"])
    accuracy = round(float(accuracy_score(test["y"], predicted)), 6)
    f1 = round(float(f1_score(test["y"], predicted, average="macro")), 6)
    log(f"{model_file.name}: test accuracy {accuracy:.4f}, macro F1 {f1:.4f} on {len(test['y'])} rows")

    baseline, baseline_version = read_baseline(serving_dir, args.model_name)
    improvement = round(accuracy - baseline, 6)
    passes_threshold = accuracy >= args.threshold
    improves = improvement >= args.min_improvement
    should_deploy = passes_threshold and improves

    if should_deploy:
        reason = f"accuracy {accuracy:.4f} >= threshold {args.threshold:g} and improvement {improvement:+.4f} >= {args.min_improvement:g}"
    elif not passes_threshold:
        reason = f"accuracy {accuracy:.4f} is below threshold {args.threshold:g}"
    else:
        reason = f"improvement {improvement:+.4f} over baseline {baseline:.4f} is below {args.min_improvement:g}"
    log(f"should_deploy {str(should_deploy).lower()}: {reason}")

    common.write_xcom(
        {
            "accuracy": accuracy,
            "f1_score": f1,
            "baseline_accuracy": baseline,
            "baseline_version": baseline_version,
            "improvement": improvement,
            "should_deploy": should_deploy,
            "model_path": model_uri,
            "model_name": args.model_name,
            "threshold": args.threshold,
            "min_improvement": args.min_improvement,
            "test_rows": len(test["y"]),
            "reason": reason,
        }
    )


def log(message: str) -> None:
    common.log(STEP, message)


if __name__ == "__main__":
    common.run_step(STEP, main)
