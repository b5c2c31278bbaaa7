"""Step 3: train one candidate model for one set of hyperparameters.

Usage:
    python train.py --lr FLOAT --batch-size INT --optimizer adam|adamw|sgd
                    [--epochs 60] [--seed 42] [--experiment-name NAME] [--run-dir DIR]

Reads <run_dir>/data/train.npz and scaler.joblib (from preprocess.py), holds
out a stratified 15% of the training rows for validation, and fits a
scikit-learn MLPClassifier with one hidden layer of 64 units:

  optimizer  solver  alpha (L2 penalty)
  adam       adam    1e-4
  adamw      adam    1e-2  -- scikit-learn has no decoupled weight decay, so
                              AdamW is approximated by a stronger penalty
  sgd        sgd     1e-4, momentum 0.9 with Nesterov steps

``--lr`` is learning_rate_init, ``--batch-size`` the minibatch size (clipped
to the number of training rows), ``--epochs`` max_iter. Early stopping is off:
the run always goes the full number of epochs, and scikit-learn's
"did not converge" warning is silenced because that is expected here.

The model saved is a Pipeline of the fitted scaler followed by the fitted
MLP, so it takes raw pixel values (0..16) and can be served on its own.
It goes to <run_dir>/models/<name>.joblib, where the name spells out the
hyperparameters: ``mlp-lr0.001-bs32-adam``, with ``-ep<N>`` and ``-seed<S>``
appended when --epochs or --seed differ from their defaults. The metrics
are also written beside it as <model>.joblib.metrics.json.

``--backend`` picks who trains: ``sklearn`` (scikit-learn's MLP, on the CPU),
``torch`` (the same network in PyTorch, on the GPU when one is visible, with a
true decoupled AdamW), or ``auto`` (the default: torch when it is installed and
sees a GPU, else sklearn). A torch-trained network is copied into a fitted
MLPClassifier, so the saved model has the same format either way and
evaluate.py and deploy.py do not care who trained it. ``device`` is "cpu" or
"cuda:<gpu name>": where the training actually ran.

XCom: {"accuracy" (validation), "f1_score" (macro, validation), "loss" (final
training loss), "model_path", "run_id", "hyperparams": {"lr", "batch_size",
"optimizer", "epochs"}, "device", plus "model_name", "experiment_name",
"epochs_run" and "seed"}.
"""

from __future__ import annotations

import argparse
import importlib.util
import time
import warnings

import numpy as np

import common

STEP = "train"
HIDDEN_LAYERS = (64,)
VALIDATION_SHARE = 0.15
DEFAULT_EPOCHS = 60
DEFAULT_SEED = 42
OPTIMIZERS = {
    # optimizer name -> MLPClassifier settings
    "adam": {"solver": "adam", "alpha": 1e-4},
    "adamw": {"solver": "adam", "alpha": 1e-2},
    "sgd": {"solver": "sgd", "alpha": 1e-4, "momentum": 0.9, "nesterovs_momentum": True},
}


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
    parser.add_argument("--experiment-name", default=None, help="label recorded with the metrics")
    parser.add_argument(
        "--backend", choices=["auto", "sklearn", "torch"], default="auto", help="who trains (default auto: torch on a GPU if there is one)"
    )
    common.add_run_dir_argument(parser)
    return parser.parse_args()


def model_name(args: argparse.Namespace) -> str:
    name = f"mlp-lr{args.lr:g}-bs{args.batch_size}-{args.optimizer}"
    if args.epochs != DEFAULT_EPOCHS:
        name += f"-ep{args.epochs}"
    if args.seed != DEFAULT_SEED:
        name += f"-seed{args.seed}"
    return name


def main() -> None:
    args = parse_args()
    run_dir = common.resolve_run_dir(args.run_dir)
    common.seed_everything(args.seed)

    train = common.load_split(run_dir, "train")
    scaler_path = common.data_dir(run_dir) / "scaler.joblib"
    if not scaler_path.is_file():
        raise common.StepError(f"scaler is missing: {scaler_path} does not exist; run preprocess.py for this run first")

    import joblib
    from sklearn.exceptions import ConvergenceWarning
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
    name = model_name(args)
    experiment = args.experiment_name or "default"
    log(
        f"{name}: {len(y_fit)} training rows, {len(y_val)} validation rows, "
        f"optimizer {args.optimizer}, {args.epochs} epochs, seed {args.seed}, experiment {experiment}"
    )
    log(f"backend {backend} on {device}")

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
    if backend == "torch":
        train_with_torch(clf, X_fit, y_fit, args, batch_size)
    else:
        try:
            with warnings.catch_warnings(), np.errstate(over="ignore", invalid="ignore"):
                warnings.simplefilter("ignore", category=ConvergenceWarning)
                clf.fit(X_fit, y_fit)
        except ValueError as err:
            if "non-finite" in str(err):
                raise common.StepError(f"training diverged at --lr {args.lr:g} ({err}); try a smaller --lr") from None
            raise
    elapsed = time.perf_counter() - started

    curve = clf.loss_curve_
    every = max(1, len(curve) // 6)
    for epoch in list(range(every, len(curve), every)) + [len(curve)]:
        log(f"epoch {epoch}/{args.epochs}: loss {curve[epoch - 1]:.4f}")

    loss = float(clf.loss_)
    if not np.isfinite(loss):
        raise common.StepError(f"training diverged (loss {loss}); try a smaller --lr")

    predicted = clf.predict(X_val)
    accuracy = float(accuracy_score(y_val, predicted))
    f1 = float(f1_score(y_val, predicted, average="macro"))
    log(f"validation accuracy {accuracy:.4f}, macro F1 {f1:.4f}, final loss {loss:.4f} ({elapsed:.2f}s)")

    models = run_dir / "models"
    model_path = models / f"{name}.joblib"
    model = Pipeline([("scaler", scaler), ("mlp", clf)])
    common.save_joblib(model_path, model)

    metrics = {
        "accuracy": round(accuracy, 6),
        "f1_score": round(f1, 6),
        "loss": round(loss, 6),
        "model_path": str(model_path),
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
        "epochs_run": int(clf.n_iter_),
        "device": device,
        "backend": backend,
        "train_seconds": round(elapsed, 3),
    }
    common.atomic_write_json(model_path.with_name(model_path.name + ".metrics.json"), metrics)
    log(f"model saved to {model_path}")
    common.write_xcom(metrics)


def train_with_torch(clf, X_fit: np.ndarray, y_fit: np.ndarray, args: argparse.Namespace, batch_size: int) -> None:
    """Trains the MLP's network with PyTorch, then copies the weights into ``clf``.

    Same shape as the scikit-learn model (64 inputs, one ReLU layer, softmax over
    10 classes), minibatches reshuffled every epoch from a seeded generator.
    """
    import torch  # type: ignore[import-not-found]

    torch.manual_seed(args.seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    X = torch.tensor(X_fit, dtype=torch.float32, device=device)
    y = torch.tensor(y_fit, dtype=torch.long, device=device)
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
    curve: list[float] = []
    for _ in range(args.epochs):
        order = torch.randperm(len(y), generator=generator, device=device)
        total = torch.zeros((), device=device)
        for start in range(0, len(y), batch_size):
            batch = order[start : start + batch_size]
            optimizer.zero_grad()
            loss = loss_fn(network(X[batch]), y[batch])
            loss.backward()
            optimizer.step()
            total += loss.detach() * len(batch)
        curve.append(float(total) / len(y))
        if not np.isfinite(curve[-1]):
            raise common.StepError(f"training diverged at --lr {args.lr:g}; try a smaller --lr")

    # Give clf its structure (classes, layer shapes, softmax output), then the trained weights.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.partial_fit(X_fit[:1], y_fit[:1], classes=np.arange(10))
    first, second = network[0], network[2]
    clf.coefs_ = [first.weight.detach().cpu().numpy().T.astype(np.float64), second.weight.detach().cpu().numpy().T.astype(np.float64)]
    clf.intercepts_ = [first.bias.detach().cpu().numpy().astype(np.float64), second.bias.detach().cpu().numpy().astype(np.float64)]
    clf.loss_curve_ = curve
    clf.loss_ = curve[-1]
    clf.n_iter_ = args.epochs


def log(message: str) -> None:
    common.log(STEP, message)


if __name__ == "__main__":
    common.run_step(STEP, main)
