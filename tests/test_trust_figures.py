"""Commands never rewrite committed files, one colour per method, readable figures (figures and report).

On small results that the tests make: rerunning a finished benchmark or redrawing its figures leaves their bytes and
files alone; the report is the same bytes from the same results (no date, no path of this machine, provenance from
the sidecars only); every method has its own colour in every figure and coinciding curves stay visible; titles
cite no specification sections; a NAS grid's final table is a pivot.
"""

import json
import re
import shutil

import numpy as np
import pandas as pd
import pytest
import yaml

from active_learning.cli import build_parser, main
from active_learning.plotting import make_figures
from active_learning.report import build_report, png_text
from active_learning.runner import run_grid

from conftest import toy_config

MULTI = toy_config("trust_multi", rounds=2, seeds=[0, 1], models={"extra_trees": {"methods": [
    "random", {"name": "activelab", "method": "activelab", "params": {"calibration": "benchmark"}},
    {"name": "activelab_rowwise", "method": "activelab", "params": {"calibration": "rowwise"}},
], "params": {"n_estimators": 10}}})

NAS_GRID = {
    "name": "trust_nas",
    "task": "noisy_single_annotator",
    "dataset": {"name": "sphere_clusters", "n_classes": 5, "n_per_cluster": 30, "n_features": 8, "seed": 1},
    "data": {"seed": 0, "test_fraction": 0.3, "noise": {"type": "symmetric", "rate": 0.2},
             "budget": {"samples_per_class": [1, 2]}},
    "loop": {"filter": "ideal"},
    "seeds": [0, 1],
    "models": {"one_nn": {"methods": ["random", {"name": "npc", "method": "npc", "params": {"delta": 0.6}}]}},
    "variants": [
        {"name": f"{noise}_ideal_clean", "data": {"noise": {"type": "symmetric", "rate": rate}}}
        for noise, rate in (("sym0.2", 0.2), ("sym0.5", 0.5))
    ],
    "figure": {"metrics": ["accuracy"], "columns": "variant"},
}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    root = tmp_path_factory.mktemp("trust") / "results"
    for config in (MULTI, NAS_GRID):
        run_grid(config, results_dir=root, n_jobs=1, backend="sequential", progress=False)
        make_figures(config["name"], root, figure=config["figure"])
    return root


def _snapshot(folder):
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(folder.glob("*.png"))}


@pytest.fixture
def close_figures():
    import matplotlib.pyplot as plt

    yield
    plt.close("all")


# --------------------------------------------------------------------------------------- figures: byte-stable


def test_rerunning_a_finished_benchmark_rewrites_no_figure(results, tmp_path, capsys):
    root = tmp_path / "results"
    shutil.copytree(results, root)
    figures = root / MULTI["name"] / "figures"
    before = _snapshot(figures)
    assert len(before) == 3
    config = tmp_path / "trust_multi.yaml"
    config.write_text(yaml.safe_dump(MULTI))
    assert main(["run", str(config), "--results-dir", str(root), "--no-progress"]) == 0
    assert "ran 0 job(s), skipped 6" in capsys.readouterr().out
    assert _snapshot(figures) == before  # same bytes, and the files were not even touched
    assert main(["figures", MULTI["name"], "--results-dir", str(root), "--no-progress"]) == 0
    assert _snapshot(figures) == before


def test_figures_are_the_same_bytes_wherever_they_are_drawn(results, tmp_path):
    again = make_figures(NAS_GRID["name"], results, tmp_path / "again", figure=NAS_GRID["figure"])
    for path in again:
        committed = results / NAS_GRID["name"] / "figures" / path.name
        assert path.read_bytes() == committed.read_bytes()
        assert png_text(path, "Software") is None  # no matplotlib version in the file
        assert png_text(path, "Source").startswith("8 runs, newest finished ")  # what it was drawn from


def test_save_figure_writes_only_a_changed_image(tmp_path, close_figures):
    import matplotlib.pyplot as plt

    from active_learning.plotting import save_figure

    def draw(y):
        fig, ax = plt.subplots(figsize=(2, 2))
        ax.plot([0, 1], [0, y])
        return fig

    path = tmp_path / "f.png"
    assert save_figure(draw(1.0), path) is True
    stamp = path.stat().st_mtime_ns
    assert save_figure(draw(1.0), path) is False and path.stat().st_mtime_ns == stamp
    assert save_figure(draw(2.0), path) is True
    assert save_figure(draw(2.0), path, description="a caption") is True  # the text is part of the content
    assert png_text(path, "Description") == "a caption"
    assert not list(tmp_path.glob(".*tmp"))  # atomic writes leave no temporary file


def _gap_under_title(fig):
    """Inches between the bottom of the figure title and the top of the highest panel (its title included)."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    title = fig._suptitle.get_window_extent(renderer)
    top = max(ax.get_tightbbox(renderer).y1 for ax in fig.axes if ax.get_visible())
    return (title.y0 - top) / fig.dpi


def long_table(curves, model="extra_trees", registered=None, calibration=None):
    """``curves``: {(method, seed): values per round} of ``consensus_accuracy`` and ``model_accuracy``."""
    rows = []
    for (method, seed), values in curves.items():
        for metric in ("consensus_accuracy", "model_accuracy"):
            for r, value in enumerate(values):
                rows.append({"benchmark": "b", "variant": "", "model": model, "method": method, "seed": seed,
                             "round": r, "metric": metric, "value": value,
                             "registered": (registered or {}).get(method, method),
                             "calibration": (calibration or {}).get(method, "")})
    return pd.DataFrame(rows)


def test_no_blank_band_under_the_title(close_figures):
    from active_learning.plotting import plot_benchmark

    df = long_table({(m, s): [0.5 + 0.1 * r + 0.01 * s for r in range(4)]
                     for m in ("activelab", "random", "entropy") for s in (0, 1)})
    title = "A benchmark (Goh & Mueller 2023; the paper's data) (mean ± 1 std over seeds)"
    fig = plot_benchmark(df, title=title)
    assert 0 <= _gap_under_title(fig) < 0.3  # the old layout left about 0.8 in blank here
    long = plot_benchmark(df, title=title * 3)  # a title of several lines: still right above the panels
    assert 0 <= _gap_under_title(long) < 0.3
    assert "EfficientNet-\nLite0" not in plot_benchmark(df, title="x " * 30 + "EfficientNet-Lite0")._suptitle.get_text()


def test_titles_cite_no_specification_sections(results):
    from active_learning.plotting import without_spec_references

    cases = {
        "ActiveLab Wall Robot benchmark (Goh & Mueller 2023, spec sections 3.3 and 3.8; the paper's data)":
            "ActiveLab Wall Robot benchmark (Goh & Mueller 2023; the paper's data)",
        "Wall Robot Complete benchmark (all examples start labeled; spec sections 3.4 and 3.8)":
            "Wall Robot Complete benchmark (all examples start labeled)",
        "CIFAR-10H benchmark (Goh & Mueller 2023, spec §3.2) on features":
            "CIFAR-10H benchmark (Goh & Mueller 2023) on features",
        "Budgets: ceil(spc * C / (1 - r)) (spec 4.2).": "Budgets: ceil(spc * C / (1 - r)).",
        "Asymmetric (spec 4.3: the reference code's procedure)": "Asymmetric (the reference code's procedure)",
        "NAS (Shafir, Hacohen, Weinshall 2025, Figure 3)": "NAS (Shafir, Hacohen, Weinshall 2025, Figure 3)",
    }
    for text, expected in cases.items():
        assert without_spec_references(text) == expected


# ------------------------------------------------------------------------------------------- one colour each


def test_one_colour_per_method_and_coinciding_curves_stay_visible(close_figures):
    from matplotlib.colors import to_hex

    from active_learning.plotting import plot_benchmark

    same = [0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9]
    methods = ["activelab", "activelab_cleanlab", "activelab_rowwise", "activelab_per_round", "activelab_ensemble",
               "random", "entropy"]
    registered = {"activelab_cleanlab": "activelab", "activelab_rowwise": "activelab", "activelab_per_round": "activelab"}
    calibration = {"activelab": "benchmark", "activelab_cleanlab": "cleanlab", "activelab_rowwise": "rowwise",
                   "activelab_per_round": "rowwise", "activelab_ensemble": "benchmark"}
    df = long_table({(m, s): same for m in methods for s in (0, 1)}, registered=registered, calibration=calibration)
    fig = plot_benchmark(df, metrics=["model_accuracy"])
    lines = fig.axes[0].get_lines()
    assert len(lines) == len(methods)
    assert len({to_hex(line.get_color()) for line in lines}) == len(methods)  # every method its own colour
    # identical curves: each shows markers, at points that differ from curve to curve or in shapes that differ
    shown = {(line.get_marker(), str(line.get_markevery())) for line in lines}
    assert all(line.get_marker() not in (None, "", "None") for line in lines) and len(shown) == len(methods)
    # the same method keeps its colour in a figure with other company
    other = plot_benchmark(df[df.method.isin(["activelab_rowwise", "random"])], metrics=["model_accuracy"])
    colour = {line.get_label().split(" (n=")[0]: to_hex(line.get_color()) for line in lines}
    again = {line.get_label().split(" (n=")[0]: to_hex(line.get_color()) for line in other.axes[0].get_lines()}
    assert all(colour[name] == value for name, value in again.items())
    # ActiveLab run with the row-wise search under its plain name says so in the legend
    plain = long_table({("activelab", 0): same}, calibration={"activelab": "rowwise"})
    label = plot_benchmark(plain, metrics=["model_accuracy"]).axes[0].get_lines()[0].get_label()
    assert label.startswith("ActiveLab, row-wise calibration")


def test_nas_grid_curves_that_coincide_sit_side_by_side(close_figures):
    from matplotlib.colors import to_hex

    from active_learning.plotting import plot_curve_grid

    rows = [{"benchmark": "b", "variant": "sym0.2_ideal_clean", "model": "linear_probe", "method": m, "seed": s,
             "round": r, "metric": "accuracy", "value": 0.3 + 0.1 * r}
            for m in ("probcover", "npc", "maxherding", "maxherding_nas") for s in (0, 1) for r in range(3)]
    fig = plot_curve_grid(pd.DataFrame(rows), "accuracy", x_values=[1, 2, 3])
    lines = fig.axes[0].get_lines()
    assert len({to_hex(line.get_color()) for line in lines}) == 4
    starts = sorted(float(line.get_xdata()[0]) for line in lines)
    assert len(set(starts)) == 4 and starts[-1] - starts[0] < 0.5  # a little apart, still at the first budget
    assert {line.get_linestyle() for line in lines} == {"-", "--"}  # the noise-aware versions dashed


# ---------------------------------------------------------------------------------------- report: deterministic


def test_report_is_the_same_bytes_and_is_not_rewritten(results, tmp_path):
    root = tmp_path / "a" / "results"
    shutil.copytree(results, root)
    html_path, md_path = build_report(root)
    md, html = md_path.read_bytes(), html_path.read_bytes()
    stamps = (md_path.stat().st_mtime_ns, html_path.stat().st_mtime_ns)
    build_report(root)
    assert (md_path.stat().st_mtime_ns, html_path.stat().st_mtime_ns) == stamps  # unchanged: not rewritten
    # the same results elsewhere give the same page: no date, no absolute path, no state of this checkout
    elsewhere = tmp_path / "b" / "c" / "results"
    shutil.copytree(results, elsewhere)
    other_html, other_md = build_report(elsewhere)
    assert other_md.read_bytes() == md and other_html.read_bytes() == html
    text = md.decode("utf-8")
    assert str(tmp_path) not in text and str(tmp_path) not in html.decode("utf-8")
    assert not re.search(r"Generated|UTC|repository commit", text)  # (a run's own commit is provenance)


def test_report_flags_figures_drawn_from_other_results(results, tmp_path, close_figures):
    import matplotlib.pyplot as plt

    from active_learning.plotting import save_figure

    root = tmp_path / "results"
    shutil.copytree(results, root)
    figure = root / MULTI["name"] / "figures" / "trust_multi_rounds.png"
    _, md_path = build_report(root)
    assert "drawn from other results" not in md_path.read_text(encoding="utf-8")
    save_figure(plt.figure(figsize=(1, 1)), figure, source="3 runs, newest finished 2020-01-01T00:00:00+00:00")
    _, md_path = build_report(root)
    assert "`trust_multi_rounds.png` was drawn from other results than these" in md_path.read_text(encoding="utf-8")


def test_provenance_is_what_the_runs_recorded_not_the_local_cache(tmp_path, monkeypatch):
    from active_learning.report import _provenance_rows

    cache = tmp_path / "datasets" / "features" / "cifar10" / "train" / "efficientnet_lite0"
    cache.mkdir(parents=True)
    (cache / "abc.json").write_text(json.dumps({"jpeg_compressed": True}))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AL_DATA_ROOT", str(tmp_path / "datasets"))
    config = {"task": "noisy_single_annotator", "dataset": {"name": "cifar10", "encoder": "efficientnet_lite0"},
              "data": {"noise": {"type": "symmetric", "rate": 0.2}}}
    metas = [{"config": config, "seed": 0, "model": "m", "method": "x", "variant": ""}]
    rows = dict(_provenance_rows(metas))
    assert rows["pixels JPEG-compressed"] == "cifar10: not recorded in the result sidecars (see the deviations above)"
    assert "features/" not in " ".join(rows.values())  # nothing from this machine's cache
    recorded = [{**metas[0], "data_source": {"jpeg_compressed": False}},
                {**metas[0], "seed": 1, "data_source": {"jpeg_compressed": False}}]
    assert dict(_provenance_rows(recorded))["pixels JPEG-compressed"].startswith("cifar10: **no** (2 jobs)")


# ------------------------------------------------------------------------------------------ report: NAS pivot


def test_a_nas_grid_reports_a_pivot_not_a_row_per_cell(results, tmp_path):
    from active_learning.plotting import final_pivots, load_results

    tables = final_pivots(load_results(results, NAS_GRID["name"]), "accuracy")
    assert [heading for heading, _ in tables] == ["Trained on the predicted-clean points, Ideal filter (ground truth) "
                                                  "(2 seeds)"]
    lines = tables[0][1].splitlines()
    assert lines[0] == "| strategy | Symmetric 20 % | Symmetric 50 % |"
    assert [line.split(" | ")[0] for line in lines[2:]] == ["| NPC (ProbCover + NAS)", "| Random"]
    assert sum(line.count("**") for line in lines[2:]) == 4  # the best of each column in bold
    _, md_path = build_report(results, tmp_path / "report", benchmarks=[NAS_GRID["name"]])
    md = md_path.read_text(encoding="utf-8")
    assert "### Final budget: test accuracy, mean ± std over seeds" in md
    assert "| sym0.2_ideal_clean |" not in md  # no row per variant, model and strategy


# ------------------------------------------------------------------------------------------------ progress


def test_progress_options_and_no_bars_without_a_terminal(results, tmp_path, capsys):
    assert main(["figures", MULTI["name"], "--results-dir", str(results), "--out-dir", str(tmp_path / "f")]) == 0
    assert main(["report", "--results-dir", str(results), "--out-dir", str(tmp_path / "r"), "--no-progress"]) == 0
    assert "%|" not in capsys.readouterr().err  # bars only on a terminal
    assert build_parser().parse_args(["figures", "x", "--no-progress"]).no_progress is True


def test_progress_bars_show_on_a_terminal(results, tmp_path, monkeypatch):
    import io
    import sys

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    err = Terminal()
    monkeypatch.setattr(sys, "stderr", err)
    build_report(results, tmp_path / "r", progress=True)
    make_figures(MULTI["name"], results, tmp_path / "f", figure=MULTI["figure"], progress=True)
    text = err.getvalue()
    assert "report" in text and "trust_multi figures" in text and "%|" in text
    assert np.all([p.is_file() for p in (tmp_path / "f").glob("*.png")])
