"""Execute notebooks in place with nbclient: ``python notebooks/execute.py notebooks/*.ipynb``.

The executed notebook records no execution times (``record_timing=False``, old timing metadata removed), and a
notebook whose executed text equals the file's is not rewritten: re-executing on unchanged results leaves the
committed notebooks as they are.
"""

import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def execute(path: Path, timeout: int = 600) -> bool:
    """Execute the notebook at ``path`` and write it back if its text changed; whether it was written."""
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=timeout, kernel_name="python3", record_timing=False,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    for cell in notebook.cells:
        cell.metadata.pop("execution", None)  # wall-clock timestamps of an earlier run
    text = nbformat.writes(notebook)
    if not text.endswith("\n"):
        text += "\n"
    if path.read_text(encoding="utf-8") == text:
        return False
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return True


if __name__ == "__main__":
    for name in sys.argv[1:]:
        print(f"executing {name}")
        if not execute(Path(name)):
            print(f"{name}: unchanged")
