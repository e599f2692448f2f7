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
import contextlib
import io
import os

import numpy as np

from active_learning.annotators import AnnotationStore
from active_learning.config import load_config
from active_learning.models import make_model
from active_learning.models.cross_validation import cross_val_predict_proba
from active_learning.multiannotator.consensus import majority_vote
from active_learning.tasks import DataAccess, MultiAnnotatorTask


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("benchmark", nargs="?", default="wall_robot_complete")
    parser.add_argument("--data-mirror", default=os.environ.get("AL_DATA_MIRROR") or None)
    parser.add_argument("--models", nargs="+", default=["extra_trees", "mlp"])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from cleanlab.multiannotator import get_active_learning_scores, get_label_quality_multiannotator

    config = load_config(args.benchmark)
    resolved = {"benchmark": config["name"], "dataset": config["dataset"], "data": config["data"]}
    pool = MultiAnnotatorTask._pool(resolved, DataAccess(mirror=args.data_mirror))
    store = AnnotationStore.from_mask(pool.annotator_labels, pool.initial_mask)  # the loop's round-0 labels
    labeled = store.labeled_examples()
    table = store.wide(labeled)
    truth = pool.y_pool[labeled]
    rng = np.random.default_rng(args.seed)
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
        crowdlab = {}
        with contextlib.redirect_stdout(io.StringIO()):
            for calibrate in (True, False):
                result = get_label_quality_multiannotator(
                    table, probs.copy(), calibrate_probs=calibrate, verbose=False,
                    return_detailed_quality=False, return_annotator_stats=False,
                )
                crowdlab[calibrate] = result["label_quality"]["consensus_label"].to_numpy()
            scores, _ = get_active_learning_scores(table, probs.copy())
        lowest = np.argsort(scores, kind="stable")[:budget]
        print(
            f"  {model}: out-of-fold accuracy {np.mean(probs.argmax(1) == truth):.3f}, median max probability "
            f"{np.median(probs.max(1)):.3f}; CROWDLAB consensus accuracy calibrated {np.mean(crowdlab[True] == truth):.3f}"
            f" / uncalibrated {np.mean(crowdlab[False] == truth):.3f}; ActiveLab's {budget} lowest: "
            f"{int(np.sum(consensus[lowest] != truth[lowest]))} wrong majority-vote labels, "
            f"{int(np.sum(crowdlab[True][lowest] != truth[lowest]))} wrong calibrated-CROWDLAB labels"
        )


if __name__ == "__main__":
    main()
