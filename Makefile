# Active learning with noisy annotators: benchmark targets. Every target installs the environment first.
#   make smoke DATA_MIRROR=../shared/data          (DATA_MIRROR: optional folder mirroring the raw files)
#   make wall-robot DATA_MIRROR=../shared/data
SHELL := /bin/bash
VENV ?= .venv
PYTHON := $(VENV)/bin/python
N_JOBS ?= 2
RESULTS_DIR ?= results
DATA_MIRROR ?=
MIRROR_ARG := $(if $(DATA_MIRROR),--data-mirror $(abspath $(DATA_MIRROR)),)
RUN := $(PYTHON) -m active_learning run --n-jobs $(N_JOBS) --results-dir $(RESULTS_DIR) $(MIRROR_ARG)
export AL_DATA_MIRROR := $(if $(DATA_MIRROR),$(abspath $(DATA_MIRROR)),$(AL_DATA_MIRROR))

.PHONY: install test test-all lint smoke clean-scratch features simclr nas-synthetic bench-perf wall-robot wall-robot-complete wall-robot-extras wall-robot-all noise-aware cifar10h cifar10n-annotators cifar10n cifar10n-resnet18 cifar100 clothing1m report figures bench-wall-robot list clean-venv

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet -r requirements.txt
	@# setuptools' editable install always adds a 10-line notice ("Editable installation ... be careful with folders
	@# ..."), information only: filtered so that `make install` prints a few lines
	PYTHONWARNINGS='ignore:Editable installation' $(PYTHON) -m pip install --quiet --no-deps -e .
	touch $@

test: install  ## fast test suite (what CI runs), on every core (pytest-xdist)
	$(PYTHON) -m pytest -m "not slow" -q -n auto

test-all: install  ## every test, slow ones included
	$(PYTHON) -m pytest -q -n auto

lint: install  ## ruff on the package, benchmarks and tests, mypy on the package, the import-linter contracts (layers, no cycles): what CI runs; configured in pyproject.toml
	$(VENV)/bin/ruff check active_learning benchmarks tests
	$(VENV)/bin/mypy active_learning
	$(VENV)/bin/lint-imports

list: install
	$(PYTHON) -m active_learning list

SMOKE_ARGS ?= --models extra_trees --seeds 0 --set loop.rounds=4
smoke: install  ## a real benchmark end to end, under a minute on 2 cores (Wall Robot, ExtraTrees, every method, 1 seed, 4 rounds) into results_scratch/, with figures
	$(PYTHON) -m active_learning run wall_robot $(SMOKE_ARGS) --n-jobs $(N_JOBS) $(MIRROR_ARG)

clean-scratch:  ## delete results_scratch/ (ad-hoc runs and figures drawn from the committed results)
	rm -rf results_scratch

wall-robot: install  ## ActiveLab Wall Robot benchmark (ExtraTrees + MLP, 5 seeds) and its figure
	$(RUN) wall_robot

wall-robot-complete: install  ## Wall Robot Complete (every example starts labeled)
	$(RUN) wall_robot_complete

wall-robot-extras: install  ## the two extra benchmarks (single annotator; single vs multi over noise levels)
	$(RUN) wall_robot_single_annotator
	$(RUN) wall_robot_single_vs_multi

wall-robot-all: wall-robot wall-robot-complete wall-robot-extras

cifar10h: install  ## ActiveLab CIFAR-10H: the paper's splits and start set, classifiers on cached EfficientNet-Lite0 features, 5 seeds
	$(RUN) cifar10h

cifar10n-annotators: install  ## ActiveLab methods with CIFAR-10N's real workers (10,000 train images, 3 labels each), 5 seeds
	$(RUN) cifar10n_annotators

noise-aware: install  ## noise-aware re-labeling (a NAS noise filter flags labels, another annotator is asked): Wall Robot from one label per example, and CIFAR-10N's real workers, 5 seeds
	$(RUN) wall_robot_noise_aware
	$(RUN) cifar10n_annotators_noise_aware

cifar10n: install  ## NAS on CIFAR-10 / CIFAR-10N (EfficientNet-Lite0 features; 6 noise settings x 3 filters x 2 training sets x 10 strategies x 5 seeds) and its paper figures
	$(RUN) cifar10n

cifar10n-resnet18: install  ## NAS with the paper's classifier, a ResNet-18 trained on the selected CIFAR-10 images (meant for a GPU; 224-px features for selection)
	$(RUN) cifar10n_resnet18

cifar100: install  ## NAS on CIFAR-100 / CIFAR-100N (SimCLR features: `make simclr DATASET=cifar100` on a GPU, or your checkpoint)
	$(RUN) cifar100

clothing1m: install  ## NAS on a 100,000-image Clothing1M subset (DINOv2 features; needs the Clothing1M files)
	$(RUN) clothing1m

figures: install  ## redraw every figure from results/ and execute the notebooks in place
	$(PYTHON) -m active_learning figures wall_robot wall_robot_complete wall_robot_single_annotator wall_robot_single_vs_multi nas_sphere_clusters cifar10h cifar10n_annotators cifar10n --results-dir $(RESULTS_DIR)
	AL_RESULTS_DIR=$(if $(filter results,$(RESULTS_DIR)),../results,$(abspath $(RESULTS_DIR))) $(PYTHON) notebooks/execute.py notebooks/wall_robot.ipynb notebooks/wall_robot_extras.ipynb notebooks/real_annotators.ipynb notebooks/nas_cifar10n.ipynb

report: install  ## one self-contained HTML page (+ Markdown) of every benchmark in $(RESULTS_DIR)/: figures, final-round tables, deviations, provenance
	$(PYTHON) -m active_learning report --results-dir $(RESULTS_DIR)

DATASET ?= cifar10
ENCODER ?= efficientnet_lite0
features: install  ## cached image features + k-NN / linear-probe report (DATASET=cifar10 ENCODER=efficientnet_lite0)
	$(PYTHON) -m active_learning features --dataset $(DATASET) --encoder $(ENCODER) $(MIRROR_ARG)

EPOCHS ?= 500
simclr: install  ## SimCLR pretraining of a CIFAR ResNet-18 (DATASET=cifar10 EPOCHS=500; meant for a GPU)
	$(PYTHON) -m active_learning simclr --dataset $(DATASET) --epochs $(EPOCHS) $(MIRROR_ARG)

nas-synthetic: install  ## NAS strategies vs their bases on synthetic clusters with 50 % symmetric noise
	$(RUN) nas_sphere_clusters

bench-perf: install  ## coverage strategies (ProbCover, NPC, MaxHerding) at N=50,000 x 512 and N=200,000 vs a measured floor
	nice -n 19 $(PYTHON) benchmarks/perf/bench_coverage.py --large-n 200000

bench-wall-robot: install  ## wall time of the Wall Robot grid with --n-jobs 1 and 2 (BENCH_ARGS to restrict it)
	$(PYTHON) benchmarks/wall_robot/bench_walltime.py $(MIRROR_ARG) $(BENCH_ARGS)

clean-venv:
	rm -rf $(VENV)
