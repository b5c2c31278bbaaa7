"""Step 1: check the input data before anything is trained on it.

Usage: python validate.py --date YYYY-MM-DD [--min-rows N]

The data is scikit-learn's bundled handwritten-digits set (8x8 images,
pixel values 0..16, labels 0..9), so no network access is needed. It has no
date partitions; ``--date`` names the partition this run is for and is
passed through to the XCom.

Checks, all of which must hold:
  * features form a 2-D array with 64 columns, one label per row;
  * the labels are exactly the classes 0..9;
  * no NaN and no infinite values;
  * every pixel lies in 0..16;
  * there are at least ``--min-rows`` rows (default 1000; the set has 1797,
    so ``--min-rows 100000`` makes the step fail on purpose).

XCom: {"valid": true, "rows", "features", "classes", "nan_count", "date"}.
When a check fails, every failed check is named on one stderr line and the
step exits with 1 without writing an XCom.
"""

from __future__ import annotations

import argparse

import numpy as np

import common

STEP = "validate"
EXPECTED_FEATURES = 64
EXPECTED_CLASSES = list(range(10))
PIXEL_MIN, PIXEL_MAX = 0.0, 16.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Validate the digits data set.")
    parser.add_argument("--date", required=True, type=common.iso_date, help="partition date, YYYY-MM-DD")
    common.add_data_uri_argument(parser)
    parser.add_argument(
        "--min-rows", type=common.non_negative_int, default=1000, help="fewest rows accepted (default 1000)"
    )
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    log(f"loading {args.data_uri or 'the bundled digits'} for partition {args.date}")
    X, y = common.load_dataset(args.data_uri)

    problems: list[str] = []
    if X.ndim != 2 or X.shape[1] != EXPECTED_FEATURES:
        problems.append(f"expected shape (n, {EXPECTED_FEATURES}), got {X.shape}")
    rows = int(X.shape[0])
    features = int(X.shape[1]) if X.ndim == 2 else 0
    if y.shape != (rows,):
        problems.append(f"expected {rows} labels, got shape {y.shape}")

    labels = sorted(int(v) for v in np.unique(y))
    if labels != EXPECTED_CLASSES:
        problems.append(f"labels must be exactly 0..9, got {labels}")

    nan_count = int(np.isnan(X).sum())
    inf_count = int(np.isinf(X).sum())
    if nan_count:
        problems.append(f"{nan_count} NaN values")
    if inf_count:
        problems.append(f"{inf_count} infinite values")

    finite = X[np.isfinite(X)]
    low = float(finite.min()) if finite.size else float("nan")
    high = float(finite.max()) if finite.size else float("nan")
    if finite.size and (low < PIXEL_MIN or high > PIXEL_MAX):
        problems.append(f"pixel values must lie in {PIXEL_MIN:g}..{PIXEL_MAX:g}, found {low:g}..{high:g}")

    if rows < args.min_rows:
        problems.append(f"only {rows} rows, fewer than --min-rows {args.min_rows}")

    if problems:
        raise common.StepError("data failed validation: " + "; ".join(problems))

    counts = np.bincount(y.astype(int), minlength=len(EXPECTED_CLASSES))
    log(f"{rows} rows, {features} features, {len(labels)} classes")
    log(f"pixel range {low:g}..{high:g}, nan_count {nan_count}, rows per class {counts.min()}..{counts.max()}")

    where = common.write_xcom(
        {
            "valid": True,
            "rows": rows,
            "features": features,
            "classes": len(labels),
            "nan_count": nan_count,
            "date": args.date,
        }
    )
    log(f"ok; xcom written to {where}")


def log(message: str) -> None:
    common.log(STEP, message)


if __name__ == "__main__":
    common.run_step(STEP, main)
