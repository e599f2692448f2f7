"""Round-0 diagnostics of a multi-annotator benchmark: how each model sees the starting label set.

    python benchmarks/wall_robot/diagnose_round0.py wall_robot_complete --data-mirror DIR [--models extra_trees mlp]

For every model: accuracy of its 5-fold out-of-fold probabilities (trained on the majority-vote labels, as round 0
of the loop), their confidence (median max probability), the CROWDLAB consensus accuracy with the protocol's
temperature calibration (``calibrate_probs=True``, what ActiveLab's consensus uses from round 1 on) and without
it, and how many of ActiveLab's ``B`` lowest-scored examples carry a wrong majority-vote / CROWDLAB label. It
explains curves; it is not a result.
"""

from __future__ import annotations

import argparse
import os

import numpy as np

from active_learning.annotators import AnnotationStore
from active_learning.config import load_config
from active_learning.models import make_model
from active_learning.models.cross_validation import cross_val_predict_proba
from active_learning.multiannotator.consensus import crowdlab, majority_vote
from active_learning.multiannotator.methods import ScoringInputs, get_method
from active_learning.tasks import DataAccess, MultiAnnotatorTask


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("benchmark", nargs="?", default="wall_robot_complete")
    parser.add_argument("--data-mirror", default=os.environ.get("AL_DATA_MIRROR") or None)
    parser.add_argument("--models", nargs="+", default=["extra_trees", "mlp"])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    config = load_config(args.benchmark)
    resolved = {"benchmark": config["name"], "dataset": config["dataset"], "data": config["data"]}
    pool = MultiAnnotatorTask._pool(resolved, DataAccess(mirror=args.data_mirror))
    store = AnnotationStore.from_mask(pool.annotator_labels, pool.initial_mask)  # the loop's round-0 labels
    labeled = store.labeled_examples()
    table = store.wide(labeled)
    truth = pool.y_pool[labeled]
    rng = np.random.default_rng(args.seed)
    tie_rng = np.random.default_rng([args.seed, 1])  # CROWDLAB's and ActiveLab's tie draws: leave the model seeds alone
    consensus = majority_vote(table, None, rng)
    budget = int(config["loop"]["batch_size"])
    print(f"{config['name']}: {labeled.size} labeled examples, {store.n_annotations} annotations, "
          f"majority-vote accuracy {np.mean(consensus == truth):.3f}")
    for model in args.models:
        seed = int(rng.integers(2**31 - 1))
        cv = cross_val_predict_proba(
            lambda: make_model(model, random_state=seed), pool.X_pool[labeled], consensus, {}, pool.n_classes,
            int(config["loop"]["n_folds"]), rng,
        )
        probs = cv.out_of_fold
        # the loop's own consensus (calibrated) and ActiveLab scorer, on the round-0 table
        consensus_crowdlab = {
            calibrate: crowdlab(table, probs, tie_rng, calibrate_probs=calibrate) for calibrate in (True, False)
        }
        inputs = ScoringInputs(
            labels_multiannotator=table, consensus_labels=consensus, pred_probs=probs[None],
            pred_probs_unlabeled=np.zeros((1, 0, pool.n_classes)), annotation_counts=store.counts[labeled],
            n_classes=pool.n_classes,
        )
        scores, _ = get_method("activelab").score(inputs, tie_rng)
        lowest = np.argsort(scores, kind="stable")[:budget]
        print(
            f"  {model}: out-of-fold accuracy {np.mean(probs.argmax(1) == truth):.3f}, median max probability "
            f"{np.median(probs.max(1)):.3f}; CROWDLAB consensus accuracy calibrated "
            f"{np.mean(consensus_crowdlab[True] == truth):.3f} / uncalibrated "
            f"{np.mean(consensus_crowdlab[False] == truth):.3f}; ActiveLab's {budget} lowest: "
            f"{int(np.sum(consensus[lowest] != truth[lowest]))} wrong majority-vote labels, "
            f"{int(np.sum(consensus_crowdlab[True][lowest] != truth[lowest]))} wrong calibrated-CROWDLAB labels"
        )


if __name__ == "__main__":
    main()
