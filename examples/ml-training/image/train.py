"""Step 3: train one candidate model for one set of hyperparameters.

Usage:
    python train.py --lr FLOAT --batch-size INT --optimizer adam|adamw|sgd
                    [--epochs 60] [--seed 42] [--experiment-name NAME]
                    [--backend auto|sklearn|torch] [--epoch-seconds 0] [--run-dir DIR]

Reads <run_dir>/data/train.npz and scaler.joblib (from preprocess.py), holds
out a stratified 15% of the training rows for validation, and fits a
scikit-learn MLPClassifier with one hidden layer of 64 units:

  optimizer  solver  alpha (L2 penalty)
  adam       adam    1e-4
  adamw      adam    1e-2  -- scikit-learn has no decoupled weight decay, so
                              AdamW is approximated by a stronger penalty
  sgd        sgd     1e-4, momentum 0.9 with Nesterov steps

``--lr`` is learning_rate_init, ``--batch-size`` the minibatch size (clipped
to the number of training rows), ``--epochs`` the number of passes over the
data. The run always goes the full number of epochs; stopping a poor run
early is the orchestrator's job (see below).

Training goes one epoch at a time (with scikit-learn, one ``partial_fit``
pass per epoch, drawing from a single random generator, which gives the same
weights as one ``fit`` over all the epochs). After every epoch the step
scores the validation rows and prints one line, flushed at once:

    trainyard.metric {"step": 3, "val_accuracy": 0.931034, "loss": 0.412345}

``step`` is the 1-based epoch, ``val_accuracy`` the accuracy on the
validation rows, ``loss`` that epoch's mean training loss (both rounded to 6
decimals). A hyperparameter search runs one train.py per combination and
reads these lines to stop (SIGTERM) the trials that fall behind. A stopped
trial exits within moments, even mid-epoch, with code 143, and writes
neither a joblib model nor an XCom.

``--epoch-seconds S`` is a simulation aid for tests and demos: it makes
every epoch last at least S seconds by sleeping for whatever the real work
left over, so that a search on this small data set runs long enough to
watch trials being stopped. It changes no result. The default, 0, adds
nothing.

The model saved is a Pipeline of the fitted scaler followed by the fitted
MLP, so it takes raw pixel values (0..16) and can be served on its own.
It goes to $TRAINYARD_ARTIFACTS_URI<name>.joblib (an s3:// or file:// prefix
of this step's own; in a mapped step, of this index's own), where the name
spells out the hyperparameters: ``mlp-lr0.001-bs32-adam``, with ``-ep<N>`` and
``-seed<S>`` appended when --epochs or --seed differ from their defaults, and
``-i<K>`` when $TRAINYARD_MAP_INDEX is K. The metrics are also written beside
the model as <model>.joblib.metrics.json. A reader sees each object whole or
not at all, and the XCom's "model_path" is the model's URI.

With $MLFLOW_TRACKING_URI set, the step also tracks itself in MLflow, in
the run Trainyard created for this try ($MLFLOW_RUN_ID; without it, a run it
starts itself, see common.tracked_run), whose status it leaves to Trainyard:

  params    lr, batch_size, optimizer, epochs, seed, backend, and map_index
            in a mapped step
  metrics   val_accuracy and loss for every epoch (step = the epoch), sent
            from a background thread so that no epoch waits for the server;
            accuracy and f1_score (validation) at the end, linked to the
            logged model too
  model     a logged model named "model", logged with mlflow.sklearn.log_model
            (sklearn and python_function flavors, pickled with cloudpickle,
            pip requirements pinned to the versions installed here), with
            the params, as an output of the run

The model is logged before the joblib copy and the XCom are written, so a
trial stopped at any point leaves no XCom; one stopped while its model
uploads leaves a logged model that nothing refers to (still PENDING), in a
run Trainyard marks KILLED. The joblib copy is written as well when
$TRAINYARD_ARTIFACTS_URI is set (a few milliseconds; it keeps "model_path"
for steps that read files) and skipped when it is not. Registering the model
is not this step's job: a version made from the XCom's "model_source",
"model_id" and "mlflow_run_id" serves as models:/NAME/VERSION.

``--backend`` picks who trains: ``sklearn`` (scikit-learn's MLP, on the CPU),
``torch`` (the same network in PyTorch, on the GPU when one is visible, with a
true decoupled AdamW), or ``auto`` (the default: torch when it is installed and
sees a GPU, else sklearn). A torch-trained network is copied into a fitted
MLPClassifier, so the saved model has the same format either way and
evaluate.py and deploy.py do not care who trained it. ``device`` is "cpu" or
"cuda:<gpu name>": where the training actually ran.

XCom: {"accuracy" (validation), "f1_score" (macro, validation), "loss" (final
training loss), "model_path" (the model's URI), "run_id", "hyperparams": {"lr", "batch_size",
"optimizer", "epochs"}, "device", plus "model_name", "experiment_name",
"seed", "map_index" (null when unmapped), "backend", "train_seconds",
"epoch_seconds", "epochs_run" (epochs actually trained) and
"metric_history" ([[epoch, val_accuracy], ...], the last 100 epochs)}.
"run_id" is Trainyard's run. With MLflow it adds "mlflow_run_id" (the
step's MLflow run), "model_uri" (``models:/m-...``, the logged model),
"model_id" (``m-...``) and "model_source" (the logged model's artifact
location, the ``source`` to register a version from); "model_path" is there
only when the joblib copy was written. It is kept under 4 KiB, the most a
pod's termination message carries, by dropping the oldest metric_history
entries.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import os
import tempfile
import time
import warnings
from pathlib import Path
from typing import Callable

import numpy as np

import common

STEP = "train"
HIDDEN_LAYERS = (64,)
VALIDATION_SHARE = 0.15
DEFAULT_EPOCHS = 60
DEFAULT_SEED = 42
# What loading the MLflow model needs besides mlflow, pinned to the versions installed here.
MODEL_REQUIREMENTS = ("scikit-learn", "numpy", "scipy", "cloudpickle")
HISTORY_IN_XCOM = 100  # most recent epochs kept in the XCom's metric_history
# How long a stopped trial may take to send the metrics still queued for MLflow
# (the runner's SIGKILL comes 5 s after its SIGTERM).
STOP_DRAIN_SECONDS = 2.0
MAX_EXPERIMENT_NAME = 200  # characters; keeps the XCom well inside its 4 KiB
OPTIMIZERS = {
    # optimizer name -> MLPClassifier settings
    "adam": {"solver": "adam", "alpha": 1e-4},
    "adamw": {"solver": "adam", "alpha": 1e-2},
    "sgd": {"solver": "sgd", "alpha": 1e-4, "momentum": 0.9, "nesterovs_momentum": True},
}

# One epoch's record: (epoch, validation accuracy, training loss).
Epoch = tuple[int, float, float]


def experiment_name(text: str) -> str:
    if len(text) > MAX_EXPERIMENT_NAME:
        raise argparse.ArgumentTypeError(f"at most {MAX_EXPERIMENT_NAME} characters, got {len(text)}")
    return text


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Train an MLP on the preprocessed digits data.")
    parser.add_argument("--lr", required=True, type=common.positive_float, help="initial learning rate")
    parser.add_argument("--batch-size", required=True, type=common.positive_int, help="minibatch size")
    parser.add_argument("--optimizer", required=True, choices=sorted(OPTIMIZERS), help="adam, adamw or sgd")
    parser.add_argument(
        "--epochs", type=common.positive_int, default=DEFAULT_EPOCHS, help=f"passes over the data (default {DEFAULT_EPOCHS})"
    )
    parser.add_argument(
        "--seed", type=common.non_negative_int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})"
    )
    parser.add_argument(
        "--experiment-name", type=experiment_name, default=None, help="label recorded with the metrics"
    )
    parser.add_argument(
        "--backend", choices=["auto", "sklearn", "torch"], default="auto", help="who trains (default auto: torch on a GPU if there is one)"
    )
    parser.add_argument(
        "--epoch-seconds",
        type=common.non_negative_float,
        default=0.0,
        metavar="S",
        help="simulation aid for tests and demos: make every epoch last at least S seconds "
        "by sleeping the rest (default 0: no waiting)",
    )
    common.add_run_dir_argument(parser)
    return parser.parse_args()


def model_name(args: argparse.Namespace, map_index: int | None) -> str:
    name = f"mlp-lr{args.lr:g}-bs{args.batch_size}-{args.optimizer}"
    if args.epochs != DEFAULT_EPOCHS:
        name += f"-ep{args.epochs}"
    if args.seed != DEFAULT_SEED:
        name += f"-seed{args.seed}"
    if map_index is not None:
        name += f"-i{map_index}"
    return name


def main() -> None:
    args = parse_args()
    with common.tracked_run() as run:
        train_candidate(args, run)


def train_candidate(args: argparse.Namespace, run: common.TrackedRun | None) -> None:
    """Train, score and save one candidate; ``run`` is its MLflow run, or None without MLflow."""
    run_dir = common.resolve_run_dir(args.run_dir)
    map_index = common.map_index()
    # A tracked model lives in MLflow; the joblib copy is written as well when there is a prefix for it.
    artifacts = None if run is not None and not os.environ.get("TRAINYARD_ARTIFACTS_URI", "").strip() else common.artifacts_uri()
    common.seed_everything(args.seed)

    train = common.load_split(run_dir, "train")
    scaler_path = common.data_dir(run_dir) / "scaler.joblib"
    if not scaler_path.is_file():
        raise common.StepError(f"scaler is missing: {scaler_path} does not exist; run preprocess.py for this run first")

    import joblib
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import Pipeline

    scaler = joblib.load(scaler_path)
    X_fit, X_val, y_fit, y_val = train_test_split(
        train["X"], train["y"], test_size=VALIDATION_SHARE, stratify=train["y"], random_state=args.seed
    )

    batch_size = args.batch_size
    if batch_size > len(y_fit):
        log(f"batch size {batch_size} exceeds the {len(y_fit)} training rows; using {len(y_fit)}")
        batch_size = len(y_fit)

    accelerator = common.detect_device()
    backend = args.backend
    if backend == "auto":
        backend = "torch" if accelerator != "cpu" else "sklearn"
    if backend == "torch" and importlib.util.find_spec("torch") is None:
        raise common.StepError("--backend torch needs PyTorch, which is not installed here; use --backend sklearn")
    device = accelerator if backend == "torch" else "cpu"
    name = model_name(args, map_index)
    experiment = args.experiment_name or "default"
    log(
        f"{name}: {len(y_fit)} training rows, {len(y_val)} validation rows, "
        f"optimizer {args.optimizer}, {args.epochs} epochs, seed {args.seed}, experiment {experiment}"
    )
    waiting = f", each lasting at least {args.epoch_seconds:g}s (simulated)" if args.epoch_seconds else ""
    log(f"backend {backend} on {device}; metrics after every epoch{waiting}")
    params = training_params(args, backend, map_index)
    sender = None
    if run is not None:
        run.log(params=params)
        sender = common.MetricSender(run)
        log(f"tracking in MLflow run {run.run_id} at {common.tracking_uri()}")

    clf = MLPClassifier(
        hidden_layer_sizes=HIDDEN_LAYERS,
        learning_rate_init=args.lr,
        batch_size=batch_size,
        max_iter=args.epochs,
        shuffle=True,
        early_stopping=False,
        n_iter_no_change=args.epochs + 1,  # never stop before the requested epochs
        tol=0.0,
        random_state=args.seed,
        **OPTIMIZERS[args.optimizer],
    )
    started = time.perf_counter()
    try:
        if backend == "torch":
            history, work = train_with_torch(clf, X_fit, y_fit, X_val, y_val, args, batch_size, sender)
        else:
            history, work = train_with_sklearn(clf, X_fit, y_fit, X_val, y_val, args, sender)
    except common.Stopped:
        # A pruned or cancelled trial: the curve it got so far still reaches its MLflow run.
        if sender is not None:
            sender.drain(STOP_DRAIN_SECONDS)
        raise
    elapsed = time.perf_counter() - started

    loss = float(clf.loss_)
    if not np.isfinite(loss):
        raise common.StepError(f"training diverged (loss {loss}); try a smaller --lr")

    predicted = clf.predict(X_val)
    accuracy = float(accuracy_score(y_val, predicted))
    f1 = float(f1_score(y_val, predicted, average="macro"))
    log(
        f"validation accuracy {accuracy:.4f}, macro F1 {f1:.4f}, final loss {loss:.4f} "
        f"({elapsed:.2f}s; {1000 * work / len(history):.1f} ms of work per epoch)"
    )

    model_uri = f"{artifacts}{name}.joblib" if artifacts is not None else None
    metrics = {
        "accuracy": round(accuracy, 6),
        "f1_score": round(f1, 6),
        "loss": round(loss, 6),
        "model_name": name,
        "run_id": common.run_id(),
        "experiment_name": experiment,
        "hyperparams": {
            "lr": args.lr,
            "batch_size": args.batch_size,
            "optimizer": args.optimizer,
            "epochs": args.epochs,
        },
        "seed": args.seed,
        "map_index": map_index,
        "epochs_run": len(history),
        "metric_history": [[epoch, round(val_accuracy, 6)] for epoch, val_accuracy, _ in history[-HISTORY_IN_XCOM:]],
        "device": device,
        "backend": backend,
        "train_seconds": round(elapsed, 3),
        "epoch_seconds": args.epoch_seconds,
    }
    if model_uri is not None:
        metrics["model_path"] = model_uri
    model = Pipeline([("scaler", scaler), ("mlp", clf)])
    if sender is not None:
        sender.flush()
    if run is not None:
        logged = log_model(run, model, params, {"accuracy": metrics["accuracy"], "f1_score": metrics["f1_score"]})
        metrics.update(mlflow_run_id=run.run_id, **logged)
        log(f"model logged to MLflow as {logged['model_uri']}, pickled with cloudpickle (register it from {logged['model_source']})")
    fit_into_xcom(metrics)  # before the joblib copy and the XCom, so a too-large XCom writes neither
    save_outputs(model, metrics, name, model_uri)


def log_model(run: common.TrackedRun, model, params: dict[str, object], metrics: dict[str, float]) -> dict[str, str]:
    """Log ``model`` to ``run`` with mlflow.sklearn.log_model as its logged model "model";
    returns the XCom's model_uri, model_id and model_source.

    The logged model gets ``params``; ``metrics`` go to the run, linked to
    the model, so they show on its page too. The model is logged by run id:
    resuming Trainyard's run as MLflow's active run would have MLflow end it
    when the process exits, and closing it is Trainyard's part. The model is
    pickled with cloudpickle (MLflow's default, skops, is not installed),
    and its pip requirements are the versions installed here, given
    explicitly: left to itself, log_model works them out in a subprocess,
    which takes seconds.
    """
    import logging
    from importlib.metadata import version

    import mlflow
    import mlflow.sklearn

    requirements = [f"{name}=={version(name)}" for name in MODEL_REQUIREMENTS]
    if mlflow.active_run() is None:
        # log_model puts the logged model in MLflow's current experiment; make that the run's.
        common.mlflow_call(
            f"use experiment {run.experiment_id}", lambda: mlflow.set_experiment(experiment_id=run.experiment_id)
        )
    # MLflow warns on stderr, at every save, that a pickle can run code when loaded; the step's own
    # log line says "pickled with cloudpickle" instead, and the steps' README says what that means.
    pickle_warning = _DropMessages("Saving scikit-learn models in the pickle or cloudpickle format")
    sklearn_logger = logging.getLogger("mlflow.sklearn")
    sklearn_logger.addFilter(pickle_warning)
    try:
        info = common.mlflow_call(
            f"log the model to run {run.run_id}",
            lambda: mlflow.sklearn.log_model(
                model,
                name="model",
                run_id=run.run_id,
                serialization_format="cloudpickle",
                pip_requirements=requirements,
                params=params,
            ),
        )
    finally:
        sklearn_logger.removeFilter(pickle_warning)
    run.log(metrics=metrics, model_id=info.model_id)
    # info.artifact_path is the logged model's artifact location, where a registry version's source points.
    return {"model_uri": info.model_uri, "model_id": info.model_id, "model_source": info.artifact_path}


class _DropMessages:
    """A logging filter that drops the records whose message starts with ``prefix``."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def filter(self, record) -> bool:
        return not record.getMessage().startswith(self.prefix)


def training_params(args: argparse.Namespace, backend: str, map_index: int | None) -> dict[str, object]:
    """The run's MLflow params: the hyperparameters, and the map index in a mapped step."""
    params: dict[str, object] = {
        "lr": args.lr,
        "batch_size": args.batch_size,
        "optimizer": args.optimizer,
        "epochs": args.epochs,
        "seed": args.seed,
        "backend": backend,
    }
    if map_index is not None:
        params["map_index"] = map_index
    return params


def save_outputs(model, metrics: dict, name: str, model_uri: str | None) -> None:
    """Write the joblib model and its metrics under ``model_uri`` (when there is one), then the XCom.

    A SIGTERM during the writes takes effect after them, so a stopped trial
    leaves the model, its metrics and the XCom, or none of them.
    """
    if model_uri is None:
        with common.stop_deferred():
            common.write_xcom(metrics)
        return
    with tempfile.TemporaryDirectory(prefix="trainyard-train-") as tmp:
        model_file = Path(tmp) / f"{name}.joblib"
        metrics_file = Path(tmp) / f"{name}.joblib.metrics.json"
        common.save_joblib(model_file, model)
        common.atomic_write_json(metrics_file, metrics)
        with common.stop_deferred():
            common.put_artifact(model_file, model_uri)
            common.put_artifact(metrics_file, f"{model_uri}.metrics.json")
            common.write_xcom(metrics)
    log(f"model saved to {model_uri}")


def fit_into_xcom(metrics: dict) -> None:
    """Drop the oldest metric_history entries until the XCom fits in XCOM_MAX_BYTES."""
    history = metrics["metric_history"]

    def size() -> int:
        return len(common.xcom_text(metrics).encode("utf-8"))

    while history and size() > common.XCOM_MAX_BYTES:
        del history[0]
    if size() > common.XCOM_MAX_BYTES:
        raise common.StepError(
            f"the XCom would be {size()} bytes, more than the {common.XCOM_MAX_BYTES} a pod can return; "
            "use a shorter TRAINYARD_ARTIFACTS_URI, MLflow artifact root or --experiment-name"
        )


def run_epochs(
    args: argparse.Namespace,
    train_epoch: Callable[[], float],
    val_accuracy: Callable[[], float],
    sender: common.MetricSender | None,
) -> tuple[list[Epoch], float]:
    """The epoch loop both backends share.

    ``train_epoch`` makes one pass over the training rows and returns its mean
    loss; ``val_accuracy`` scores the model as it stands on the validation
    rows. After each epoch one metric line is printed (see the module
    docstring), once the epoch has lasted --epoch-seconds, and the same values
    go to ``sender``, the MLflow run's background sender, when there is one.
    Returns the epochs' records and the seconds spent working, the simulated
    waiting left out.
    """
    history: list[Epoch] = []
    work = 0.0
    for epoch in range(1, args.epochs + 1):
        started = time.perf_counter()
        loss = train_epoch()
        if not math.isfinite(loss):
            raise common.StepError(f"training diverged in epoch {epoch} at --lr {args.lr:g} (loss {loss}); try a smaller --lr")
        accuracy = val_accuracy()
        spent = time.perf_counter() - started
        work += spent
        if args.epoch_seconds > spent:
            time.sleep(args.epoch_seconds - spent)
        history.append((epoch, accuracy, loss))
        common.report_metrics(epoch, val_accuracy=round(accuracy, 6), loss=round(loss, 6))
        if sender is not None:
            sender.send(epoch, val_accuracy=accuracy, loss=loss)
    return history, work


class _OrderRecorder(np.random.RandomState):
    """A seeded generator that remembers each permutation its ``shuffle`` makes."""

    def __init__(self, seed: int) -> None:
        super().__init__(seed)
        self.orders: list[np.ndarray] = []

    def shuffle(self, x) -> None:  # type: ignore[override]
        super().shuffle(x)
        self.orders.append(np.array(x, copy=True))


def train_with_sklearn(
    clf,
    X_fit: np.ndarray,
    y_fit: np.ndarray,
    X_val: np.ndarray,
    y_val: np.ndarray,
    args: argparse.Namespace,
    sender: common.MetricSender | None,
) -> tuple[list[Epoch], float]:
    """Trains ``clf`` one ``partial_fit`` pass per epoch, ending where one ``fit`` would.

    ``fit`` seeds one random generator, draws the initial weights from it and
    then, every epoch, reshuffles the previous epoch's row order with it. A
    ``partial_fit`` call would reseed from an integer ``random_state`` and
    start every shuffle from the rows as given. So while training,
    ``random_state`` is one seeded generator that records the permutation
    each call draws, and each call gets the rows in the order the previous
    epochs left them. Initial weights, minibatches and optimizer state (kept
    in ``clf`` between calls) are then those of ``fit`` with ``max_iter``
    epochs, and so is the model. Afterwards ``random_state`` is the plain seed
    again, and the generator a plain one in the same state.
    """
    from sklearn.exceptions import ConvergenceWarning

    seed = clf.random_state
    classes = np.unique(y_fit)
    generator = _OrderRecorder(seed)
    order = np.arange(len(y_fit))

    def train_epoch() -> float:
        nonlocal order
        generator.orders.clear()
        with warnings.catch_warnings(), np.errstate(over="ignore", invalid="ignore"):
            warnings.simplefilter("ignore", category=ConvergenceWarning)
            try:
                clf.partial_fit(X_fit[order], y_fit[order], classes=classes)
            except ValueError as err:
                if "non-finite" in str(err):
                    return math.nan  # run_epochs reports the divergence
                raise
        if len(generator.orders) == 1 and len(generator.orders[0]) == len(order):
            order = order[generator.orders[0]]
        return float(clf.loss_)

    def val_accuracy() -> float:
        return float(np.mean(clf.predict(X_val) == y_val))

    clf.random_state = generator
    try:
        history, work = run_epochs(args, train_epoch, val_accuracy, sender)
    finally:
        clf.random_state = seed
        plain = np.random.RandomState(seed)  # seeded, so that nothing random ends up in the pickle
        plain.set_state(generator.get_state())
        clf._random_state = plain
    clf.n_iter_ = len(history)  # partial_fit counts one iteration per call
    return history, work


def train_with_torch(
    clf,
    X_fit: np.ndarray,
    y_fit: np.ndarray,
    X_val: np.ndarray,
    y_val: np.ndarray,
    args: argparse.Namespace,
    batch_size: int,
    sender: common.MetricSender | None,
) -> tuple[list[Epoch], float]:
    """Trains the MLP's network with PyTorch, then copies the weights into ``clf``.

    Same shape as the scikit-learn model (64 inputs, one ReLU layer, softmax over
    10 classes), minibatches reshuffled every epoch from a seeded generator.
    The validation rows are scored on the same device after every epoch.
    """
    import torch  # type: ignore[import-not-found]

    torch.manual_seed(args.seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    X = torch.tensor(X_fit, dtype=torch.float32, device=device)
    y = torch.tensor(y_fit, dtype=torch.long, device=device)
    X_check = torch.tensor(X_val, dtype=torch.float32, device=device)
    y_check = torch.tensor(y_val, dtype=torch.long, device=device)
    hidden = HIDDEN_LAYERS[0]
    network = torch.nn.Sequential(
        torch.nn.Linear(X.shape[1], hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 10)
    ).to(device)
    params = network.parameters()
    if args.optimizer == "adam":
        optimizer = torch.optim.Adam(params, lr=args.lr)
    elif args.optimizer == "adamw":
        optimizer = torch.optim.AdamW(params, lr=args.lr, weight_decay=1e-2)
    else:
        optimizer = torch.optim.SGD(params, lr=args.lr, momentum=0.9, nesterov=True)
    generator = torch.Generator(device=device).manual_seed(args.seed)
    loss_fn = torch.nn.CrossEntropyLoss()

    def train_epoch() -> float:
        order = torch.randperm(len(y), generator=generator, device=device)
        total = torch.zeros((), device=device)
        for start in range(0, len(y), batch_size):
            batch = order[start : start + batch_size]
            optimizer.zero_grad()
            loss = loss_fn(network(X[batch]), y[batch])
            loss.backward()
            optimizer.step()
            total += loss.detach() * len(batch)
        return float(total) / len(y)

    def val_accuracy() -> float:
        with torch.no_grad():
            return float((network(X_check).argmax(dim=1) == y_check).float().mean())

    history, work = run_epochs(args, train_epoch, val_accuracy, sender)

    # Give clf its structure (classes, layer shapes, softmax output), then the trained weights.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.partial_fit(X_fit[:1], y_fit[:1], classes=np.arange(10))
    first, second = network[0], network[2]
    clf.coefs_ = [first.weight.detach().cpu().numpy().T.astype(np.float64), second.weight.detach().cpu().numpy().T.astype(np.float64)]
    clf.intercepts_ = [first.bias.detach().cpu().numpy().astype(np.float64), second.bias.detach().cpu().numpy().astype(np.float64)]
    clf.loss_curve_ = [loss for _, _, loss in history]
    clf.loss_ = clf.loss_curve_[-1]
    clf.n_iter_ = len(history)
    return history, work


def log(message: str) -> None:
    common.log(STEP, message)


if __name__ == "__main__":
    common.run_step(STEP, main)
