"""One page of every benchmark in ``results/``: figures, final-round tables, deviations and provenance.

:func:`build_report` reads ``<results>/<benchmark>/`` (the per-seed arrays and their JSON sidecars, read and verified
by :mod:`active_learning.results`) and the figures already drawn in
``<results>/<benchmark>/figures/`` (they are not redrawn), and writes

* ``report.html``: self-contained (the figures are embedded as base64 PNG), so it can be opened or mailed anywhere;
* ``report.md``: the same content, with the figures linked relatively.

Per benchmark: its description (the YAML's ``description`` and header comment when a YAML of that name is in
``benchmarks/``, else the results' own config), how complete the results are against the YAML's grid, the
deviations from the papers (:data:`DEVIATIONS`, read from each benchmark folder's ``deviations.md``), the figures,
the final-round mean ± std table, ActiveLab's calibration and annotation-efficiency tables where they apply, and the
provenance of every result: git commit(s), code digest(s), package versions, seeds per method, wall time, and where
the data came from (dataset, encoder, JPEG-compressed pixels, simulated or real annotators, the pool).

Command line: ``python -m active_learning report [--results-dir results] [--out-dir DIR] [--benchmarks ...]``.
"""

from __future__ import annotations

import base64
import contextlib
import html
import os
import re
import statistics
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from .results import _progress, code_version, has_results, load_results, read_sidecars, results_stamp

__all__ = ["DEVIATIONS", "build_report", "markdown_table_rows"]

#: Packages whose versions the provenance lists (as recorded in the sidecars' ``"versions"``).
PROVENANCE_PACKAGES = ("cleanlab", "scikit-learn", "torch", "numpy")

#: Order of the sections (benchmarks not listed follow alphabetically).
BENCHMARK_ORDER = (
    "wall_robot",
    "wall_robot_complete",
    "wall_robot_single_annotator",
    "wall_robot_single_vs_multi",
    "cifar10h",
    "cifar10h_finetune",
    "cifar10n_annotators",
    "nas_sphere_clusters",
    "cifar10n",
    "cifar100",
    "clothing1m",
)

#: The file of a benchmark folder (``benchmarks/<folder>/deviations.md``) that lists its deviations from the papers.
DEVIATIONS_FILE = "deviations.md"


def parse_deviations(text: str) -> Dict[str, List[str]]:
    """``{benchmark: [deviation, ...]}`` of a ``deviations.md`` file: one ``## <benchmark>`` heading per benchmark,
    one ``- `` bullet per deviation, which may continue on indented lines (joined with one space); other lines (the
    file's own heading and explanation) are ignored."""
    out: Dict[str, List[str]] = {}
    current: Optional[List[str]] = None
    for line in text.splitlines():
        if line.startswith("## "):
            current = out.setdefault(line[3:].strip(), [])
        elif current is not None and line.startswith("- "):
            current.append(line[2:].strip())
        elif current and line.startswith("  ") and line.strip():
            current[-1] += " " + line.strip()
    return out


def read_deviations(benchmarks_dir: Optional[Path] = None) -> Dict[str, List[str]]:
    """The deviations from the papers of every benchmark, from the ``deviations.md`` files of the benchmark folders
    (:func:`parse_deviations`); the prose belongs to each benchmark, next to its YAML."""
    if benchmarks_dir is None:
        from .config import BENCHMARKS_DIR

        benchmarks_dir = Path(BENCHMARKS_DIR)
    out: Dict[str, List[str]] = {}
    for path in sorted(Path(benchmarks_dir).glob(f"*/{DEVIATIONS_FILE}")):
        out.update(parse_deviations(path.read_text(encoding="utf-8")))
    return out


#: Deviations from the papers, a few honest one-liners per benchmark (``benchmarks/<folder>/deviations.md``).
DEVIATIONS: Dict[str, List[str]] = read_deviations()

#: Datasets whose features are the raw table (no encoder, no pixels).
_TABULAR_DATASETS = {"wall_robot", "blobs", "sphere_clusters"}

_FIGURE_CAPTIONS = {
    "rounds": "x-axis: round",
    "annotations": "x-axis: total annotations collected",
    "labeled": "x-axis: labeled examples",
    "calibration": "ActiveLab by temperature calibration: the temperature it used, CROWDLAB's model weight and (with "
    "an unlabeled pool) new examples per round",
}

_CSS = """
*{box-sizing:border-box}
html{scroll-behavior:smooth}
body{margin:0;font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
  line-height:1.5;color:#1f2328;background:#fff;font-size:16px}
main{max-width:1100px;margin:0 auto;padding:1rem 1.25rem 4rem}
nav.bar{position:sticky;top:0;z-index:5;background:rgba(255,255,255,.96);border-bottom:1px solid #d0d7de;
  padding:.35rem 1.25rem;font-size:.82rem}
nav.bar div{max-width:1100px;margin:0 auto}
nav.bar a{margin-right:.9rem;white-space:nowrap;color:#0969da;text-decoration:none}
nav.bar a:hover{text-decoration:underline}
h1{font-size:1.75rem;margin:.8rem 0 .3rem}
h2{font-size:1.45rem;margin:3rem 0 .4rem;padding-top:.8rem;border-top:3px solid #d0d7de;scroll-margin-top:2.6rem}
h3{font-size:1.1rem;margin:1.8rem 0 .4rem}
p{margin:.45rem 0}
a{color:#0969da}
.meta{color:#57606a;font-size:.9rem}
.lead{font-size:1.05rem}
.table-wrap{overflow-x:auto;margin:.5rem 0 1rem;max-width:100%}
table{border-collapse:collapse;font-size:.84rem;font-variant-numeric:tabular-nums}
th,td{border:1px solid #c9d1d9;padding:.28rem .55rem;text-align:left;vertical-align:top}
th{background:#eaeef2;font-weight:600}
tbody tr:nth-child(even){background:#f6f8fa}
tbody tr:hover{background:#eef6ff}
td.num{text-align:right;white-space:nowrap}
table.kv{width:100%;table-layout:fixed}
table.kv th{width:12.5rem;background:#eef1f4}
table.kv td{overflow-wrap:break-word}
figure{margin:1rem 0 1.4rem;scroll-margin-top:2.6rem}
figure .frame{overflow-x:auto;max-width:100%}
figure img{display:block;max-width:100%;height:auto;border:1px solid #d8dee4;cursor:zoom-in}
figure:target img{max-width:none;cursor:zoom-out}
figure:target .frame{border:2px solid #0969da}
figcaption{font-size:.85rem;color:#57606a;margin-top:.25rem}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.86em;background:#eff1f3;
  padding:.05em .3em;border-radius:4px;overflow-wrap:break-word}
.nw{white-space:nowrap}
ul{margin:.4rem 0;padding-left:1.4rem}
li{margin:.2rem 0}
.note{border-left:4px solid #bf8700;background:#fff8c5;padding:.45rem .8rem;margin:.7rem 0;font-size:.92rem}
.note.error{border-left-color:#cf222e;background:#ffebe9}
.note.ok{border-left-color:#1a7f37;background:#dafbe1}
details{margin:.5rem 0;font-size:.92rem}
details summary{cursor:pointer;color:#0969da}
details pre{white-space:pre-wrap;font-size:.8rem;background:#f6f8fa;border:1px solid #d8dee4;padding:.7rem;
  margin:.4rem 0}
.back{font-size:.8rem;margin-top:1.5rem}
"""


class _Page:
    """The report's content, rendered to Markdown and HTML side by side."""

    def __init__(self, out_dir: Path, embed: bool = True) -> None:
        self.figures = 0
        self.md: List[str] = []
        self.html: List[str] = []
        self.out_dir = out_dir
        self.embed = embed

    # inline markup: `code`, **bold**, [text](url) -> HTML
    @staticmethod
    def inline(text: str) -> str:
        out = html.escape(str(text))
        # inside code, break lines only at spaces (not at the hyphens of `--results-dir`)
        out = re.sub(
            r"`([^`]+)`",
            lambda m: "<code>" + " ".join(f'<span class="nw">{t}</span>' if "-" in t else t for t in m.group(1).split(" ")) + "</code>",
            out,
        )
        out = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", out)
        out = re.sub(r"\[([^\]]+)\]\(([^)\s]+)\)", r'<a href="\2">\1</a>', out)
        return out

    def heading(self, level: int, text: str, anchor: Optional[str] = None) -> None:
        self.md.append(f"{'#' * level} {text}\n")
        ident = f' id="{html.escape(anchor)}"' if anchor else ""
        self.html.append(f"<h{level}{ident}>{self.inline(text)}</h{level}>")

    def para(self, text: str, cls: str = "") -> None:
        self.md.append(f"{text}\n")
        klass = f' class="{cls}"' if cls else ""
        self.html.append(f"<p{klass}>{self.inline(text)}</p>")

    def note(self, text: str, kind: str = "") -> None:
        label = {"error": "Error", "ok": "OK"}.get(kind, "Note")
        self.md.append(f"> **{label}:** {text}\n")
        self.html.append(f'<div class="note {kind}">{self.inline(text)}</div>')

    def bullets(self, items: Iterable[str]) -> None:
        items = list(items)
        if not items:
            return
        self.md.append("\n".join(f"- {item}" for item in items) + "\n")
        self.html.append("<ul>" + "".join(f"<li>{self.inline(item)}</li>" for item in items) + "</ul>")

    def table(self, header: Sequence[str], rows: Sequence[Sequence[Any]], kind: str = "data") -> None:
        """A table; ``kind="kv"`` for two-column key/value tables (header cells in the first column)."""
        def md_cell(value: Any) -> str:
            return str(value).replace("|", "\\|").replace("\n", " ")

        self.md.append(
            "\n".join(
                ["| " + " | ".join(md_cell(h) for h in header) + " |", "|" + " --- |" * len(header)]
                + ["| " + " | ".join(md_cell(c) for c in row) + " |" for row in rows]
            )
            + "\n"
        )
        head = "".join(f"<th>{self.inline(h)}</th>" for h in header)
        thead = "" if kind == "kv" else f"<thead><tr>{head}</tr></thead>"
        body = []
        for row in rows:
            cells = []
            for i, cell in enumerate(row):
                if kind == "kv" and i == 0:
                    cells.append(f"<th>{self.inline(cell)}</th>")
                else:
                    numeric = kind != "kv" and _looks_numeric(str(cell))
                    klass = ' class="num"' if numeric else ""
                    cells.append(f"<td{klass}>{self.inline(cell)}</td>")
            body.append("<tr>" + "".join(cells) + "</tr>")
        klass = ' class="kv"' if kind == "kv" else ""
        self.html.append(
            f'<div class="table-wrap"><table{klass}>{thead}<tbody>{"".join(body)}</tbody></table></div>'
        )

    def markdown_table(self, text: str) -> None:
        header, rows = _without_empty_variant(*markdown_table_rows(text))
        self.table(header, rows)

    def figure(self, path: Path, caption: str) -> None:
        rel = Path(os.path.relpath(path.resolve(), self.out_dir.resolve())).as_posix()
        self.md.append(f"![{caption}]({rel})\n\n*{caption}* (`{path.name}`)\n")
        data = path.read_bytes()
        src = f"data:image/png;base64,{base64.b64encode(data).decode('ascii')}" if self.embed else rel
        self.figures += 1
        ident = f"fig-{self.figures}"
        # a click shows the figure at its full size (CSS :target, the same embedded image); "fit" shrinks it again
        self.html.append(
            f'<figure id="{ident}"><div class="frame"><a href="#{ident}" title="full size">'
            f'<img src="{html.escape(src)}" alt="{html.escape(caption)}"></a></div>'
            f"<figcaption>{self.inline(caption)} (<code>{html.escape(path.name)}</code>) · "
            f'<a href="#{ident}">full size</a> / <a href="#{ident}-fit">fit</a><span id="{ident}-fit"></span>'
            "</figcaption></figure>"
        )

    def details(self, summary: str, text: str) -> None:
        self.md.append(f"<details><summary>{summary}</summary>\n\n```text\n{text}\n```\n\n</details>\n")
        self.html.append(
            f"<details><summary>{self.inline(summary)}</summary><pre>{html.escape(text)}</pre></details>"
        )

    def raw(self, md: str, html_text: str) -> None:
        self.md.append(md)
        self.html.append(html_text)


def _looks_numeric(cell: str) -> bool:
    text = re.sub(r"\*\*([^*]+)\*\*", r"\1", cell.strip())  # a bold best value is a number too
    return bool(re.fullmatch(r"[-+]?[\d.,]+( ± [\d.]+)?( \(1 seed\)| \(n=\d+\))?|never", text))


def _without_empty_variant(header: List[str], rows: List[List[str]]) -> Tuple[List[str], List[List[str]]]:
    """Drop the ``variant`` column of a benchmark without variants (every cell ``-``)."""
    if header and header[0] == "variant" and all(row and row[0] in ("-", "") for row in rows):
        return header[1:], [row[1:] for row in rows]
    return header, rows


def markdown_table_rows(text: str) -> Tuple[List[str], List[List[str]]]:
    """Header and rows of a simple Markdown pipe table (the tables :mod:`~active_learning.plotting` writes)."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip().startswith("|")]
    if not lines:
        return [], []

    def cells(line: str) -> List[str]:
        parts = re.split(r"(?<!\\)\|", line.strip().strip("|"))
        return [part.strip().replace("\\|", "|") for part in parts]

    header = cells(lines[0])
    rows = [cells(line) for line in lines[1:] if not re.fullmatch(r"\|?(\s*:?-+:?\s*\|)+\s*:?-*:?\s*\|?", line)]
    return header, rows


# ----------------------------------------------------------------------------------------------------- reading


def _benchmark_folders(results_dir: Path, exclude: Sequence[Path]) -> List[str]:
    names = []
    for child in sorted(results_dir.iterdir()):
        if not child.is_dir() or child.name.startswith(".") or any(child.resolve() == e.resolve() for e in exclude):
            continue
        if has_results(child):
            names.append(child.name)
    order = {name: i for i, name in enumerate(BENCHMARK_ORDER)}
    return sorted(names, key=lambda n: (order.get(n, len(order)), n))


def _sidecars(folder: Path) -> Tuple[List[Dict[str, Any]], List[str]]:
    """The sidecars of a benchmark folder (:func:`~active_learning.results.read_sidecars`) and what is wrong with the
    unreadable ones."""
    found, problems = read_sidecars(folder)
    return [meta for _, meta in found], problems


def _yaml_info(name: str) -> Tuple[Optional[Dict[str, Any]], Optional[Path], str]:
    """(config, path, header comment) of the benchmark YAML named ``name``, or (None, None, "")."""
    from .config import ConfigError, find_benchmark, load_config

    try:
        path = find_benchmark(name)
        config = load_config(name)
    except (ConfigError, ValueError, OSError):
        return None, None, ""
    header = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        header.append(line[1:].strip() if line.strip() == "#" else line[2:] if line.startswith("# ") else line[1:])
    return config, path, "\n".join(header).strip()


def _cell(meta: Mapping[str, Any]) -> Tuple[str, str, str]:
    return (meta.get("variant") or "", str(meta.get("model")), str(meta.get("method")))


def _cell_name(cell: Tuple[str, str, str]) -> str:
    return "/".join(part for part in cell if part)


def _seed_list(seeds: Iterable[int]) -> str:
    seeds = sorted(set(int(s) for s in seeds))
    if seeds and seeds == list(range(seeds[0], seeds[-1] + 1)) and len(seeds) > 2:
        return f"{seeds[0]}–{seeds[-1]}"
    return ", ".join(map(str, seeds))


def _completeness(name: str, config: Optional[Mapping[str, Any]], results_dir: Path, metas: Sequence[Mapping[str, Any]]) -> Tuple[str, List[str], str]:
    """(kind, lines, one-line status) of the results against the YAML's grid: finished, missing, other config."""
    from .config import expand_jobs

    if config is None:
        return "", [], f"{len(metas)} jobs (no YAML to compare with)"
    try:
        jobs = expand_jobs(config)
    except Exception as exc:  # a YAML the current code cannot expand: say so, do not fail the report
        return "error", [f"the YAML's grid cannot be expanded ({exc})"], f"{len(metas)} jobs"
    by_key = {str(m.get("job")): m for m in metas}
    missing: Dict[Tuple[str, str, str], List[int]] = defaultdict(list)
    other: Dict[Tuple[str, str, str], List[int]] = defaultdict(list)
    done = 0
    expected = set()
    for job in jobs:
        expected.add(job.key)
        meta = by_key.get(job.key)
        cell = (job.variant or "", job.model, job.method)
        if meta is None:
            missing[cell].append(job.seed)
        elif meta.get("config_hash") != job.config_hash:
            other[cell].append(job.seed)
        else:
            done += 1
    extra = sorted(k for k in by_key if k not in expected)
    lines = []
    if missing:
        lines.append(
            f"{sum(map(len, missing.values()))} of the YAML's {len(jobs)} jobs have no result yet: "
            + "; ".join(f"`{_cell_name(c)}` (seeds {_seed_list(s)})" for c, s in sorted(missing.items()))
            + f". `python -m active_learning run {name}` runs them (finished jobs are skipped)."
        )
    if other:
        lines.append(
            f"{sum(map(len, other.values()))} results were made with a config that differs from the current YAML "
            "(shown below as they are): "
            + "; ".join(f"`{_cell_name(c)}` (seeds {_seed_list(s)})" for c, s in sorted(other.items()))
        )
    if extra:
        lines.append(f"{len(extra)} results are not in the YAML's grid: " + ", ".join(f"`{k}`" for k in extra[:8])
                     + (", ..." if len(extra) > 8 else ""))
    n_missing, n_other = sum(map(len, missing.values())), sum(map(len, other.values()))
    status = f"{done} of {len(jobs)}" + (" (complete)" if done == len(jobs) and not extra else "")
    status += f", {n_missing} missing" if n_missing else ""
    status += f", {n_other} with another config" if n_other else ""
    return ("warn" if lines else "ok"), lines, status


# ------------------------------------------------------------------------------------------------- provenance


def _short(commit: Optional[str]) -> str:
    return commit[:10] if commit else "not recorded"


def _counted(values: Iterable[str]) -> str:
    counts = Counter(values)
    if len(counts) == 1:
        return next(iter(counts))
    return "; ".join(f"{value} ({n} jobs)" for value, n in counts.most_common())


def _seconds(value: float) -> str:
    if value >= 3600:
        return f"{value:,.0f} s ({value / 3600:.1f} h)"
    if value >= 120:
        return f"{value:,.0f} s ({value / 60:.1f} min)"
    return f"{value:.1f} s"


def _recorded_jpeg(meta: Mapping[str, Any]) -> Optional[bool]:
    """``jpeg_compressed`` as a result sidecar recorded it (``"data_source": {"jpeg_compressed": ...}``), or None
    where the run did not record it. Never read from this machine's feature cache: the report describes the results,
    and the cache here may hold other features than the ones the runs used."""
    source = meta.get("data_source")
    if isinstance(source, Mapping) and isinstance(source.get("jpeg_compressed"), bool):
        return bool(source["jpeg_compressed"])
    return None


def _jpeg_verdicts(metas: Sequence[Mapping[str, Any]], names: Sequence[str]) -> List[str]:
    """Per dataset name: whether the runs' pixels were JPEG-compressed, as their sidecars recorded it."""
    verdicts = []
    for name in names:
        if name == "clothing1m":
            verdicts.append("clothing1m: yes (distributed as JPEG files; there is no lossless original)")
            continue
        mine = [m for m in metas if isinstance(m.get("config"), Mapping)
                and str((m["config"].get("dataset") or {}).get("name")) == name]
        recorded = Counter(_recorded_jpeg(m) for m in mine)
        known = {value: n for value, n in recorded.items() if value is not None}
        missing = recorded.get(None, 0)
        if not known:
            verdicts.append(f"{name}: not recorded in the result sidecars (see the deviations above)")
            continue
        parts = [f"**{'yes' if value else 'no'}** ({n} job{'s' if n > 1 else ''})" for value, n in sorted(known.items())]
        if missing:
            parts.append(f"not recorded ({missing} job{'s' if missing > 1 else ''})")
        verdicts.append(f"{name}: " + ", ".join(parts) + " (`data_source.jpeg_compressed` of the result sidecars)")
    return verdicts


def _data_provenance(metas: Sequence[Mapping[str, Any]]) -> List[Tuple[str, str]]:
    configs = [m["config"] for m in metas if isinstance(m.get("config"), Mapping)]
    rows: List[Tuple[str, str]] = []
    datasets = [c.get("dataset") or {} for c in configs]
    data = [c.get("data") or {} for c in configs]
    tasks = sorted({str(c.get("task")) for c in configs})
    names = sorted({str(d.get("name")) for d in datasets})

    def option(d: Mapping[str, Any]) -> str:
        extra = {k: v for k, v in d.items() if k in ("noise_type", "subset_size", "sensors")}
        return str(d.get("name")) + (f" ({', '.join(f'{k}={v}' for k, v in extra.items())})" if extra else "")

    rows.append(("dataset", ", ".join(f"`{n}`" for n in sorted({option(d) for d in datasets}))))

    encoders = sorted({str(d["encoder"]) for d in datasets if d.get("encoder")})
    pixels = any(d.get("inputs") == "pixels" for d in datasets)
    if encoders:
        rows.append(("inputs", "frozen features of the encoder " + ", ".join(f"`{e}`" for e in encoders)
                     + " (cached; classifiers train on the features)"))
    elif pixels:
        rows.append(("inputs", "the images' pixels (models fine-tuned end to end)"))
    elif all(n in _TABULAR_DATASETS for n in names):
        synthetic = [n for n in names if n in ("blobs", "sphere_clusters")]
        rows.append(("inputs", "synthetic features generated by the dataset (no images, no encoder)" if synthetic
                     else "the dataset's own tabular features (no images, no encoder)"))
    if encoders or pixels:
        rows.append(("pixels JPEG-compressed", "; ".join(_jpeg_verdicts(metas, names))))

    if "multiannotator" in tasks:
        pools = sorted({str(d.get("pool", "tabular")) for d in data})
        rows.append(("pool (`data.pool`)", ", ".join(f"`{p}`" for p in pools)))
        annotators = []
        for pool in pools:
            mine = [d for d in data if str(d.get("pool", "tabular")) == pool]
            if pool == "tabular":
                n = sorted({d.get("n_annotators") for d in mine}, key=str)
                traces = sorted({d.get("trace_fraction") for d in mine}, key=str)
                annotators.append(
                    f"**simulated**: {', '.join(map(str, n))} annotator(s) drawn from one noise matrix (cleanlab's "
                    f"`generate_noise_matrix_from_trace`, trace {', '.join(map(str, traces))} x K)"
                )
            elif pool == "cifar10h":
                initial = sorted({str(d.get("initial", "auto")) for d in mine})
                annotators.append(
                    "**real** human label distributions (CIFAR-10H, about 51 labels per image; each new label is a "
                    "draw from the image's distribution); start set `data.initial` = "
                    + ", ".join(f"`{i}`" for i in initial)
                    + " (`auto`: the paper's hardest-annotators set when `cifar10h-raw.csv` is present, else the "
                    "counts-only stand-in `tilted_multiset`; the sidecars do not record which one ran, the committed "
                    "results used the stand-in)"
                )
            elif pool == "cifar10n_annotators":
                sizes = sorted({f"{d['pool_size']:,}" if isinstance(d.get("pool_size"), int) else str(d.get("pool_size"))
                                for d in mine})
                annotators.append(
                    f"**real, identified** CIFAR-10N workers (3 per image, pool of {', '.join(sizes)} images; each "
                    "new label is one of the image's not-yet-revealed worker labels)"
                )
            elif pool == "label_file":
                annotators.append("**real** labels from a label file")
            else:
                annotators.append(f"pool `{pool}`")
        rows.append(("annotators", "; ".join(annotators)))
    if "noisy_single_annotator" in tasks:
        rows.append(("pool", "feature pool of the NAS protocol (one noisy annotator answers every query)"))
        noises = []
        for d, ds in zip(data, datasets):
            noise = d.get("noise") or {}
            kind = str(noise.get("type"))
            if kind == "real":
                noises.append(f"**real** noisy labels of `{ds.get('name')}`" + (f" ({ds['noise_type']})" if ds.get("noise_type") else ""))
            else:
                noises.append(f"**synthetic** {kind} noise, rate {noise.get('rate')}")
        rows.append(("label noise", "; ".join(sorted(set(noises)))))
    return rows


def _code_version(meta: Mapping[str, Any]) -> Optional[str]:
    try:
        return code_version(meta)
    except Exception:  # git missing or the commit not in this clone: the commit alone identifies the code
        return None


def _provenance_rows(metas: Sequence[Mapping[str, Any]]) -> List[Tuple[str, str]]:
    """Where the results came from, read from their sidecars alone (what each run recorded)."""
    rows: List[Tuple[str, str]] = [("jobs (sidecars)", str(len(metas)))]
    commits = []
    for m in metas:
        git: Mapping[str, Any] = m["git"] if isinstance(m.get("git"), Mapping) else {}
        commit = git.get("commit")
        commits.append(f"`{_short(commit)}`" + (" (dirty worktree)" if git.get("dirty") else " (clean)" if commit else ""))
    rows.append(("git commit", _counted(commits)))
    codes = []
    for m in metas:
        if isinstance(m.get("code"), str):
            codes.append(f"`{m['code']}`")
        else:  # older sidecars: the digest of the package source at their git commit (as load_results compares them)
            digest = _code_version(m)
            commit = (m.get("git") or {}).get("commit") if isinstance(m.get("git"), Mapping) else None
            if digest and digest != commit:
                codes.append(f"`{digest}` (computed from the git commit; older sidecars do not record it)")
            else:
                codes.append("not recorded (older sidecar; the git commit identifies the code)")
    rows.append(("code digest", _counted(codes)))
    versions = []
    for package in ("python",) + PROVENANCE_PACKAGES:
        values = [str((m.get("versions") or {}).get(package) or "not installed") for m in metas]
        versions.append(f"{package} {_counted(values)}")
    rows.append(("package versions", ", ".join(versions)))

    seeds: Dict[Tuple[str, str, str], set] = defaultdict(set)
    for m in metas:
        seeds[_cell(m)].add(int(m.get("seed", -1)))
    per_method: Dict[str, Counter] = defaultdict(Counter)
    for cell, s in seeds.items():
        per_method[cell[2]][len(s)] += 1
    counts = {n for c in per_method.values() for n in c}
    all_seeds = sorted(set().union(*seeds.values())) if seeds else []
    if len(counts) == 1:
        rows.append(("seeds per method", f"{counts.pop()} in every cell ({len(seeds)} cells; seeds {_seed_list(all_seeds)})"))
    else:
        parts = []
        for method, counter in sorted(per_method.items()):
            parts.append(f"{method}: " + ", ".join(f"{n}" + (f" ({k} cells)" if k > 1 else "") for n, k in sorted(counter.items(), reverse=True)))
        rows.append(("seeds per method", "; ".join(parts)))

    times = [float(m["wall_time_s"]) for m in metas if isinstance(m.get("wall_time_s"), (int, float))]
    if times:
        rows.append((
            "wall time",
            f"total {_seconds(sum(times))} summed over jobs (parallel jobs overlap, so the elapsed time was shorter); "
            f"per job median {_seconds(statistics.median(times))}, min {_seconds(min(times))}, max {_seconds(max(times))}",
        ))
    finished = sorted(str(m["finished_at"]) for m in metas if m.get("finished_at"))
    if finished:
        rows.append(("finished", finished[0] if finished[0] == finished[-1] else f"{finished[0]} … {finished[-1]}"))
    devices = [str(m["device"]) for m in metas if m.get("device")]
    if devices:
        rows.append(("device", _counted(devices)))
    if any(isinstance(m.get("config"), Mapping) for m in metas):
        rows += _data_provenance(metas)
    return rows


# ---------------------------------------------------------------------------------------------------- sections


def png_text(path: Path, key: str) -> Optional[str]:
    """The text stored under ``key`` in a PNG file (``tEXt`` or uncompressed ``iTXt`` chunk), as matplotlib writes it
    with ``savefig(path, metadata={key: ...})``; None if it has none."""
    data = path.read_bytes()
    pos = 8
    wanted = key.encode("latin-1")
    while pos + 8 <= len(data):
        length = int.from_bytes(data[pos:pos + 4], "big")
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        if kind in (b"tEXt", b"iTXt"):
            name, _, rest = body.partition(b"\0")
            if name == wanted:
                if kind == b"tEXt":
                    return rest.decode("latin-1")
                if rest[:1] == b"\0":  # iTXt: compression flag 0, method, language\0, translated keyword\0, text
                    return rest[2:].split(b"\0", 2)[-1].decode("utf-8", errors="replace")
        if kind in (b"IDAT", b"IEND"):
            break
        pos += 12 + length
    return None


def png_description(path: Path) -> Optional[str]:
    """The ``Description`` text of a PNG file (:func:`png_text`), as matplotlib writes it with ``savefig(path,
    metadata={"Description": ...})``; None if it has none. A figure that says what it shows this way (e.g. a 95 %
    confidence interval instead of the usual ± 1 std) gets that caption in the report."""
    return png_text(path, "Description")


def _figure_sort_key(path: Path) -> Tuple[int, str]:
    order = ("rounds", "annotations", "labeled", "calibration")
    suffix = path.stem.rsplit("_", 1)[-1]
    return (order.index(suffix) if suffix in order else len(order), path.name)


def _final_table_with_seeds(summary_md: str, metas: Sequence[Mapping[str, Any]]) -> Tuple[List[str], List[List[str]]]:
    header, rows = markdown_table_rows(summary_md)
    seeds: Dict[Tuple[str, str, str], set] = defaultdict(set)
    for m in metas:
        seeds[_cell(m)].add(m.get("seed"))
    out = []
    for row in rows:
        variant = "" if row[0] == "-" else row[0]
        out.append(row + [str(len(seeds.get((variant, row[1], row[2]), ())))])
    return header + ["seeds"], out


def _shown_path(path: Path) -> str:
    """``path`` as the page names it: relative to the repository or the working directory when inside either, else
    its last part. Never this machine's absolute path: the page must not change with where it was made."""
    resolved = path.resolve()
    for root in (Path(__file__).resolve().parents[1], Path.cwd().resolve()):
        with contextlib.suppress(ValueError):
            return resolved.relative_to(root).as_posix() or "."
    return path.name


def _is_factorial_nas(task: str, variants: Sequence[str]) -> bool:
    """Whether a benchmark's variants are the NAS grid ``[<noise>_]<filter>_<training>`` (its final table is then a
    pivot per training setting and filter rather than one row per variant, model and strategy)."""
    from .plotting.styles import FACTOR_ORDER, split_variant

    if task != "noisy_single_annotator" or not variants:
        return False
    parts = [split_variant(v) for v in variants]
    return all(p["filter"] in FACTOR_ORDER["filter"] and p["training"] in FACTOR_ORDER["training"] for p in parts)


def _nas_final_pivots(page: _Page, df: Any, anchor: str) -> None:
    """The final-budget test accuracy of a NAS grid: one small table per (training setting, filter), strategies ×
    noise settings, mean ± std over seeds, the best of each noise setting in bold."""
    from .plotting.tables import final_pivots

    tables = final_pivots(df, "accuracy")
    page.heading(3, "Final budget: test accuracy, mean ± std over seeds", anchor=f"{anchor}-final")
    page.para("Each run's last round (the largest budget); one table per training setting and noise filter, one row "
              "per strategy, one column per noise setting; **bold**: the highest mean of the column; a cell with "
              "fewer seeds than the others says how many. The figures below show every budget.", cls="meta")
    for heading, text in tables:
        page.para(f"**{heading}**")
        page.markdown_table(text)


def _figures_note(name: str, drawn: Sequence[Path], stamp: str, rerun: str) -> Optional[str]:
    """A note when a figure was drawn from other results than the report reads (the ``Source`` text each figure
    records, :func:`~active_learning.results.results_stamp`): deterministic, from the files alone, never their
    dates."""
    stale = [p.name for p in drawn if (png_text(p, "Source") or stamp) != stamp]
    if not stale:
        return None
    return (f"{', '.join(f'`{n}`' for n in stale)} {'was' if len(stale) == 1 else 'were'} drawn from other results "
            f"than these ({stamp}), so {'it' if len(stale) == 1 else 'they'} may miss or misstate seeds or methods; "
            f"redraw with `python -m active_learning figures {name} --results-dir {rerun}`.")


def _benchmark_section(page: _Page, name: str, results_dir: Path, rerun_dir: str, progress: bool = False) -> Dict[str, Any]:
    from .plotting.save import without_spec_references

    folder = results_dir / name
    metas, problems = _sidecars(folder)
    config, yaml_path, header = _yaml_info(name)
    sidecar_config: Mapping[str, Any] = next((m["config"] for m in metas if isinstance(m.get("config"), Mapping)), {})
    description = str((config or {}).get("description") or sidecar_config.get("description") or "")
    description = without_spec_references(description)
    task = str((config or {}).get("task") or sidecar_config.get("task") or "")
    info: Dict[str, Any] = {"name": name, "task": task, "jobs": len(metas), "figures": 0, "problems": []}
    anchor = name  # the Markdown heading's own slug too, so one link works in both files

    page.heading(2, name, anchor=anchor)
    if description:
        page.para(f"**{description}**", cls="lead")
    where = (f"YAML: `{_shown_path(yaml_path)}`" if yaml_path
             else "no YAML of this name in `benchmarks/` (description from the results' config)")
    page.para(f"Task: `{task or 'unknown'}` · results: `{rerun_dir}/{name}` · {where}", cls="meta")
    page.raw(
        "",
        f'<p class="meta">In this section: <a href="#{anchor}-final">final round</a> · '
        f'<a href="#{anchor}-figures">figures</a> · <a href="#{anchor}-provenance">provenance</a></p>',
    )
    if header:
        page.details("Protocol (the YAML's header comment)", without_spec_references(header))

    kind, lines, status = _completeness(name, config, results_dir, metas)
    info["status"] = status
    for line in lines:
        page.note(line, "error" if kind == "error" else "")
    for problem in problems:
        page.note(problem, "error")
        info["problems"].append(problem)

    deviations = DEVIATIONS.get(name) or next(
        (v for k, v in sorted(DEVIATIONS.items(), key=lambda kv: -len(kv[0])) if name.startswith(k + "_")), None
    )
    page.heading(3, "Deviations from the papers")
    if deviations:
        page.bullets(deviations)
    else:
        page.para("None recorded for this benchmark (see its YAML and the README).")

    # the numbers first, then the (tall) figures, then where every result came from
    _section_numbers(page, name, results_dir, anchor, task, metas, info, progress)
    info["figures"] = _section_figures(page, name, folder, metas, rerun_dir, anchor)
    info["commits"] = _section_provenance(page, metas, anchor)
    page.raw("", '<p class="back"><a href="#top">↑ back to the contents</a></p>')
    return info


def _section_numbers(page: _Page, name: str, results_dir: Path, anchor: str, task: str, metas: List[Dict[str, Any]],
                     info: Dict[str, Any], progress: bool) -> None:
    """A benchmark's final-round tables: NAS pivots, or the mean ± std table with ActiveLab's calibration and
    annotation-efficiency tables where they apply; a result that cannot be read is an error note (``info``)."""
    from .plotting.tables import calibration_markdown, efficiency_markdown, summary_markdown

    try:
        df = load_results(results_dir, name, progress=progress)
    except (ValueError, FileNotFoundError) as exc:
        page.heading(3, "Final round, mean ± std over seeds", anchor=f"{anchor}-final")
        page.note(f"The results cannot be summarised: {exc}", "error")
        info["problems"].append(str(exc).splitlines()[0])
        df = None
    if df is not None and _is_factorial_nas(task, sorted({str(v) for v in df.variant.unique()})):
        _nas_final_pivots(page, df, anchor)
    elif df is not None:
        page.heading(3, "Final round, mean ± std over seeds", anchor=f"{anchor}-final")
        header_row, rows = _without_empty_variant(*_final_table_with_seeds(summary_markdown(df), metas))
        page.para("Each run's last round, sorted by the first metric within each model; ± is the sample standard "
                  "deviation over seeds (the figures' bands use the population std); `seeds`: seeds in the cell.",
                  cls="meta")
        page.table(header_row, rows)
        calibration = calibration_markdown(df)
        if calibration:
            page.heading(3, "ActiveLab by temperature calibration (final round)")
            page.para("The same method under its temperature searches: the benchmark's (the paper's), cleanlab "
                      "2.9's and the row-wise one; empty cells were not run.", cls="meta")
            page.markdown_table(calibration)
        efficiency = efficiency_markdown(df) if "n_annotations" in set(df.metric) else ""
        if efficiency:
            page.heading(3, "Annotations ActiveLab needs to reach the best baseline's final value")
            page.para("Best baseline: the ActiveLab paper's baseline (random, good random, entropy, uncertainty, "
                      "disagreement, active label cleaning) with the highest final seed-mean; `its annotations`: "
                      "what it used in all; last column: the total annotations at which ActiveLab's seed-mean curve "
                      "first reaches that value (`never`: it does not).", cls="meta")
            page.markdown_table(efficiency)



def _section_figures(page: _Page, name: str, folder: Path, metas: List[Dict[str, Any]], rerun_dir: str,
                     anchor: str) -> int:
    """A benchmark's figures (already drawn; notes for broken, stale or missing ones); how many are shown."""
    page.heading(3, "Figures", anchor=f"{anchor}-figures")
    figures = sorted((folder / "figures").glob("*.png"), key=_figure_sort_key) if (folder / "figures").is_dir() else []
    drawn = []
    for path in figures:
        if path.read_bytes()[:8] != b"\x89PNG\r\n\x1a\n":
            page.note(f"`{rerun_dir}/{name}/figures/{path.name}` is not a PNG image (a Git LFS pointer or a broken "
                      "file); redraw it.", "error")
            continue
        drawn.append(path)
    stale = _figures_note(name, drawn, results_stamp(metas), rerun_dir) if metas else None
    if stale:
        page.note(stale)
    if not drawn:
        page.note(
            f"No figures in `{rerun_dir}/{name}/figures/` yet; draw them with "
            f"`python -m active_learning figures {name} --results-dir {rerun_dir}`."
        )
    else:
        page.raw("", '<p class="meta">Click a figure to see it at full size.</p>')
    for path in drawn:
        suffix = path.stem.rsplit("_", 1)[-1]
        caption = f"{name}: mean ± 1 std over seeds; " + _FIGURE_CAPTIONS.get(suffix, path.stem)
        if suffix == "calibration":
            caption = f"{name}: " + _FIGURE_CAPTIONS["calibration"]
        described = png_description(path)
        if described:  # the figure's own caption (e.g. benchmarks/cifar10n/figures.py)
            caption = f"{name}: {described}"
        page.figure(path, caption)
    return len(drawn)



def _section_provenance(page: _Page, metas: List[Dict[str, Any]], anchor: str) -> List[str]:
    """Where a benchmark's results came from (versions, commits, machines); the git commits, shortened."""
    page.heading(3, "Provenance", anchor=f"{anchor}-provenance")
    if metas:
        page.table(["item", "value"], _provenance_rows(metas), kind="kv")
        commits = sorted({(m.get("git") or {}).get("commit") or "" for m in metas if isinstance(m.get("git"), Mapping)} - {""})
        return [c[:10] for c in commits]
    return []


def _write_if_changed(path: Path, text: str) -> bool:
    """Write ``text`` to ``path`` atomically unless the file already holds exactly it; whether it was written."""
    from .utils.io import atomic_write_text

    with contextlib.suppress(OSError):
        if path.read_bytes() == text.encode("utf-8"):
            return False
    atomic_write_text(path, text)
    return True


def build_report(
    results_dir: "str | Path" = "results",
    out_dir: "str | Path | None" = None,
    benchmarks: Optional[Sequence[str]] = None,
    progress: bool = False,
) -> Tuple[Path, Path]:
    """Write ``report.html`` (self-contained) and ``report.md`` of the benchmarks in ``results_dir``.

    The page is made from the results alone, so the same results give the same bytes: no date or time, no absolute
    path of this machine, no repository state, and the provenance is what the runs recorded in their sidecars
    (never this machine's data or feature caches). A file whose text did not change is not rewritten.

    Parameters
    ----------
    results_dir : path
        The results folder (``<results>/<benchmark>[/<variant>]/<model>/<method>/...``).
    out_dir : path, optional
        Where the two files go (default ``<results_dir>/report/``).
    benchmarks : sequence of str, optional
        Only these benchmarks (default: every folder of ``results_dir`` that holds results).
    progress : bool
        tqdm bars (stderr, on a terminal) over the benchmarks and each one's results.

    Returns
    -------
    (html_path, md_path)

    Raises
    ------
    FileNotFoundError
        ``results_dir`` does not exist or holds no results, or a named benchmark has none.
    """
    results = Path(results_dir)
    if not results.is_dir():
        raise FileNotFoundError(
            f"results folder {results} does not exist; run a benchmark first (e.g. `make wall-robot`) or give "
            f"--results-dir"
        )
    out = Path(out_dir) if out_dir is not None else results / "report"
    available = _benchmark_folders(results, exclude=[out])
    if benchmarks:
        unknown = [b for b in benchmarks if b not in available]
        if unknown:
            raise FileNotFoundError(
                f"no results of {', '.join(map(repr, unknown))} under {results}; benchmarks with results: "
                f"{', '.join(available) or 'none'}"
            )
        names = [b for b in available if b in set(benchmarks)]
    else:
        names = available
    if not names:
        raise FileNotFoundError(
            f"no results under {results} (no finished job in any benchmark folder); run a benchmark first, "
            f"e.g. `python -m active_learning run wall_robot --results-dir {results}`"
        )
    out.mkdir(parents=True, exist_ok=True)
    shown = _shown_path(results)

    body = _Page(out)
    infos = [_benchmark_section(body, name, results, shown, progress=progress)
             for name in _progress(names, progress, desc="report", unit="benchmark")]

    page = _Page(out)
    jobs = sum(int(i["jobs"]) for i in infos)
    page.heading(1, "Benchmark report", anchor="top")
    page.para(f"Made from `{shown}`: {jobs:,} finished jobs of {len(infos)} benchmarks. The page is rebuilt from the "
              "results alone (`python -m active_learning report`), so the same results give the same page.", cls="meta")
    page.para(
        "Every number below is read back from the per-seed arrays and their sidecars (verified as a rerun verifies "
        "them); the figures are the ones already drawn in `<benchmark>/figures/`, not redrawn. Each benchmark "
        "lists its deviations from the papers and the provenance of its results."
    )
    page.heading(2, "Contents", anchor="contents")
    overview = []
    for i in infos:
        link = f"[{i['name']}](#{i['name']})"
        overview.append([
            link, f"`{i['task']}`", i["status"], str(i["figures"]),
            ", ".join(f"`{c}`" for c in i["commits"]) or "not recorded",
            "; ".join(i["problems"])[:200] or "none",
        ])
    page.table(["benchmark", "task", "jobs finished (of the YAML's grid)", "figures", "git commit(s)", "problems"], overview)

    nav_html = '<nav class="bar"><div>' + "".join(
        f'<a href="#{html.escape(i["name"])}">{html.escape(i["name"])}</a>' for i in infos
    ) + '<a href="#top">↑ top</a></div></nav>'
    md_path, html_path = out / "report.md", out / "report.html"
    _write_if_changed(md_path, "\n".join(page.md + body.md).rstrip() + "\n")
    _write_if_changed(
        html_path,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Benchmark report</title><style>{_CSS}</style></head>"
        f"<body>{nav_html}<main>" + "\n".join(page.html + body.html) + "</main></body></html>\n",
    )
    return html_path, md_path


def replace_marked_blocks(path: "str | Path", blocks: Mapping[str, str]) -> None:
    """Replace the text between ``<!-- table:NAME -->`` and ``<!-- /table:NAME -->`` in ``path`` by ``blocks[NAME]``
    (how the README and ``results/README.md`` tables are written from ``results/``, never typed by hand)."""
    import re

    path = Path(path)
    text = path.read_text(encoding="utf-8")
    for name, block in blocks.items():
        pattern = re.compile(rf"(<!-- table:{re.escape(name)} -->\n)(?:.*?\n)?(<!-- /table:{re.escape(name)} -->)", re.S)
        text = pattern.sub(lambda m: m.group(1) + block + "\n" + m.group(2), text)
    path.write_text(text, encoding="utf-8")


def tables_main(doc: str, tables: Any, root: "str | Path") -> None:
    """The command line of a ``report_tables.py`` script: print the marked tables that ``tables(results_dir)``
    returns, or with ``--write`` put them into ``<root>/README.md`` and ``<results_dir>/README.md``."""
    import argparse

    root = Path(root)
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results-dir", type=Path, default=root / "results")
    parser.add_argument("--write", action="store_true", help="replace the marked tables in README.md and results/README.md")
    args = parser.parse_args()
    blocks = tables(args.results_dir)
    if args.write:
        replace_marked_blocks(root / "README.md", blocks)
        replace_marked_blocks(args.results_dir / "README.md", blocks)
    else:
        for name, block in blocks.items():
            print(f"<!-- table:{name} -->\n{block}\n<!-- /table:{name} -->\n")
