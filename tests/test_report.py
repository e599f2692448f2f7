"""The report page (``python -m active_learning report``) on small results that the test makes."""

import json
import re

import pytest

from active_learning.cli import main
from active_learning.plotting import make_figures
from active_learning.report import DEVIATIONS, build_report, markdown_table_rows
from active_learning.runner import run_grid

from conftest import toy_config

NAS_TOY = {
    "name": "nas_toy",
    "task": "noisy_single_annotator",
    "dataset": {"name": "sphere_clusters", "n_classes": 5, "n_per_cluster": 30, "n_features": 8, "seed": 1},
    "data": {"seed": 0, "test_fraction": 0.3, "noise": {"type": "symmetric", "rate": 0.4},
             "budget": {"samples_per_class": [1, 2]}},
    "loop": {"filter": "knn"},
    "seeds": [0, 1],
    "models": {"one_nn": {"methods": ["random", {"name": "npc", "method": "npc", "params": {"delta": 0.6}}]}},
    "figure": {"metrics": ["accuracy", "filter_f1"], "columns": "model"},
}


@pytest.fixture(scope="module")
def small_results(tmp_path_factory):
    root = tmp_path_factory.mktemp("results")
    configs = [
        toy_config("toy_multi", rounds=2, models={"extra_trees": {"methods": [
            "random", {"name": "activelab", "method": "activelab", "params": {"calibration": "benchmark"}},
            {"name": "activelab_rowwise", "method": "activelab", "params": {"calibration": "rowwise"}},
        ], "params": {"n_estimators": 10}}}),
        NAS_TOY,
    ]
    for config in configs:
        run_grid(config, results_dir=root, n_jobs=1, backend="sequential", progress=False)
        make_figures(config["name"], root, figure=config["figure"])
    return root, [c["name"] for c in configs]


@pytest.fixture(scope="module")
def report(small_results, tmp_path_factory):
    root, names = small_results
    out = tmp_path_factory.mktemp("report")
    html_path, md_path = build_report(root, out)
    return names, root, html_path.read_text(encoding="utf-8"), md_path.read_text(encoding="utf-8"), (html_path, md_path)


def test_both_files_exist_in_the_out_dir(report, small_results):
    *_, (html_path, md_path) = report
    assert html_path.is_file() and md_path.is_file()
    assert html_path.name == "report.html" and md_path.name == "report.md"


def test_every_benchmark_has_a_section(report):
    names, _, html, md, _ = report
    for name in names:
        assert f'<h2 id="{name}">{name}</h2>' in html
        assert f"\n## {name}\n" in md
        assert f'href="#{name}"' in html  # contents and the navigation bar link to it


def test_html_embeds_the_figures_and_markdown_links_them(report, small_results):
    root, names = small_results
    _, _, html, md, _ = report
    images = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    figures = sorted(p for name in names for p in (root / name / "figures").glob("*.png"))
    assert len(images) == len(figures) >= 4
    assert "file://" not in html and 'src="../' not in html  # self-contained
    for path in figures:
        assert f"/{path.parent.parent.name}/figures/{path.name})" in md  # relative Markdown image links


def test_tables_are_html_tables(report):
    _, _, html, md, _ = report
    assert "<table" in html and "<th>consensus_accuracy</th>" in html and "<th>accuracy</th>" in html
    assert "| --- |" not in html  # no Markdown table left unconverted
    assert re.search(r'<td class="num">0\.\d{4} ± 0\.\d{4}</td>', html)
    # the final-round tables come from summary_markdown, with the seed count added
    assert "| model | method | consensus_accuracy | model_accuracy | model_accuracy_refit | seeds |" in md
    assert "ActiveLab by temperature calibration" in html  # activelab and activelab_rowwise ran


def test_provenance_lists_git_commit_versions_seeds_and_data(report, small_results):
    root, names = small_results
    _, _, html, md, _ = report
    meta = json.loads(next((root / "toy_multi").rglob("run_seed0.json")).read_text())
    commit = (meta.get("git") or {}).get("commit")
    assert "<th>git commit</th>" in html and "| git commit |" in md
    if commit:
        assert commit[:10] in html
    for field in ("code digest", "package versions", "seeds per method", "wall time", "dataset", "annotators",
                  "pool (`data.pool`)", "label noise"):
        assert f"| {field} |" in md, field
    assert "scikit-learn" in md and "cleanlab" in md and "2 in every cell" in md
    assert "**simulated**" in md and "**synthetic** symmetric noise, rate 0.4" in md
    # the page is the results' alone: no date, no state of this checkout
    assert "Made from " in md and "Generated " not in md and "repository commit" not in md


def test_benchmarks_without_a_yaml_or_deviations_say_so(report):
    _, _, html, md, _ = report
    assert "no YAML of this name in `benchmarks/`" in md
    assert "None recorded for this benchmark" in md


def test_only_the_named_benchmarks(small_results, tmp_path):
    root, names = small_results
    html_path, md_path = build_report(root, tmp_path / "one", benchmarks=[names[1]])
    text = md_path.read_text(encoding="utf-8")
    assert f"## {names[1]}" in text and f"## {names[0]}" not in text


def test_default_out_dir_is_results_report_and_is_not_a_benchmark(small_results, tmp_path):
    import shutil

    root = tmp_path / "results"
    shutil.copytree(small_results[0], root)
    html_path, md_path = build_report(root)
    assert html_path == root / "report" / "report.html" and md_path == root / "report" / "report.md"
    again, _ = build_report(root)  # the report folder itself is not listed as a benchmark
    assert "## report\n" not in md_path.read_text(encoding="utf-8")
    assert "../toy_multi/figures/" in md_path.read_text(encoding="utf-8")


def test_cli_prints_the_two_paths(small_results, tmp_path, capsys):
    root, _ = small_results
    assert main(["report", "--results-dir", str(root), "--out-dir", str(tmp_path / "cli")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [f"report: {tmp_path / 'cli' / 'report.html'}", f"report: {tmp_path / 'cli' / 'report.md'}"]


@pytest.mark.parametrize("argv_tail, message", [
    ([], "does not exist"),
    (["--benchmarks", "nope"], None),
])
def test_missing_results_give_a_one_line_error(tmp_path, capsys, argv_tail, message):
    missing = tmp_path / "no_results"
    if message is None:  # an existing folder without the named benchmark
        missing.mkdir()
        message = "no results of 'nope'"
    code = main(["report", "--results-dir", str(missing), *argv_tail])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: ") and err.count("\n") == 1 and message in err


def test_empty_results_folder_is_an_error(tmp_path):
    (tmp_path / "empty" / "some_benchmark").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="no results under"):
        build_report(tmp_path / "empty")


def test_markdown_table_rows_parses_plotting_tables():
    header, rows = markdown_table_rows("| a | b |\n| --- | --- |\n| 1 | x \\| y |\n| 2 | z |")
    assert header == ["a", "b"] and rows == [["1", "x | y"], ["2", "z"]]


def test_deviations_cover_the_papers_benchmarks():
    for name in ("wall_robot", "wall_robot_complete", "wall_robot_single_annotator", "wall_robot_single_vs_multi",
                 "cifar10h", "cifar10n_annotators", "nas_sphere_clusters", "cifar10n", "cifar100", "clothing1m"):
        assert DEVIATIONS[name] and all(isinstance(line, str) and line for line in DEVIATIONS[name])


def test_a_figure_can_carry_its_own_caption(tmp_path):
    import matplotlib.pyplot as plt

    from active_learning.report import png_description

    fig = plt.figure(figsize=(1, 1))
    fig.savefig(tmp_path / "own.png", metadata={"Description": "NPC − ProbCover, mean ± 95 % CI"})  # iTXt (not latin-1)
    fig.savefig(tmp_path / "latin.png", metadata={"Description": "mean ± 1 std"})  # tEXt
    fig.savefig(tmp_path / "plain.png")
    plt.close(fig)
    assert png_description(tmp_path / "own.png") == "NPC − ProbCover, mean ± 95 % CI"
    assert png_description(tmp_path / "latin.png") == "mean ± 1 std"
    assert png_description(tmp_path / "plain.png") is None
