"""Writes the day's training data as the upstream system would deliver it.

Usage: python make_data.py --out FILE

The rows are scikit-learn's bundled handwritten-digits set (so nothing is
downloaded): one CSV row per 8x8 image, columns ``p0`` .. ``p63`` with the
pixel values and ``label`` with the digit. The demo uploads this file to
``s3://ml-datasets/daily/<ds>/digits.csv``, where the pipeline's sensor waits
for it and ``validate.py`` / ``preprocess.py`` read it (``--data-uri``).
"""

from __future__ import annotations

import argparse
import csv
import os
import tempfile


def main() -> None:
    parser = argparse.ArgumentParser(description="Write the digits data set as CSV.")
    parser.add_argument("--out", required=True, help="file to write")
    args = parser.parse_args()
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    folder = os.path.dirname(os.path.abspath(args.out))
    os.makedirs(folder, exist_ok=True)
    fd, partial = tempfile.mkstemp(dir=folder, suffix=".partial")
    with os.fdopen(fd, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([f"p{i}" for i in range(X.shape[1])] + ["label"])
        for row, label in zip(X, y):
            writer.writerow([int(v) for v in row] + [int(label)])
    os.replace(partial, args.out)
    print(f"make_data: {len(y)} rows written to {args.out}")


if __name__ == "__main__":
    main()
