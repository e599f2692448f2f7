"""Writes the paper-figure notebooks (run once when their cells change; the notebooks are committed)."""

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

if __name__ == "__main__":
    nbf.write(wall_robot, "wall_robot.ipynb")
    nbf.write(extras, "wall_robot_extras.ipynb")
    nbf.write(real_annotators, "real_annotators.ipynb")
