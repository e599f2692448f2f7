"""Round-0 diagnostics of a multi-annotator benchmark: what each calibration choice does to CROWDLAB and ActiveLab.

    python benchmarks/wall_robot/diagnose_round0.py wall_robot --data-mirror DIR [--models extra_trees mlp]

Builds the benchmark's starting set (the configured data draw), trains each model with 5-fold cross-validation on
the majority-vote labels (as round 0 of the loop), then for every calibration choice (benchmark, cleanlab, rowwise,
none) prints the temperature, the median max probability after scaling, CROWDLAB's model weight ``w_M`` and mean
annotator weight, the CROWDLAB consensus accuracy, and how ActiveLab's first batch splits into new examples and
re-labels (and how many of its re-labels hit a wrong majority-vote label). It explains curves; it is not a result.
"""

from __future__ import annotations

import argparse
import os

import numpy as np

from active_learning.config import load_config
from active_learning.learners import make_estimator
from active_learning.learners import cross_val_predict_proba
from active_learning.pools import DataAccess, build_pool
from active_learning.multiannotator.calibration import CALIBRATIONS, fit_temperature, scale_probabilities
from active_learning.multiannotator.consensus import crowdlab_fit, majority_vote_labels
from active_learning.multiannotator.methods.activelab import activelab_scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("benchmark", nargs="?", default="wall_robot")
    parser.add_argument("--data-mirror", default=os.environ.get("AL_DATA_MIRROR") or None)
    parser.add_argument("--models", nargs="+", default=["extra_trees", "mlp"])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    config = load_config(args.benchmark)
    pool = build_pool(config["dataset"], config["data"], DataAccess(mirror=args.data_mirror))
    store = pool.initial_store()  # the loop's round-0 labels
    labeled = store.labeled_examples()
    unlabeled = np.setdiff1d(np.arange(pool.X_pool.shape[0]), labeled)
    table = store.wide(labeled)
    truth = pool.y_pool[labeled]
    rng = np.random.default_rng(args.seed)
    tie_rng = np.random.default_rng([args.seed, 1])  # tie draws: leave the model seeds alone
    tie_break = config["loop"].get("tie_break", "least_frequent")
    consensus = majority_vote_labels(table, None, tie_rng, tie_break=tie_break)
    budget = int(config["loop"]["batch_size"])
    print(f"{config['name']} ({config['data'].get('draw', config['data'].get('pool', 'generator'))} draw): {labeled.size} labeled, "
          f"{unlabeled.size} unlabeled, {store.n_annotations} annotations, majority-vote accuracy "
          f"{np.mean(consensus == truth):.3f} (ties: {tie_break})")
    for model in args.models:
        seed = int(rng.integers(2**31 - 1))
        cv = cross_val_predict_proba(
            lambda: make_estimator(model, random_state=seed), pool.X_pool[labeled], consensus,
            {"unlabeled": pool.X_pool[unlabeled]}, pool.n_classes, int(config["loop"]["n_folds"]), rng,
        )
        probs, probs_unlabeled = cv.out_of_fold, cv.averaged("unlabeled")
        print(f"  {model}: out-of-fold accuracy {np.mean(probs.argmax(1) == truth):.3f}, "
              f"exact zeros {np.mean(probs == 0):.0%} of the probabilities")
        for calibration in CALIBRATIONS:
            temperature = fit_temperature(table, probs, calibration)
            fit = crowdlab_fit(table, probs, tie_rng, calibration=calibration)
            labeled_scores, unlabeled_scores, _ = activelab_scores(
                table, probs[None], probs_unlabeled[None], tie_rng, calibration=calibration
            )
            order = np.argsort(np.concatenate([labeled_scores, unlabeled_scores]), kind="stable")[:budget]
            relabels = order[order < labeled.size]
            print(
                f"    {calibration:>9}: T={temperature:.2f}, median max prob "
                f"{np.median(scale_probabilities(probs, temperature).max(1)):.2f}, w_M={fit.model_weights[0]:.2f}, "
                f"mean w_j={fit.annotator_weights.mean():.2f}, CROWDLAB consensus {np.mean(fit.consensus == truth):.3f}; "
                f"ActiveLab's first {budget}: {budget - relabels.size} new, {relabels.size} re-labels "
                f"({int(np.sum(consensus[relabels] != truth[relabels]))} on wrong majority-vote labels)"
            )


if __name__ == "__main__":
    main()
