"""Writes the paper-figure notebooks (run once when their cells change; the notebooks are committed):
``python _make_notebooks.py [NAME.ipynb ...]`` from ``notebooks/`` (default: all of them)."""

import nbformat as nbf

SETUP = """import os
from pathlib import Path

import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from active_learning.plotting import calibration_markdown, efficiency_table, load_results, plot_benchmark, summary_markdown

# The tests run this notebook on small results by setting AL_RESULTS_DIR.
RESULTS_DIR = Path(os.environ.get("AL_RESULTS_DIR", "../results"))
print("results from", RESULTS_DIR)"""


def notebook(cells):
    nb = nbf.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbf.v4.new_markdown_cell(c[1]) if c[0] == "md" else nbf.v4.new_code_cell(c[1]) for c in cells]
    return nb


wall_robot = notebook([
    ("md", "# ActiveLab on Wall Robot: consensus-label and test accuracy per round\n\n"
           "Reproduces the Wall Robot figures of *ActiveLab: Active Learning with Re-Labeling by Multiple Annotators* "
           "(Goh & Mueller 2023) from the per-seed results in `results/` (`make wall-robot wall-robot-complete`), on "
           "the paper's own data (the original data notebooks replayed literally, SEED 111). "
           "Lines: mean over seeds; bands: ±1 std. Test accuracy follows the paper's definition: the mean test "
           "accuracy of the 5 cross-validation fold models for a single model, the argmax of the members' "
           "fold-averaged probabilities for an ensemble (weighted by CROWDLAB's model weights for ActiveLab's); "
           "`model_accuracy_refit` is a model refit on all labeled data.\n\n"
           "ActiveLab runs three times: with the benchmark's temperature search (solid, the reproduction), with "
           "cleanlab 2.9's (dashed) and with the library's recommended row-wise search (dotted)."),
    ("code", SETUP),
    ("code", "BENCHMARKS = [b for b in os.environ.get('AL_NOTEBOOK_BENCHMARKS', 'wall_robot,wall_robot_complete').split(',') if (RESULTS_DIR / b).is_dir()]\n"
             "results = {b: load_results(RESULTS_DIR, b) for b in BENCHMARKS}\n"
             "{b: df.groupby(['model', 'method']).seed.nunique().to_dict() for b, df in results.items()}"),
    ("md", "## Accuracy per round"),
    ("code", "for b, df in results.items():\n"
             "    fig = plot_benchmark(df, metrics=['consensus_accuracy', 'model_accuracy'], columns='model', title=b)\n"
             "    plt.show()"),
    ("md", "## Accuracy against the number of annotations collected"),
    ("code", "for b, df in results.items():\n"
             "    fig = plot_benchmark(df, metrics=['consensus_accuracy', 'model_accuracy_refit'], columns='model', x='n_annotations', title=b)\n"
             "    plt.show()"),
    ("md", "## Final round (mean ± std over seeds)"),
    ("code", "for b, df in results.items():\n"
             "    display(Markdown(f'### {b}\\n' + summary_markdown(df)))"),
    ("md", "## What the temperature calibration does\n\n"
           "The temperature ActiveLab applied each round, CROWDLAB's model weight and how many of its 100 labels went to new examples, per "
           "calibration; then the final-round accuracies side by side."),
    ("code", "for b, df in results.items():\n"
             "    methods = sorted(set(df[df.metric == 'temperature'].method))\n"
             "    if methods:\n"
             "        fig = plot_benchmark(df[df.method.isin(methods)], metrics=['temperature', 'model_weight', 'n_new'], columns='model', title=b)\n"
             "        plt.show()\n"
             "    display(Markdown(f'### {b}\\n' + calibration_markdown(df)))"),
    ("md", "## Annotations ActiveLab needs to reach the best baseline's final test accuracy"),
    ("code", "for b, df in results.items():\n"
             "    display(Markdown(f'### {b}'))\n"
             "    display(efficiency_table(df, 'activelab', 'model_accuracy'))"),
    ("md", "## Where the annotations went: new examples vs re-labels per round"),
    ("code", "for b, df in results.items():\n"
             "    fig = plot_benchmark(df, metrics=['n_new', 'annotations_per_example'], columns='model', title=b)\n"
             "    plt.show()"),
])

extras = notebook([
    ("md", "# ActiveLab extra benchmarks on Wall Robot\n\n"
           "1. **Single annotator** (`wall_robot_single_annotator`): one 40 %-noisy label per example, new examples only; "
           "ActiveLab's score then reduces to least confidence.\n"
           "2. **Single vs multiple annotators** (`wall_robot_single_vs_multi`): ActiveLab with re-labeling against "
           "entropy sampling of new examples only, at annotator noise-matrix traces 0.6–1.0.\n\n"
           "Metric: test accuracy of a model refit on all labeled data (as the reference notebooks)."),
    ("code", SETUP),
    ("code", "single = load_results(RESULTS_DIR, 'wall_robot_single_annotator')\n"
             "fig = plot_benchmark(single, metrics=['model_accuracy_refit'], columns='model', title='single annotator')\n"
             "plt.show()\n"
             "display(Markdown(summary_markdown(single, metrics=['model_accuracy_refit', 'model_accuracy'])))"),
    ("code", "versus = load_results(RESULTS_DIR, 'wall_robot_single_vs_multi')\n"
             "fig = plot_benchmark(versus, metrics=['model_accuracy_refit'], columns='variant', title='single vs multiple annotators')\n"
             "plt.show()\n"
             "fig = plot_benchmark(versus, metrics=['consensus_accuracy'], columns='variant', title='training-label accuracy')\n"
             "plt.show()\n"
             "display(Markdown(summary_markdown(versus, metrics=['model_accuracy_refit', 'consensus_accuracy'])))\n"
             "display(Markdown(calibration_markdown(versus, metrics=['model_accuracy_refit', 'consensus_accuracy'])))"),
])

real_annotators = notebook([
    ("md", "# ActiveLab with real human annotators: CIFAR-10H and CIFAR-10N\n\n"
           "1. **CIFAR-10H** (`make cifar10h`; Goh & Mueller 2023, spec §3.2): the CIFAR-10 test images, the paper's "
           "splits (1,000 labeled / 4,000 unlabeled / 5,000 test), a poor start set of 1,447 labels, new labels drawn "
           "from each image's ~51 human labels; 500 labels per round.\n"
           "2. **CIFAR-10N annotators** (`make cifar10n-annotators`): 10,000 CIFAR-10 train images with their three "
           "real CIFAR-10N workers; one real label on 1,000 images at the start; every new label is one of the image's "
           "not-yet-revealed worker labels (an image is exhausted after three).\n\n"
           "Models: classifiers on cached EfficientNet-Lite0 features (CPU; the paper fine-tuned ResNet-18 on a GPU). "
           "Lines: mean over seeds; bands: ±1 std. Test accuracy as the paper defines it (fold-model mean; ensembles: "
           "argmax of the members' mean)."),
    ("code", SETUP),
    ("code", "BENCHMARKS = [b for b in os.environ.get('AL_NOTEBOOK_BENCHMARKS', 'cifar10h,cifar10n_annotators').split(',') if (RESULTS_DIR / b).is_dir()]\n"
             "results = {b: load_results(RESULTS_DIR, b) for b in BENCHMARKS}\n"
             "{b: df.groupby(['model', 'method']).seed.nunique().to_dict() for b, df in results.items()}"),
    ("md", "## Accuracy against the number of annotations collected"),
    ("code", "for b, df in results.items():\n"
             "    fig = plot_benchmark(df, metrics=['consensus_accuracy', 'model_accuracy'], columns='model', x='n_annotations', title=b)\n"
             "    plt.show()"),
    ("md", "## Final round (mean ± std over seeds)"),
    ("code", "for b, df in results.items():\n"
             "    display(Markdown(f'### {b}\\n' + summary_markdown(df)))\n"
             "    display(Markdown(calibration_markdown(df)))"),
    ("md", "## Where the annotations went: new examples vs re-labels per round"),
    ("code", "for b, df in results.items():\n"
             "    fig = plot_benchmark(df, metrics=['n_new', 'annotations_per_example'], columns='model', title=b)\n"
             "    plt.show()"),
    ("md", "## Annotations ActiveLab needs to reach the best baseline's final accuracy"),
    ("code", "for b, df in results.items():\n"
             "    display(Markdown(f'### {b}'))\n"
             "    display(efficiency_table(df, 'activelab', 'model_accuracy'))"),
])

NAS_SETUP = """import importlib.util
import os
from pathlib import Path

import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from active_learning.config import BENCHMARKS_DIR
from active_learning.plotting import factor_label, load_results, samples_per_class, variant_factors

# The tests run this notebook on small results by setting AL_RESULTS_DIR.
RESULTS_DIR = Path(os.environ.get("AL_RESULTS_DIR", "../results"))
print("results from", RESULTS_DIR)


def script(name):
    \"\"\"benchmarks/cifar10n/<name>.py of this checkout as a module: the same figures and tables as the repository's.\"\"\"
    spec = importlib.util.spec_from_file_location(f"cifar10n_{name}", BENCHMARKS_DIR / "cifar10n" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


figures, report_tables = script("figures"), script("report_tables")"""

nas_cifar10n = notebook([
    ("md", "# NAS on CIFAR-10 / CIFAR-10N: noise-aware strategies against their bases\n\n"
           "The CIFAR-10 / CIFAR-10N benchmark of *Active Learning with a Noisy Annotator* (Shafir, Hacohen, Weinshall "
           "2025, arXiv:2504.04506) from the per-seed results in `results/cifar10n` (`make cifar10n`; "
           "`benchmarks/cifar10n/README.md` lists the setup and its deviations from the paper). One noisy annotator; "
           "budgets of 1–5 expected-clean samples per class; noise: symmetric 20 % / 50 %, asymmetric 40 % and the "
           "real CIFAR-10N label sets aggre / random1 / worse; filters: ideal (ground truth, an upper bound), "
           "CrossValidation and LowBudgetAUM; a linear probe on frozen EfficientNet-Lite0 features, trained on the "
           "predicted-clean points (`clean`) or on every labeled point (`all`).\n\n"
           "The figures are those of `benchmarks/cifar10n/figures.py` (written to `results/cifar10n/figures/`), the "
           "tables those of `benchmarks/cifar10n/report_tables.py` (in the README). Whatever part of the grid has "
           "finished is shown; strategies, settings and seeds without results are left out, never filled in. Colours "
           "are those of every figure of the repository: a noise-aware strategy in its base's colour, dashed."),
    ("code", NAS_SETUP),
    ("md", "## What has finished\n\nRuns (variant × seed) per strategy and training setting."),
    ("code", "df = load_results(RESULTS_DIR, 'cifar10n')\n"
             "spc = samples_per_class(RESULTS_DIR, 'cifar10n')  # the budget of each round, from the runs' sidecars\n"
             "runs = variant_factors(df[df.metric == 'accuracy'])[['method', 'training', 'variant', 'seed']].drop_duplicates()\n"
             "runs.groupby(['method', 'training']).size().unstack(fill_value=0)"),
    ("md", "## Test accuracy against the budget\n\n"
           "Rows: noise settings; columns: filters; one line per strategy, mean ± 1 std over seeds (the legend gives "
           "the number of seeds). One figure per training setting."),
    ("code", "for training in figures.trainings(df):\n"
             "    display(Markdown(f'### Linear probe {factor_label(\"training\", training)}'))\n"
             "    figures.accuracy_figure(df, training, spc)\n"
             "    plt.show()"),
    ("md", "## Noise-aware strategy minus its base\n\n"
           "NPC and weighted NPC − ProbCover, MaxHerding+NAS − MaxHerding, Coreset+NAS − Coreset: test accuracy "
           "paired by seed, mean ± 95 % confidence interval (Student t over the seeds both ran). Above zero the "
           "noise-aware version is better; a band that excludes zero is a difference the seeds support. The table "
           "below gives the same differences (mean ± std; bold: the mean exceeds twice its standard error)."),
    ("code", "for training in figures.trainings(df):\n"
             "    fig = figures.nas_vs_base_figure(df, training, spc)\n"
             "    if fig is None:\n"
             "        print(f'{training}: no strategy pair has results on common seeds yet')\n"
             "        continue\n"
             "    display(Markdown(f'### Linear probe {factor_label(\"training\", training)}'))\n"
             "    plt.show()\n"
             "tables = report_tables.tables_of(df)\n"
             "display(Markdown(tables['nas-cifar10n-pairs']))"),
    ("md", "## The noise filters\n\n"
           "Precision and recall of the clean class of the CrossValidation and LowBudgetAUM filters on NPC's labeled "
           "sets, per round (the ideal filter is exact by construction). The grey line is the clean fraction of the "
           "labeled set, the precision of keeping every label: a filter helps only above it. The table: NPC's test "
           "accuracy at the last budget with each filter."),
    ("code", "fig = figures.filter_quality_figure(df, spc)\n"
             "if fig is None:\n"
             "    print('no CrossValidation / LowBudgetAUM results of NPC yet')\n"
             "else:\n"
             "    plt.show()\n"
             "display(Markdown(tables['nas-cifar10n-filters']))"),
    ("md", "## Last budget, every strategy (mean ± std over seeds)"),
    ("code", "display(Markdown(tables['nas-cifar10n-final']))"),
])

NOTEBOOKS = {
    "wall_robot.ipynb": wall_robot,
    "wall_robot_extras.ipynb": extras,
    "real_annotators.ipynb": real_annotators,
    "nas_cifar10n.ipynb": nas_cifar10n,
}

if __name__ == "__main__":
    import sys

    # python _make_notebooks.py [NAME.ipynb ...]: only the named ones (the others keep their executed outputs)
    for name in sys.argv[1:] or NOTEBOOKS:
        nbf.write(NOTEBOOKS[name], name)
