"""Packaging: the wheel ships every module and every benchmark YAML, and a non-editable install runs benchmarks.

The fast test builds the wheel from a copy of the sources, as ``pip install .`` does (no build isolation: the test
environment's setuptools, nothing downloaded). The slow test installs that wheel (not editable) into a fresh virtual
environment that reuses this environment's dependencies through a ``.pth`` file (so nothing, torch included, is
downloaded), and runs the command line from a folder outside the checkout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "README.md", "active_learning", "benchmarks")


def _copy_sources(dest: Path) -> Path:
    src = dest / "src"
    src.mkdir()
    for name in SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(REPO / name, src / name)
    return src


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("setuptools")
    tmp = tmp_path_factory.mktemp("wheel")
    src = _copy_sources(tmp)
    out = tmp / "dist"
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "--no-build-isolation", "--no-index", "-w", str(out)],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (tmp / "build.log").write_text(result.stdout + result.stderr)  # for test_the_build_prints_no_warning
    wheels = list(out.glob("*.whl"))
    assert len(wheels) == 1
    return wheels[0]


def test_wheel_ships_every_module_and_every_benchmark_yaml(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    yamls = sorted(REPO.glob("benchmarks/*/*.yaml"))
    assert yamls, "no benchmark YAMLs in the checkout"
    for path in yamls:
        assert f"active_learning/_benchmarks/{path.parent.name}/{path.name}" in names, path
    modules = [p.relative_to(REPO).as_posix() for p in (REPO / "active_learning").rglob("*.py") if "__pycache__" not in p.parts]
    missing = [m for m in modules if m not in names]
    assert not missing, f"modules missing from the wheel (add their package to [tool.setuptools] packages): {missing}"
    assert "active_learning/py.typed" in names
    assert not [n for n in names if n.startswith(("benchmarks/", "tests/", "results/", "datasets/"))]


def test_the_build_prints_no_warning(wheel: Path) -> None:
    """`pip install .` printed ~290 lines of setuptools warnings (each benchmarks/ folder looked like a package
    missing from `packages`); the build now prints pip's own dozen lines and nothing else."""
    log = (wheel.parent.parent / "build.log").read_text()
    warnings = [line for line in log.splitlines() if "warning" in line.lower() or "!!" in line]
    assert not warnings, "\n".join(warnings[:20])
    assert len(log.splitlines()) < 20, log[-3000:]


def test_make_install_filters_only_the_editable_notice() -> None:
    """The editable install's one information-only notice is filtered; everything else pip says still shows."""
    recipe = (REPO / "Makefile").read_text().split("$(VENV)/.installed:", 1)[1].split("\n\n", 1)[0]
    pip_lines = [line for line in recipe.splitlines() if "pip install" in line]
    assert pip_lines and all("--quiet" in line for line in pip_lines)
    assert "PYTHONWARNINGS='ignore:Editable installation'" in recipe and "PYTHONWARNINGS='ignore'" not in recipe


def test_benchmarks_resolve_from_the_checkout_here() -> None:
    from active_learning.config import BENCHMARKS_DIR, list_benchmarks

    assert BENCHMARKS_DIR == REPO / "benchmarks"
    assert set(list_benchmarks()) == {p.stem for p in REPO.glob("benchmarks/*/*.yaml")}


@pytest.mark.slow
def test_non_editable_install_lists_finds_and_runs_benchmarks(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", str(wheel)],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=600,
    )
    assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]
    # reuse this environment's dependencies (numpy, scikit-learn, torch, ...) instead of downloading them
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    here = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(site) / "_reuse_test_dependencies.pth").write_text("\n".join(sorted(here)) + "\n")

    work = tmp_path / "elsewhere"  # a folder outside the checkout: no benchmarks/ or active_learning/ beside it
    work.mkdir()
    env = _env()
    env.pop("AL_DATA_ROOT", None)

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(python), *args], cwd=work, capture_output=True, text=True, env=env, timeout=600)

    where = run("-c", "import active_learning, active_learning.config as c, active_learning.datasets as d; "
                      "print(active_learning.__file__); print(c.BENCHMARKS_DIR); print(d.default_root())")
    assert where.returncode == 0, where.stderr
    module, benchmarks_dir, data_root = where.stdout.split()
    assert module.startswith(site) and benchmarks_dir.startswith(site), where.stdout
    assert Path(data_root) == work / "datasets"

    listed = run("-m", "active_learning", "list", "benchmarks")
    assert listed.returncode == 0, listed.stderr
    expected = sorted(p.stem for p in REPO.glob("benchmarks/*/*.yaml"))
    assert listed.stdout.strip() == "benchmarks: " + ", ".join(expected)
    found = run("-c", "from active_learning.config import list_benchmarks, load_config\n"
                      "for name in list_benchmarks(): load_config(name)\nprint('ok')")
    assert found.returncode == 0 and found.stdout.strip() == "ok", found.stderr

    tiny = run("-m", "active_learning", "run", "nas_sphere_clusters", "--methods", "random", "--seeds", "0",
               "--set", "data.budget.samples_per_class=[1,2]", "--no-progress")
    assert tiny.returncode == 0, tiny.stdout[-2000:] + tiny.stderr[-2000:]
    assert "ran 1 job(s)" in tiny.stdout
    assert list((work / "results_scratch" / "nas_sphere_clusters").rglob("run_seed0.json"))
    assert list((work / "results_scratch" / "nas_sphere_clusters" / "figures").glob("*.png"))

    bad = run("-m", "active_learning", "run", "nas_sphere_clusters", "--set", "loop.filtr=knn")
    assert bad.returncode == 2 and bad.stderr.startswith("error: ") and bad.stderr.count("\n") == 1, bad.stderr
    assert not [p for p in Path(site).iterdir() if p.name in ("datasets", "results", "results_scratch")]
