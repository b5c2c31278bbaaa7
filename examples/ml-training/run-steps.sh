#!/usr/bin/env bash
# Runs the example's steps in pipeline order without Temporal, with the same
# environment contract the local runner gives them (run dir, XCom file, a
# file:// artifacts prefix per step), and prints each step's XCom. For checking
# the image code on another machine, such as a GPU host:
#   bash examples/ml-training/run-steps.sh PYTHON [TRAIN ARGS...]
set -euo pipefail
py=${1:?usage: run-steps.sh PYTHON [extra train.py arguments]}; shift
here="$(cd "$(dirname "$0")/image" && pwd)"
work=$(mktemp -d)
export TRAINYARD_RUN_ID="steps-$(date +%s)" TRAINYARD_RUN_DIR="$work/run" TRAINYARD_SERVING_DIR="$work/serving"
cd "$here"
step() {
  local name=$1; shift
  export TRAINYARD_XCOM_PATH="$work/xcom/$name.json" TRAINYARD_ARTIFACTS_URI="file://$work/artifacts/$name/"
  mkdir -p "$work/xcom"
  local started=$SECONDS
  "$py" "$@"
  echo "== $name ($((SECONDS - started))s): $(cat "$TRAINYARD_XCOM_PATH")"
}
step validate_data validate.py --date 2026-03-01
step preprocess_data preprocess.py --date 2026-03-01
step train_model train.py --lr 0.001 --batch-size 32 --optimizer adamw "$@"
model=$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["model_path"])' "$work/xcom/train_model.json")
step evaluate_model evaluate.py --model-path "$model"
step deploy_model deploy.py --model-path "$model" --model-name production-model
