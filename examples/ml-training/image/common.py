"""Shared contract for the ml-trainer pipeline steps.

Every script in this folder is one pipeline step. Each is started as
``python <script>.py ARGS`` with this folder as its working directory and
follows the same rules, all of which live here:

XCom
    A step hands its result to later steps by writing exactly one JSON value
    to the file named by ``$TRAINYARD_XCOM_PATH``. When that variable is unset
    the file is ``/airflow/xcom/return.json``, which is where the xcom sidecar
    of a KubernetesPodOperator-style pod looks, so the same code runs both as
    a local process and inside a pod. Parent directories are created, and the
    file is written to a temporary name first and then renamed into place, so
    a reader never sees half a document. A pod hands its XCom back through
    its termination message, which holds at most 4096 bytes, so a larger
    value is refused.

Run directory
    The steps of one run share files through a directory: ``--run-dir`` if
    given, else ``$TRAINYARD_RUN_DIR``, else ``/shared/$TRAINYARD_RUN_ID``.
    It is created when missing.

Artifacts
    What a step hands on beyond its XCom (train.py's model) goes under
    ``$TRAINYARD_ARTIFACTS_URI``, a prefix of the step's own that the
    orchestrator sets (``<base>/<pipeline>/<run>/<step>/``, plus ``<index>/``
    in a mapped step). ``put_artifact`` and ``local_copy`` write and read
    ``s3://bucket/key`` URIs with boto3, which takes its endpoint, region and
    credentials from the standard variables (AWS_ENDPOINT_URL, AWS_REGION,
    AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, ...), and ``file:///path`` URIs
    (or plain paths) on the filesystem. The URI goes into the XCom, and later
    steps read the artifact from it. With MLflow (below) the model goes to
    the tracking server as well, and later steps read it from the registry.

Logging and failure
    Progress goes to stdout, one ``<step>: <message>`` line at a time, flushed
    at once so it streams into the worker log. A problem ends the step with a
    single-line reason on stderr and exit code 1; argparse keeps exit code 2
    for bad arguments.

Intermediate metrics
    A step that learns over several rounds (train.py, once per epoch) reports
    its progress with ``report_metrics``: one stdout line per round,
    ``trainyard.metric {"step": 3, "val_accuracy": 0.91, "loss": 0.42}``,
    that is the fixed prefix followed by a one-line JSON object holding the
    1-based step and finite numbers. The orchestrator picks these lines out of
    the process output or the pod log, for instance to stop trials of a
    hyperparameter search that fall behind the others.

Stopping
    SIGTERM (how the orchestrator cancels a step or prunes a trial) and SIGINT
    stop a step at once, even in the middle of a computation: ``run_step``
    turns them into an exception, so temporary files are removed on the way
    out, no XCom is written unless the step had already written it (train.py
    holds the signals back for the few milliseconds of its final writes with
    ``stop_deferred``, so it leaves all of them or none), and the process exits with 128 + the signal number (143 for SIGTERM) after one
    ``<step>: stopped by SIGTERM`` line on stderr. The handler matters in a
    container, where the step is process 1 and the kernel would otherwise
    drop SIGTERM, leaving the pod running until it is killed.

MLflow
    With ``$MLFLOW_TRACKING_URI`` set, the steps that train and ship models
    use that MLflow server; without it they use none of it (never MLflow's
    local ./mlruns fallback) and work on files as before. Trainyard creates
    an MLflow run for every step try before the process starts and passes
    ``MLFLOW_RUN_ID``, ``MLFLOW_EXPERIMENT_ID`` and ``MLFLOW_PARENT_RUN_ID``
    (the pipeline run's). ``tracked_run`` hands a step that run, and the step
    logs into it but never ends it: Trainyard closes it with the outcome once
    the process has exited. Run by hand without MLFLOW_RUN_ID, a step starts
    and ends a run of its own. Steps log params and metrics only; tags and
    the ``trainyard.*`` names are Trainyard's (MLflow's log_model tags the
    logged model it creates with the source file, user and git commit).
    Models are logged with mlflow.sklearn.log_model (train.py, as
    cloudpickle) and read back with mlflow.sklearn.load_model through
    ``load_registered_model``, which allows MLflow to unpickle them
    (MLFLOW_ALLOW_PICKLE_DESERIALIZATION, unless set otherwise) and turns a
    version that does not load into a one-line reason. ``resolve_model_version``
    turns ``models:/NAME/VERSION`` and ``models:/NAME@ALIAS`` into a version
    and says plainly which model, alias or version is missing. A failed
    request becomes a StepError naming the server and what was being done;
    the client retries an unreachable server for about four minutes first
    (set MLFLOW_HTTP_REQUEST_MAX_RETRIES lower to fail sooner). The client's
    usage telemetry is off unless MLFLOW_DISABLE_TELEMETRY says otherwise.

Reproducibility
    Every random choice takes an explicit seed, so the same arguments give
    the same split, the same model and the same metrics.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as _dt
import hashlib
import json
import math
import os
import random
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Iterator, NoReturn

import numpy as np

DEFAULT_XCOM_PATH = "/airflow/xcom/return.json"
DEFAULT_SHARED_ROOT = "/shared"
XCOM_MAX_BYTES = 4096  # what a Kubernetes termination message can carry
METRIC_PREFIX = "trainyard.metric "


class StepError(Exception):
    """A problem the step reports as its one-line reason before exiting with 1."""


class Stopped(BaseException):
    """Raised in the main thread when SIGTERM or SIGINT arrives.

    A BaseException, so that ``except Exception`` blocks do not swallow it, and
    not a KeyboardInterrupt, which scikit-learn's MLP training catches and
    ignores.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


# --------------------------------------------------------------------------
# Logging and exit handling


def log(step: str, message: str) -> None:
    """Print one progress line for ``step`` and flush it straight away."""
    print(f"{step}: {message}", flush=True)


def fail(step: str, reason: str) -> NoReturn:
    """Report ``reason`` on stderr as a single line and exit with code 1."""
    one_line = " ".join(str(reason).split())
    print(f"{step}: error: {one_line}", file=sys.stderr, flush=True)
    sys.exit(1)


def report_metrics(step: int, **values: float) -> None:
    """Print one ``trainyard.metric {...}`` line for round ``step`` (1-based) and flush it.

    ``values`` are finite numbers, e.g. ``report_metrics(3, val_accuracy=0.91,
    loss=0.42)`` prints ``trainyard.metric {"step": 3, "val_accuracy": 0.91,
    "loss": 0.42}``. Keys keep the order they are given in.
    """
    if isinstance(step, bool) or not isinstance(step, (int, np.integer)):
        raise TypeError(f"metric step must be a whole number, got {step!r}")
    if step < 1:
        raise ValueError(f"metric step must be at least 1, got {step!r}")
    record: dict[str, Any] = {"step": int(step)}
    for key, value in values.items():
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise TypeError(f"metric {key!r} must be a number, got {value!r}")
        if not math.isfinite(value):
            raise ValueError(f"metric {key!r} must be finite, got {value!r}")
        record[key] = value.item() if isinstance(value, np.generic) else value
    # One write of the whole line, so it never interleaves with another line.
    sys.stdout.write(METRIC_PREFIX + json.dumps(record, allow_nan=False) + "\n")
    sys.stdout.flush()


# Signals that arrived inside stop_deferred(), or None outside it.
_held_signals: list[int] | None = None


def _ignore_further_signals() -> None:
    # A second signal while the first one unwinds must not interrupt the clean-up.
    for other in (signal.SIGTERM, signal.SIGINT):
        signal.signal(other, signal.SIG_IGN)


def _stop(signum: int, _frame: Any) -> None:
    if _held_signals is not None:
        _held_signals.append(signum)
        return
    _ignore_further_signals()
    raise Stopped(signum)


@contextlib.contextmanager
def stop_deferred() -> Iterator[None]:
    """Hold SIGTERM and SIGINT back while the block runs; one that arrives meanwhile
    stops the step right after it.

    For a step's final writes (model, metrics, XCom), so that a stopped step
    leaves either all of them or none. Not for long work: the step cannot be
    stopped until the block ends. Blocks do not nest.
    """
    global _held_signals
    _held_signals = []
    try:
        yield
    finally:
        held, _held_signals = _held_signals, None
        if held:
            _ignore_further_signals()
            raise Stopped(held[0])


def run_step(step: str, main: Callable[[], None]) -> None:
    """Run a step's ``main``, turning any failure into a one-line reason and exit 1.

    ``SystemExit`` (argparse's exit 2, an explicit ``sys.exit``) passes through
    untouched. Set ``TRAINYARD_DEBUG=1`` to see the full traceback of an
    unexpected error as well. SIGTERM and SIGINT end the step promptly with
    exit code 128 + signal number (see "Stopping" above).
    """
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _stop)
    try:
        main()
    except Stopped as stop:
        print(f"{step}: stopped by {signal.Signals(stop.signum).name}", file=sys.stderr, flush=True)
        sys.exit(128 + stop.signum)
    except StepError as err:
        fail(step, str(err))
    except Exception as err:  # noqa: BLE001 - every failure must become one line
        if os.environ.get("TRAINYARD_DEBUG"):
            import traceback

            traceback.print_exc()
        fail(step, f"unexpected {type(err).__name__}: {err}")


# --------------------------------------------------------------------------
# Argument types (raising ArgumentTypeError makes argparse exit with 2)


def iso_date(text: str) -> str:
    """An argparse type for ``YYYY-MM-DD`` dates; returns the text unchanged."""
    try:
        _dt.datetime.strptime(text, "%Y-%m-%d")
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from None
    return text


def _whole_number_at_least(minimum: int):
    """An argparse type for whole numbers of at least ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


positive_int = _whole_number_at_least(1)
non_negative_int = _whole_number_at_least(0)


def finite_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def non_negative_float(text: str) -> float:
    value = finite_float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be at least 0, got {text}")
    return value


def positive_float(text: str) -> float:
    value = finite_float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0, got {text}")
    return value


def fraction(text: str) -> float:
    """A number strictly between 0 and 1."""
    value = finite_float(text)
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"must be strictly between 0 and 1, got {text}")
    return value


def add_run_dir_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--run-dir",
        default=None,
        help="directory shared by the steps of one run "
        "(default: $TRAINYARD_RUN_DIR, else /shared/$TRAINYARD_RUN_ID)",
    )


# --------------------------------------------------------------------------
# Environment: run id, run directory, serving directory, xcom path


def run_id() -> str:
    return os.environ.get("TRAINYARD_RUN_ID") or "local"


def resolve_run_dir(explicit: str | None = None, create: bool = True) -> Path:
    """The run directory: ``explicit``, else $TRAINYARD_RUN_DIR, else /shared/$TRAINYARD_RUN_ID."""
    if explicit:
        chosen = explicit
    elif os.environ.get("TRAINYARD_RUN_DIR"):
        chosen = os.environ["TRAINYARD_RUN_DIR"]
    elif os.environ.get("TRAINYARD_RUN_ID"):
        chosen = os.path.join(DEFAULT_SHARED_ROOT, os.environ["TRAINYARD_RUN_ID"])
    else:
        raise StepError(
            "no run directory: pass --run-dir, or set TRAINYARD_RUN_DIR or TRAINYARD_RUN_ID"
        )
    path = Path(chosen).expanduser().resolve()
    if create:
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise StepError(f"cannot create run directory {path}: {err.strerror or err}") from None
    return path


def resolve_serving_dir(explicit: str | None, run_dir_arg: str | None) -> Path:
    """``explicit``, else $TRAINYARD_SERVING_DIR, else ``<run_dir>/../../serving``.

    With the local runner the run directory is ``<state>/runs/<run id>``, so the
    fallback is ``<state>/serving``: one serving area shared by every run.
    """
    if explicit:
        return Path(explicit).expanduser().resolve()
    if os.environ.get("TRAINYARD_SERVING_DIR"):
        return Path(os.environ["TRAINYARD_SERVING_DIR"]).expanduser().resolve()
    return (resolve_run_dir(run_dir_arg) / ".." / ".." / "serving").resolve()


def xcom_path() -> Path:
    return Path(os.environ.get("TRAINYARD_XCOM_PATH") or DEFAULT_XCOM_PATH)


def map_index() -> int | None:
    """``$TRAINYARD_MAP_INDEX``: which index of a mapped step this process is, or None when unmapped.

    Trials of one mapped step run at the same time in the same run directory,
    and two of them may even share all their arguments, so a step that writes
    files there puts this index in their names.
    """
    text = os.environ.get("TRAINYARD_MAP_INDEX", "").strip()
    if not text:
        return None
    if not (text.isascii() and text.isdigit()):
        raise StepError(f"TRAINYARD_MAP_INDEX must be a whole number of at least 0, got {text!r}")
    return int(text)


# --------------------------------------------------------------------------
# Files


def _json_ready(value: Any) -> Any:
    """Turn numpy scalars and arrays into plain Python values for json.dumps."""
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    if isinstance(value, np.ndarray):
        return _json_ready(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    return value


def _usual_mode(path: str) -> None:
    """Give a temporary file the mode a plain open() would have (mkstemp makes it 0600),
    so that other readers, such as an xcom sidecar or a model server, can read it."""
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(path, 0o666 & ~mask)


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, then rename it over ``path``."""

    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())

    atomic_write_with(path, write)


def atomic_write_with(path: Path, write: Callable[[str], Any]) -> None:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it over ``path``.

    The temporary name keeps ``path``'s suffix, because np.savez would append
    ``.npz`` to a name without one.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        _usual_mode(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def save_joblib(path: Path, value: Any) -> None:
    import joblib

    atomic_write_with(path, lambda tmp: joblib.dump(value, tmp))


def atomic_write_json(path: Path, value: Any) -> None:
    text = json.dumps(_json_ready(value), indent=2, sort_keys=True, allow_nan=False)
    atomic_write_text(path, text + "\n")


def xcom_text(value: Any) -> str:
    """The XCom file's contents for ``value``; its length in bytes is what counts
    against XCOM_MAX_BYTES."""
    return json.dumps(_json_ready(value), allow_nan=False, sort_keys=True) + "\n"


def write_xcom(value: Any) -> Path:
    """Write the step's single XCom value and return where it went.

    Refuses a value of more than XCOM_MAX_BYTES, which a pod could not hand back.
    """
    path = xcom_path()
    text = xcom_text(value)
    size = len(text.encode("utf-8"))
    if size > XCOM_MAX_BYTES:
        raise StepError(f"XCom is {size} bytes, more than the {XCOM_MAX_BYTES} a pod can return; keep it smaller")
    try:
        atomic_write_text(path, text)
    except OSError as err:
        raise StepError(f"cannot write XCom to {path}: {err.strerror or err}") from None
    return path


def read_json(path: Path, what: str) -> Any:
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        raise StepError(f"{what} not found at {path}") from None
    except (OSError, ValueError) as err:
        raise StepError(f"cannot read {what} at {path}: {err}") from None


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --------------------------------------------------------------------------
# Artifacts: s3:// with boto3, file:// on the filesystem


def artifacts_uri() -> str:
    """This step's artifacts prefix, ``$TRAINYARD_ARTIFACTS_URI``, ending with ``/``."""
    uri = os.environ.get("TRAINYARD_ARTIFACTS_URI", "").strip()
    if not uri:
        raise StepError("TRAINYARD_ARTIFACTS_URI is not set; set it to the s3:// or file:// prefix this step keeps its artifacts under")
    return uri if uri.endswith("/") else uri + "/"


def _file_of(uri: str) -> Path | None:
    """The file a ``file://`` URI or a plain path names; None for ``s3://``."""
    if uri.startswith("s3://"):
        return None
    if uri.startswith("file://"):
        return Path(uri[len("file://") :])
    if "://" in uri:
        raise StepError(f"{uri}: only s3:// and file:// artifact URIs are supported")
    return Path(uri).expanduser()


def _s3_object(uri: str) -> tuple[Any, str, str]:
    """(client, bucket, key) for an ``s3://bucket/key`` URI."""
    bucket, _, key = uri[len("s3://") :].partition("/")
    if not bucket or not key or key.endswith("/"):
        raise StepError(f"{uri} names no object; expected s3://bucket/key")
    import boto3

    # boto3 reads AWS_ENDPOINT_URL and the credentials itself, but the region only from AWS_DEFAULT_REGION.
    return boto3.client("s3", region_name=os.environ.get("AWS_REGION") or None), bucket, key


def put_artifact(source: Path, uri: str) -> None:
    """Store the local file ``source`` at ``uri``; a reader sees the old object or the whole new one."""
    target = _file_of(uri)
    s3 = _s3_object(uri) if target is None else None
    try:
        if s3 is not None:
            client, bucket, key = s3
            client.upload_file(str(source), bucket, key)
        elif target is not None:
            atomic_write_with(target, lambda tmp: shutil.copyfile(source, tmp))
    except Exception as err:  # noqa: BLE001 - OSError, botocore's and boto3's errors alike
        raise StepError(f"cannot store {source.name} at {uri}: {err}") from None


@contextlib.contextmanager
def local_copy(uri: str) -> Iterator[Path]:
    """A local file holding the artifact at ``uri``: the file itself for ``file://``,
    a download removed afterwards for ``s3://``."""
    path = _file_of(uri)
    if path is not None:
        if not path.is_file():
            raise StepError(f"no artifact at {uri}")
        yield path
        return
    client, bucket, key = _s3_object(uri)
    with tempfile.TemporaryDirectory(prefix="trainyard-artifact-") as tmp:
        path = Path(tmp) / key.rsplit("/", 1)[-1]
        try:
            client.download_file(bucket, key, str(path))
        except Exception as err:  # noqa: BLE001 - a missing object, refused credentials, no connection
            raise StepError(f"cannot read the artifact at {uri}: {err}") from None
        yield path


# --------------------------------------------------------------------------
# MLflow: tracking and the model registry (only when $MLFLOW_TRACKING_URI is set)

MODEL_URI_PREFIX = "models:/"
_MAX_METRICS_PER_REQUEST = 1000  # what one log-batch request may carry


def tracking_configured() -> bool:
    """Whether ``$MLFLOW_TRACKING_URI`` names a tracking server, which turns the MLflow parts on.

    MLflow itself falls back to a local ./mlruns folder when the variable is
    unset; the steps never do that.
    """
    return bool(os.environ.get("MLFLOW_TRACKING_URI", "").strip())


def tracking_uri() -> str:
    uri = os.environ.get("MLFLOW_TRACKING_URI", "").strip()
    if not uri:
        raise StepError("MLFLOW_TRACKING_URI is not set; set it to the MLflow server, e.g. http://127.0.0.1:5000")
    return uri


def mlflow_client() -> Any:
    """An ``MlflowClient`` for $MLFLOW_TRACKING_URI (registry calls go to the same server).

    Importing mlflow takes about two seconds, so only the tracked steps pay it.
    MLflow's usage telemetry is turned off unless MLFLOW_DISABLE_TELEMETRY says
    otherwise: a pipeline step has no business calling out.
    """
    uri = tracking_uri()
    import importlib.util

    if importlib.util.find_spec("mlflow") is None:
        raise StepError(
            f"MLFLOW_TRACKING_URI is set ({uri}) but the mlflow client is not installed here; "
            "install mlflow-skinny and pandas (scripts/requirements.txt pins them), "
            "or unset MLFLOW_TRACKING_URI to run without MLflow"
        )
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=uri)


def _mlflow_reason(err: BaseException) -> str:
    """MLflow's error text without its error-code prefix (RESOURCE_DOES_NOT_EXIST: ...)."""
    text = str(getattr(err, "message", None) or err)
    code = getattr(err, "error_code", None)
    if isinstance(code, str) and text.startswith(code + ": "):
        text = text[len(code) + 2 :]
    return text


def _not_found(err: BaseException) -> bool:
    return getattr(err, "error_code", None) == "RESOURCE_DOES_NOT_EXIST"


def mlflow_call(what: str, call: Callable[[], Any]) -> Any:
    """Run one MLflow request, turning any failure into a StepError that says what was being done.

    The client retries a server it cannot reach for about four minutes
    (MLFLOW_HTTP_REQUEST_MAX_RETRIES, MLFLOW_HTTP_REQUEST_TIMEOUT shorten it)
    before the error arrives here.
    """
    try:
        return call()
    except Exception as err:  # noqa: BLE001 - MlflowException, requests' errors, an unexpected answer
        raise StepError(f"MLflow at {tracking_uri()}: cannot {what}: {_mlflow_reason(err)}") from None


@dataclasses.dataclass(frozen=True)
class TrackedRun:
    """The MLflow run a step logs into, and the client that reaches it."""

    client: Any
    run_id: str
    experiment_id: str

    def log(
        self,
        params: dict[str, Any] | None = None,
        metrics: dict[str, float] | None = None,
        model_id: str | None = None,
        run_id: str | None = None,
    ) -> None:
        """Log ``params`` and ``metrics`` (at step 0) in one request.

        Into this run, or into ``run_id`` when given (evaluate.py records test
        scores on the run that trained a model). With ``model_id`` the metrics
        are linked to that logged model as well, and show on its page.
        """
        from mlflow.entities import Metric, Param

        target = run_id or self.run_id
        now = int(time.time() * 1000)
        param_list = [Param(key, str(value)) for key, value in (params or {}).items()]
        metric_list = [Metric(key, float(value), now, 0, model_id=model_id) for key, value in (metrics or {}).items()]
        mlflow_call(
            f"log {', '.join([*(params or {}), *(metrics or {})])} to run {target}",
            lambda: self.client.log_batch(target, metrics=metric_list, params=param_list),
        )


@contextlib.contextmanager
def tracked_run() -> Iterator[TrackedRun | None]:
    """The step's MLflow run, or None when $MLFLOW_TRACKING_URI is unset.

    With $MLFLOW_RUN_ID (Trainyard creates one run per step try before the
    process starts, and passes it with MLFLOW_EXPERIMENT_ID and
    MLFLOW_PARENT_RUN_ID) the step logs into that run and never ends it:
    Trainyard closes it with the outcome once the process has exited. Without
    it, as when a step is run by hand, the step starts a run of its own in
    MLflow's current experiment (MLFLOW_EXPERIMENT_ID or MLFLOW_EXPERIMENT_NAME,
    else Default) and ends it FINISHED, FAILED, or KILLED when stopped.
    """
    if not tracking_configured():
        yield None
        return
    client = mlflow_client()
    run_id = os.environ.get("MLFLOW_RUN_ID", "").strip()
    if run_id:
        try:
            run = client.get_run(run_id)
        except Exception as err:  # noqa: BLE001 - see mlflow_call
            if _not_found(err):
                raise StepError(
                    f"MLFLOW_RUN_ID {run_id} names no run on {tracking_uri()}; "
                    "unset it to let the step start a run of its own"
                ) from None
            raise StepError(f"MLflow at {tracking_uri()}: cannot read run {run_id}: {_mlflow_reason(err)}") from None
        if run.info.lifecycle_stage == "deleted":
            raise StepError(f"MLflow run {run_id} (MLFLOW_RUN_ID) is deleted; restore it or unset MLFLOW_RUN_ID")
        yield TrackedRun(client, run_id, run.info.experiment_id)
        return
    import mlflow

    run = mlflow_call("start a run", mlflow.start_run)
    status = "FAILED"
    try:
        yield TrackedRun(client, run.info.run_id, run.info.experiment_id)
        status = "FINISHED"
    except Stopped:
        status = "KILLED"
        raise
    finally:
        with contextlib.suppress(Exception):
            mlflow.end_run(status)


class MetricSender:
    """Sends per-round metrics to a run from a background thread, so that no round waits for MLflow.

    One log-batch request to a tracking server takes tens of milliseconds,
    as long as an epoch of train.py or longer, and costs both ends some CPU.
    So ``send`` only queues the values, and the thread posts what has piled
    up in one request at most every SEND_INTERVAL seconds: the MLflow UI is
    that much behind, while the ``trainyard.metric`` lines the orchestrator
    acts on are printed at once. ``flush`` sends the rest straight away, waits
    until all of it has arrived and raises StepError if a request failed.
    The thread is a daemon; a stopped step ``drain``s the queue for a moment
    (so a pruned trial's run keeps its curve) and exits.
    """

    SEND_INTERVAL = 1.0

    def __init__(self, run: TrackedRun) -> None:
        import queue
        import threading

        from mlflow.entities import Metric

        self._metric = Metric
        self._run = run
        self._queue: Any = queue.Queue()
        self._empty = queue.Empty
        self._hurry = threading.Event()
        self._failure: str | None = None
        threading.Thread(target=self._deliver, name="mlflow-metrics", daemon=True).start()

    def send(self, step: int, **values: float) -> None:
        now = int(time.time() * 1000)
        self._queue.put([self._metric(key, float(value), now, int(step)) for key, value in values.items()])

    def _deliver(self) -> None:
        while True:
            taken = [self._queue.get()]
            self._hurry.wait(self.SEND_INTERVAL)
            with contextlib.suppress(self._empty):
                while True:
                    taken.append(self._queue.get_nowait())
            metrics = [metric for batch in taken for metric in batch]
            try:
                if self._failure is None:  # after a failure, only count the rest off for flush()
                    for start in range(0, len(metrics), _MAX_METRICS_PER_REQUEST):
                        chunk = metrics[start : start + _MAX_METRICS_PER_REQUEST]
                        self._run.client.log_batch(self._run.run_id, metrics=chunk)
            except Exception as err:  # noqa: BLE001 - reported by flush()
                self._failure = _mlflow_reason(err)
            finally:
                for _ in taken:
                    self._queue.task_done()

    def drain(self, timeout: float) -> None:
        """Send what is queued now and wait for it, at most ``timeout`` seconds; never raises.

        For a step that is being stopped: what arrives in time is kept, the rest is dropped.
        """
        self._hurry.set()
        deadline = time.monotonic() + timeout
        with self._queue.all_tasks_done:
            while self._queue.unfinished_tasks:
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                self._queue.all_tasks_done.wait(left)

    def flush(self) -> None:
        """Send what is queued now, wait until all of it has arrived; StepError if any did not."""
        self._hurry.set()
        self._queue.join()
        self._hurry.clear()
        if self._failure is not None:
            raise StepError(
                f"MLflow at {tracking_uri()}: cannot log metrics to run {self._run.run_id}: {self._failure}"
            )


def model_uri_arg(text: str) -> str:
    """An argparse type for registry URIs: ``models:/NAME/VERSION`` or ``models:/NAME@ALIAS``."""
    parse_model_uri(text)
    return text


def parse_model_uri(text: str) -> tuple[str, int | None, str | None]:
    """(name, version, alias) of ``models:/NAME/VERSION`` or ``models:/NAME@ALIAS``; exactly one of
    version and alias is set. Raises argparse.ArgumentTypeError for anything else."""
    usage = "expected models:/NAME/VERSION or models:/NAME@ALIAS"
    if not text.startswith(MODEL_URI_PREFIX):
        raise argparse.ArgumentTypeError(f"{usage}, got {text!r}")
    rest = text[len(MODEL_URI_PREFIX) :]
    if "@" in rest:
        name, _, alias = rest.rpartition("@")
        if name and alias and "/" not in alias:
            return name, None, alias
    else:
        name, _, version = rest.rpartition("/")
        if name and version.isascii() and version.isdigit() and int(version) > 0:
            return name, int(version), None
        if rest.startswith("m-") and "/" not in rest:
            raise argparse.ArgumentTypeError(
                f"{text} is a logged model, not a registered version; register it and pass models:/NAME/VERSION"
            )
    raise argparse.ArgumentTypeError(f"{usage}, got {text!r} (stages and 'latest' are not supported; use an alias)")


@dataclasses.dataclass(frozen=True)
class RegisteredVersion:
    """A registered model version that a ``models:/`` URI resolved to.

    ``alias`` is the alias the URI named, or None; ``run_id`` the run that
    logged the model (MLflow fills it in from the logged model when the
    version was registered without one), or None.
    """

    name: str
    version: int
    alias: str | None
    run_id: str | None
    source: str

    @property
    def uri(self) -> str:
        """``models:/NAME/VERSION``: this version even if the alias moves meanwhile."""
        return f"{MODEL_URI_PREFIX}{self.name}/{self.version}"


def resolve_model_version(client: Any, uri: str, flag: str) -> RegisteredVersion:
    """Look up the version ``uri`` (a ``models:/`` URI given as ``flag``) names in the registry.

    Says which model, alias or version is missing, and what to do about it.
    """
    try:
        name, version, alias = parse_model_uri(uri)
    except argparse.ArgumentTypeError as err:
        raise StepError(f"{flag}: {err}") from None
    where = tracking_uri()
    try:
        registered = client.get_registered_model(name)
    except Exception as err:  # noqa: BLE001 - see mlflow_call
        if _not_found(err):
            raise StepError(
                f"{flag} {uri}: there is no registered model '{name}' on {where}; "
                "register a version of it first (a training run's model_source, model_id and run id)"
            ) from None
        raise StepError(f"MLflow at {where}: cannot read registered model '{name}': {_mlflow_reason(err)}") from None
    if alias is not None:
        aliases = dict(registered.aliases or {})
        if alias not in aliases:
            others = ", ".join(f"{a} (v{v})" for a, v in sorted(aliases.items())) or "none"
            raise StepError(
                f"{flag} {uri}: model '{name}' has no alias '{alias}': nothing has been promoted to it yet "
                f"(its aliases: {others}); set it with MlflowClient().set_registered_model_alias('{name}', "
                f"'{alias}', VERSION), or pass models:/{name}/VERSION"
            )
        version = int(aliases[alias])
    try:
        found = client.get_model_version(name, str(version))
    except Exception as err:  # noqa: BLE001 - see mlflow_call
        if _not_found(err):
            latest = max((int(v.version) for v in registered.latest_versions or []), default=None)
            known = f"the newest is {latest}" if latest is not None else "it has no versions"
            raise StepError(f"{flag} {uri}: model '{name}' has no version {version} ({known})") from None
        raise StepError(f"MLflow at {where}: cannot read {name} version {version}: {_mlflow_reason(err)}") from None
    return RegisteredVersion(name, int(found.version), alias, found.run_id or None, found.source)


@dataclasses.dataclass(frozen=True)
class LoadedModel:
    """A model read from the registry: the estimator, and the ``model_id`` its
    MLmodel file records (the open-source registry keeps no model id on the
    version itself), or None for a model logged without one."""

    model: Any
    model_id: str | None


def load_registered_model(version: RegisteredVersion) -> LoadedModel:
    """Download ``version`` and load it with mlflow.sklearn.load_model.

    Loads scikit-learn models saved as pickle or cloudpickle (not skops,
    which is not installed here). A pickled model runs code of its own when
    loaded, which MLflow allows only with MLFLOW_ALLOW_PICKLE_DESERIALIZATION
    set to true; the steps set it when it is unset, since they load what
    their pipeline's registry holds (set it to false to refuse every model).
    So load only from a registry you trust. A load that fails is explained
    from the version's MLmodel file: no sklearn flavor, another format, or
    the error itself.
    """
    os.environ.setdefault("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "true")
    import mlflow.sklearn

    with tempfile.TemporaryDirectory(prefix="trainyard-model-") as tmp:
        folder = Path(tmp)
        try:
            model = mlflow.sklearn.load_model(version.uri, dst_path=tmp)
        except Exception as err:  # noqa: BLE001 - a failed download, a bad MLmodel, an unpicklable model
            raise _load_failure(version, folder, err) from None
        meta = _read_mlmodel(folder)
    if not hasattr(model, "predict"):
        raise StepError(f"{version.uri} holds a {type(model).__name__}, not a model with predict()")
    return LoadedModel(model, (meta or {}).get("model_id") or None)


def _read_mlmodel(folder: Path) -> dict[str, Any] | None:
    """The MLmodel file in ``folder`` as a dict, or None when it is missing or unreadable."""
    import yaml

    try:
        meta = yaml.safe_load((folder / "MLmodel").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    return meta if isinstance(meta, dict) else None


def _load_failure(version: RegisteredVersion, folder: Path, err: BaseException) -> StepError:
    """Why mlflow.sklearn.load_model could not load ``version``, judged by what it downloaded to ``folder``."""
    reason = _mlflow_reason(err)
    if not any(folder.iterdir()):
        return StepError(f"MLflow at {tracking_uri()}: cannot download {version.uri}: {reason}")
    meta = _read_mlmodel(folder)
    flavors = meta.get("flavors") if meta is not None else None
    if not isinstance(flavors, dict):
        return StepError(f"{version.uri} is not an MLflow model ({version.source}): {reason}")
    flavor = flavors.get("sklearn")
    if not isinstance(flavor, dict):
        return StepError(
            f"{version.uri} has no sklearn flavor (it has {', '.join(sorted(flavors)) or 'none'}); "
            "these steps serve scikit-learn models"
        )
    fmt = flavor.get("serialization_format", "pickle")
    if fmt not in ("pickle", "cloudpickle"):
        return StepError(f"{version.uri} is saved as {fmt!r}; only pickle and cloudpickle load here")
    return StepError(f"cannot load {version.uri}: {type(err).__name__}: {reason}")


# --------------------------------------------------------------------------
# The day's input data


def add_data_uri_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-uri",
        default=None,
        help="the day's data as CSV (s3:// or file://; columns p0..p63 and label, as make_data.py writes); "
        "without it, scikit-learn's bundled digits",
    )


def load_dataset(data_uri: str | None) -> tuple[np.ndarray, np.ndarray]:
    """Features and labels: from the CSV at ``data_uri``, else scikit-learn's bundled digits."""
    if data_uri is None:
        from sklearn.datasets import load_digits

        X, y = load_digits(return_X_y=True)
        return np.asarray(X, dtype=np.float64), np.asarray(y)
    with local_copy(data_uri) as path:
        try:
            table = np.genfromtxt(path, delimiter=",", names=True, dtype=np.float64)
        except ValueError as err:
            raise StepError(f"{data_uri} is not a CSV table with a header row: {err}") from None
    names = table.dtype.names or ()
    if "label" not in names:
        raise StepError(f"{data_uri} has no 'label' column; its columns: {', '.join(names) or '(none)'}")
    features = [n for n in names if n != "label"]
    X = np.column_stack([table[n] for n in features]) if features else np.empty((len(table), 0))
    return np.asarray(X, dtype=np.float64), np.asarray(table["label"]).astype(np.int64)


# --------------------------------------------------------------------------
# Data shared between preprocess, train and evaluate


def data_dir(run_dir: Path) -> Path:
    return run_dir / "data"


def load_split(run_dir: Path, split: str) -> dict[str, np.ndarray]:
    """Load ``<run_dir>/data/<split>.npz`` written by preprocess.py.

    Keys: ``X`` (standardised features), ``X_raw`` (pixel values 0..16), ``y``.
    """
    path = data_dir(run_dir) / f"{split}.npz"
    if not path.is_file():
        raise StepError(
            f"{split} data is missing: {path} does not exist; run preprocess.py for this run first"
        )
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in ("X", "X_raw", "y")}
    except KeyError as err:
        raise StepError(f"{path} lacks array {err}; rerun preprocess.py") from None
    except (OSError, ValueError) as err:
        raise StepError(f"cannot read {path}: {err}") from None
    if len(arrays["X"]) != len(arrays["y"]) or len(arrays["X_raw"]) != len(arrays["y"]):
        raise StepError(f"{path} is inconsistent: X, X_raw and y differ in length")
    return arrays


def seed_everything(seed: int) -> None:
    """Seed Python's and numpy's global generators (estimators get random_state too)."""
    random.seed(seed)
    np.random.seed(seed % (2**32))


def detect_device() -> str:
    """``cuda:<name>`` when torch is installed and sees a GPU, else ``cpu``.

    torch is optional: it is only looked for, never required.
    """
    import importlib.util

    if importlib.util.find_spec("torch") is None:
        return "cpu"
    try:
        import torch  # type: ignore[import-not-found]

        if torch.cuda.is_available():
            return f"cuda:{torch.cuda.get_device_name(0)}"
    except Exception:  # noqa: BLE001 - a broken torch install just means "cpu"
        pass
    return "cpu"
