"""Step 5: install a model in the serving area as the version it should be served as.

Usage:
    python deploy.py --model-uri models:/NAME@ALIAS|models:/NAME/VERSION [--model-name NAME]
                     [--serving-dir DIR] [--accuracy FLOAT] [--run-dir DIR]
    python deploy.py --model-path URI --model-name NAME [--serving-dir DIR]
                     [--accuracy FLOAT] [--run-dir DIR]

``--model-uri`` (with $MLFLOW_TRACKING_URI) takes the model from the MLflow
registry, normally through the alias a promotion sets, e.g.
``models:/production-model@champion``. The alias is resolved to its version
once, with MlflowClient, and that version is what gets installed, even if the
alias moves meanwhile: loaded with mlflow.sklearn.load_model and written out as
joblib. The served name is the registered model's name unless
``--model-name`` gives another. An alias that does not exist yet fails the
step with a message saying that nothing has been promoted.

``--model-path`` (for runs without MLflow) reads a joblib file from its URI
(s3://, file:// or a plain path: train's XCom "model_path") and needs
``--model-name``.

Layout of the serving area (``--serving-dir``, else $TRAINYARD_SERVING_DIR,
else <run_dir>/../../serving):

    <serving_dir>/<name>/v<N>/model.joblib    the model, a joblib file either way
    <serving_dir>/<name>/v<N>/metadata.json   where it came from, sha256, accuracy, time, run id
    <serving_dir>/<name>/current.json         {"version", "path", "accuracy", "sha256", ...}

A registry deploy installs version V as v<V>, so the served version is the
registry's; moving the alias back to an older version that was served before
switches current.json back to its folder without downloading anything. A
--model-path deploy takes the next free N. The two kinds should not share a
served name: a folder already holding another model is an error, not
overwritten. The model is written under a temporary name and renamed,
metadata.json is written, and only then is current.json replaced (write to a
temporary file + os.replace), so a reader of current.json always finds a
complete version. Deploys of the same name are serialised with a lock file
(<serving_dir>/<name>/.deploy.lock).

Safe to retry:
  * when the version is already current (registry: same models:/NAME/VERSION;
    file: same sha256 as the current version's file), nothing changes and the
    XCom says ``"already_current": true``;
  * when an earlier attempt finished a version's folder but died before
    switching current.json, that folder is promoted instead of being made again;
    a registry version's folder left unfinished is made again.

``--accuracy`` (evaluate's test accuracy) is recorded in metadata.json and
current.json; without it the accuracy is recorded as null. This step logs
nothing to MLflow.

XCom: {"version", "path", "deployed": true, "already_current", "model_name"
(the served name), "sha256", "accuracy"}; a registry deploy adds
"model_uri" (models:/NAME/VERSION), "registered_model" (NAME), "alias" (null
for a version URI) and "source_run_id" (the MLflow run that trained it), and
its "version" is the registry version.
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
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--model-uri",
        type=common.model_uri_arg,
        help="registered version to serve: models:/NAME@ALIAS or models:/NAME/VERSION (needs MLFLOW_TRACKING_URI)",
    )
    source.add_argument("--model-path", help="URI (s3://, file://) or path of a joblib model to deploy")
    parser.add_argument(
        "--model-name",
        type=model_name_arg,
        help="served model name (required with --model-path; default with --model-uri: the registered name)",
    )
    parser.add_argument(
        "--serving-dir", default=None, help="serving area (default $TRAINYARD_SERVING_DIR, else <run_dir>/../../serving)"
    )
    parser.add_argument("--accuracy", type=common.finite_float, default=None, help="accuracy to record with the version")
    common.add_run_dir_argument(parser)
    args = parser.parse_args()
    if args.model_path is not None and args.model_name is None:
        parser.error("--model-name is required with --model-path")
    return args


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
    if args.model_uri is not None:
        if not common.tracking_configured():
            raise common.StepError(
                f"--model-uri {args.model_uri} needs the MLflow registry: set MLFLOW_TRACKING_URI "
                "(or pass --model-path for a joblib file)"
            )
        version = common.resolve_model_version(common.mlflow_client(), args.model_uri, "--model-uri")
        deploy_version(args, serving_dir, version)
        return
    with common.local_copy(args.model_path) as source:
        deploy_file(args, serving_dir, source)


def served_folder(serving_dir: Path, name: str) -> Path:
    model_dir = serving_dir / name
    try:
        model_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise common.StepError(f"cannot create {model_dir}: {err.strerror or err}") from None
    return model_dir


def deploy_version(args: argparse.Namespace, serving_dir: Path, version: common.RegisteredVersion) -> None:
    """Install the registered ``version`` as v<version> and make it current."""
    name = args.model_name or version.name
    if args.model_name is None:
        try:
            model_name_arg(name)
        except argparse.ArgumentTypeError as err:
            raise common.StepError(f"registered {err}; pass --model-name to serve it under another name") from None
    model_dir = served_folder(serving_dir, name)
    named = f" (alias {version.alias})" if version.alias else ""
    log(f"deploying {version.uri}{named} as '{name}' v{version.version} in {serving_dir}")
    registry = {
        "model_uri": version.uri,
        "registered_model": version.name,
        "alias": version.alias,
        "source_run_id": version.run_id,
    }

    with deploy_lock(model_dir):
        current = read_current(model_dir)
        if current is not None and current.get("model_uri") == version.uri and current["version"] == version.version:
            current_file = Path(str(current.get("path", "")))
            if current_file.is_file() and common.sha256_of(current_file) == current.get("sha256"):
                log(f"v{version.version} already serves {version.uri}; nothing to do")
                common.write_xcom(
                    {
                        "version": version.version,
                        "path": str(current_file),
                        "deployed": True,
                        "already_current": True,
                        "model_name": name,
                        "sha256": current["sha256"],
                        "accuracy": current.get("accuracy"),
                        **registry,
                    }
                )
                return

        version_dir = model_dir / f"v{version.version}"
        model_file = version_dir / "model.joblib"
        metadata = read_metadata(version_dir)
        if metadata is not None and metadata.get("model_uri") != version.uri:
            came_from = metadata.get("model_uri") or metadata.get("source_path") or "unknown"
            raise common.StepError(
                f"{version_dir} holds another model (from {came_from}); registry deploys and --model-path "
                f"deploys cannot share the served name '{name}': use another --model-name or --serving-dir"
            )
        if metadata is not None and common.sha256_of(model_file) == metadata.get("sha256"):
            log(f"v{version.version} already holds {version.uri} from an earlier deploy; switching to it")
        else:
            if version_dir.exists():
                log(f"{version_dir} is unfinished or damaged (an earlier attempt?); making it again")
                shutil.rmtree(version_dir)
            version_dir.mkdir()
            loaded = common.load_registered_model(version)
            common.save_joblib(model_file, loaded.model)
            metadata = {
                "model_name": name,
                "version": version.version,
                **registry,
                "model_id": loaded.model_id,
                "source": version.source,
                "sha256": common.sha256_of(model_file),
                "accuracy": args.accuracy,
                "deployed_at": now_iso(),
                "run_id": common.run_id(),
                "step_attempt": os.environ.get("TRAINYARD_ATTEMPT"),
            }
            common.atomic_write_json(version_dir / "metadata.json", metadata)
            log(f"wrote {model_file}")

        accuracy = args.accuracy if args.accuracy is not None else metadata.get("accuracy")
        make_current(
            model_dir,
            current,
            {
                "version": version.version,
                "path": str(model_file),
                "accuracy": accuracy,
                "sha256": metadata["sha256"],
                "deployed_at": metadata.get("deployed_at"),
                "run_id": metadata.get("run_id"),
                "model_uri": version.uri,
                "alias": version.alias,
            },
        )

    common.write_xcom(
        {
            "version": version.version,
            "path": str(model_file),
            "deployed": True,
            "already_current": False,
            "model_name": name,
            "sha256": metadata["sha256"],
            "accuracy": accuracy,
            **registry,
        }
    )


def make_current(model_dir: Path, current: dict[str, Any] | None, record: dict[str, Any]) -> None:
    """Replace current.json with ``record``: the switch a reader sees, made in one rename."""
    common.atomic_write_json(model_dir / "current.json", record)
    previous = f"v{current['version']}" if current is not None else "nothing"
    log(f"current.json now points at v{record['version']} (was {previous})")


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def deploy_file(args: argparse.Namespace, serving_dir: Path, source: Path) -> None:
    """Publish the model file ``source`` (a local copy of --model-path) as the next version."""
    model_dir = served_folder(serving_dir, args.model_name)

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
                "deployed_at": now_iso(),
                "run_id": common.run_id(),
                "step_attempt": os.environ.get("TRAINYARD_ATTEMPT"),
            }
            common.atomic_write_json(version_dir / "metadata.json", metadata)
            log(f"copied model to {target}")

        model_file = version_dir / "model.joblib"
        accuracy = args.accuracy if args.accuracy is not None else metadata.get("accuracy")
        make_current(
            model_dir,
            current,
            {
                "version": version,
                "path": str(model_file),
                "accuracy": accuracy,
                "sha256": digest,
                "deployed_at": metadata.get("deployed_at"),
                "run_id": metadata.get("run_id"),
            },
        )

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
