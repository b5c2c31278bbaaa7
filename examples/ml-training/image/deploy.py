"""Step 5: publish a model as the next version of a served model.

Usage:
    python deploy.py --model-path URI --model-name NAME [--serving-dir DIR]
                     [--accuracy FLOAT] [--run-dir DIR]

The model is read from its URI (s3://, file:// or a plain path: the
"model_path" of train's or evaluate's XCom). Layout of the serving area (``--serving-dir``, else $TRAINYARD_SERVING_DIR,
else <run_dir>/../../serving):

    <serving_dir>/<name>/v<N>/model.joblib    copy of the deployed model
    <serving_dir>/<name>/v<N>/metadata.json   source URI and sha256, accuracy, time, run id
    <serving_dir>/<name>/current.json         {"version", "path", "accuracy", "sha256", ...}

N is one more than the highest existing version. The model is copied under a
temporary name and renamed, metadata.json is written, and only then is
current.json replaced (write to a temporary file + os.replace), so a reader
of current.json always finds a complete version. Deploys of the same name are
serialised with a lock file (<serving_dir>/<name>/.deploy.lock).

Safe to retry:
  * when the sha256 of the model file equals that of the current version's
    file, nothing changes and the XCom says ``"already_current": true``;
  * when an earlier attempt copied the model and wrote its metadata but died
    before switching current.json, that newest version is promoted instead of
    a duplicate being made.

``--accuracy`` (normally evaluate's test accuracy) is recorded in metadata.json
and current.json, where the next evaluate.py reads it as its baseline; without
it the accuracy is recorded as null (baseline 0.0).

XCom: {"version", "path", "deployed": true, "already_current", plus
"model_name", "sha256", "accuracy"}.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import fcntl
import os
import re
import shutil
from pathlib import Path
from typing import Any, Iterator

import common

STEP = "deploy"
VERSION_DIR = re.compile(r"^v([0-9]+)$")
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def model_name_arg(text: str) -> str:
    if not SAFE_NAME.match(text) or ".." in text:
        raise argparse.ArgumentTypeError(
            f"model name {text!r} must start with a letter or digit and use only letters, digits, '_', '.' and '-'"
        )
    return text


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Deploy a model into the serving area.")
    parser.add_argument("--model-path", required=True, help="URI (s3://, file://) or path of the model to deploy")
    parser.add_argument("--model-name", required=True, type=model_name_arg, help="served model name")
    parser.add_argument(
        "--serving-dir", default=None, help="serving area (default $TRAINYARD_SERVING_DIR, else <run_dir>/../../serving)"
    )
    parser.add_argument("--accuracy", type=common.finite_float, default=None, help="accuracy to record with the version")
    common.add_run_dir_argument(parser)
    return parser.parse_args()


@contextlib.contextmanager
def deploy_lock(model_dir: Path) -> Iterator[None]:
    with open(model_dir / ".deploy.lock", "a+") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def existing_versions(model_dir: Path) -> list[int]:
    found = []
    for entry in model_dir.iterdir():
        match = VERSION_DIR.match(entry.name)
        if match and entry.is_dir():
            found.append(int(match.group(1)))
    return sorted(found)


def read_current(model_dir: Path) -> dict[str, Any] | None:
    path = model_dir / "current.json"
    if not path.exists():
        return None
    record = common.read_json(path, "current deployment record")
    if not isinstance(record, dict) or not isinstance(record.get("version"), int):
        raise common.StepError(f"{path} is not a deployment record (needs an integer 'version'); fix or remove it")
    return record


def read_metadata(version_dir: Path) -> dict[str, Any] | None:
    """metadata.json of a complete version (model file present), else None."""
    meta = version_dir / "metadata.json"
    if not meta.is_file() or not (version_dir / "model.joblib").is_file():
        return None
    record = common.read_json(meta, "version metadata")
    return record if isinstance(record, dict) else None


def main() -> None:
    args = parse_args()
    serving_dir = common.resolve_serving_dir(args.serving_dir, args.run_dir)
    with common.local_copy(args.model_path) as source:
        deploy(args, serving_dir, source)


def deploy(args: argparse.Namespace, serving_dir: Path, source: Path) -> None:
    """Publish the model file ``source`` (a local copy of --model-path) as the next version."""
    model_dir = serving_dir / args.model_name
    try:
        model_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise common.StepError(f"cannot create {model_dir}: {err.strerror or err}") from None

    digest = common.sha256_of(source)
    log(f"deploying {source.name} (sha256 {digest[:12]}) as '{args.model_name}' in {serving_dir}")

    with deploy_lock(model_dir):
        current = read_current(model_dir)
        if current is not None:
            current_file = Path(str(current.get("path", "")))
            if current_file.is_file() and common.sha256_of(current_file) == digest:
                log(f"v{current['version']} already serves this model; nothing to do")
                common.write_xcom(
                    {
                        "version": current["version"],
                        "path": str(current_file),
                        "deployed": True,
                        "already_current": True,
                        "model_name": args.model_name,
                        "sha256": digest,
                        "accuracy": current.get("accuracy"),
                    }
                )
                return

        versions = existing_versions(model_dir)
        newest = versions[-1] if versions else None
        newest_meta = read_metadata(model_dir / f"v{newest}") if newest is not None else None
        current_version = current["version"] if current is not None else 0
        resumed = (
            newest_meta is not None
            and newest > current_version
            and newest_meta.get("source_sha256") == digest
            and common.sha256_of(model_dir / f"v{newest}" / "model.joblib") == digest
        )

        if resumed:
            version = newest
            version_dir = model_dir / f"v{version}"
            metadata = newest_meta
            log(f"v{version} holds this model from an earlier attempt; promoting it")
        else:
            version = (newest or 0) + 1
            version_dir = model_dir / f"v{version}"
            version_dir.mkdir()  # fails loudly if it appeared meanwhile; the lock makes that unexpected
            target = version_dir / "model.joblib"
            common.atomic_write_with(target, lambda tmp: shutil.copyfile(source, tmp))
            if common.sha256_of(target) != digest:
                raise common.StepError(f"copy of {args.model_path} to {target} does not match its sha256")
            metadata = {
                "model_name": args.model_name,
                "version": version,
                "source_path": args.model_path,
                "source_sha256": digest,
                "accuracy": args.accuracy,
                "deployed_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                "run_id": common.run_id(),
                "step_attempt": os.environ.get("TRAINYARD_ATTEMPT"),
            }
            common.atomic_write_json(version_dir / "metadata.json", metadata)
            log(f"copied model to {target}")

        model_file = version_dir / "model.joblib"
        accuracy = args.accuracy if args.accuracy is not None else metadata.get("accuracy")
        common.atomic_write_json(
            model_dir / "current.json",
            {
                "version": version,
                "path": str(model_file),
                "accuracy": accuracy,
                "sha256": digest,
                "deployed_at": metadata.get("deployed_at"),
                "run_id": metadata.get("run_id"),
            },
        )
        previous = f"v{current['version']}" if current is not None else "nothing"
        log(f"current.json now points at v{version} (was {previous})")

    common.write_xcom(
        {
            "version": version,
            "path": str(model_file),
            "deployed": True,
            "already_current": False,
            "model_name": args.model_name,
            "sha256": digest,
            "accuracy": accuracy,
        }
    )


def log(message: str) -> None:
    common.log(STEP, message)


if __name__ == "__main__":
    common.run_step(STEP, main)
