"""Step 2: split the data and standardise it.

Usage: python preprocess.py --date YYYY-MM-DD [--test-size 0.25] [--seed 42] [--run-dir DIR]

Splits the digits set into train and test parts, stratified by label so each
part keeps the class balance, and fits a StandardScaler on the training part
only (the test part never leaks into the scaling statistics).

Files, under <run_dir>/data/ (each written to a temporary name, then renamed):
  train.npz       X (standardised), X_raw (pixels 0..16), y
  test.npz        the same arrays for the held-out test part
  scaler.joblib   the fitted StandardScaler
  manifest.json   date, seed, test size and row counts, for people reading the run

X_raw is kept so that evaluate.py can score the deployable model, which
bundles the scaler and therefore takes raw pixels.

XCom: {"train_rows", "test_rows", "data_dir"}.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import common

STEP = "preprocess"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Split and standardise the digits data set.")
    parser.add_argument("--date", required=True, type=common.iso_date, help="partition date, YYYY-MM-DD")
    common.add_data_uri_argument(parser)
    parser.add_argument(
        "--test-size", type=common.fraction, default=0.25, help="share of rows held out for testing (default 0.25)"
    )
    parser.add_argument("--seed", type=common.non_negative_int, default=42, help="random seed (default 42)")
    common.add_run_dir_argument(parser)
    return parser.parse_args()


def save_npz(path: Path, **arrays: np.ndarray) -> None:
    common.atomic_write_with(path, lambda tmp: np.savez(tmp, **arrays))


def main() -> None:
    args = parse_args()
    run_dir = common.resolve_run_dir(args.run_dir)
    out = common.data_dir(run_dir)
    out.mkdir(parents=True, exist_ok=True)
    common.seed_everything(args.seed)

    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    X, y = common.load_dataset(args.data_uri)
    y = y.astype(np.int64)
    log(f"partition {args.date}: {len(y)} rows; test size {args.test_size:g}, seed {args.seed}")

    try:
        X_train_raw, X_test_raw, y_train, y_test = train_test_split(
            X, y, test_size=args.test_size, stratify=y, random_state=args.seed
        )
    except ValueError as err:
        raise common.StepError(f"cannot split with --test-size {args.test_size:g}: {err}") from None

    scaler = StandardScaler().fit(X_train_raw)
    X_train = scaler.transform(X_train_raw)
    X_test = scaler.transform(X_test_raw)

    save_npz(out / "train.npz", X=X_train, X_raw=X_train_raw, y=y_train)
    save_npz(out / "test.npz", X=X_test, X_raw=X_test_raw, y=y_test)
    common.save_joblib(out / "scaler.joblib", scaler)
    common.atomic_write_json(
        out / "manifest.json",
        {
            "date": args.date,
            "seed": args.seed,
            "test_size": args.test_size,
            "train_rows": len(y_train),
            "test_rows": len(y_test),
            "features": X.shape[1],
            "run_id": common.run_id(),
        },
    )
    log(f"train {len(y_train)} rows, test {len(y_test)} rows, stratified over {len(np.unique(y))} classes")
    log(f"scaler fitted on train only; wrote train.npz, test.npz, scaler.joblib to {out}")

    common.write_xcom({"train_rows": len(y_train), "test_rows": len(y_test), "data_dir": str(out)})


def log(message: str) -> None:
    common.log(STEP, message)


if __name__ == "__main__":
    common.run_step(STEP, main)
