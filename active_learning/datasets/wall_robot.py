"""UCI Wall-Following Robot Navigation (Freire et al. 2009), the tabular dataset of the ActiveLab benchmarks.

The ActiveLab paper uses the 4-sensor version (OpenML 1526 = UCI ``sensor_readings_4.data``): 5,456 rows, 4 raw
ultrasound distances (front, left, right, back) and 4 classes. The 24-sensor file holds the same rows with all
24 sensors. Classes are numbered alphabetically, which equals the OpenML class code minus one:
0 Move-Forward, 1 Sharp-Right-Turn, 2 Slight-Left-Turn, 3 Slight-Right-Turn.

Licence: CC BY 4.0. Source: https://archive.ics.uci.edu/dataset/194/wall+following+robot+navigation+data

References
----------
.. [1] Freire, A. L., Barreto, G. A., Veloso, M., Varela, A. T. (2009). "Short-term memory mechanisms in neural
   network learning of robot navigation tasks: A case study." 6th Latin American Robotics Symposium.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pandas as pd

from ._base import register_dataset
from ._base import TabularDataset
from ._files import RemoteFile, resolve_file

DATASET_DIR = "wall_robot"
CLASS_NAMES = ["Move-Forward", "Sharp-Right-Turn", "Slight-Left-Turn", "Slight-Right-Turn"]
UCI_PAGE = "https://archive.ics.uci.edu/dataset/194/wall+following+robot+navigation+data"
UCI_ZIP = "https://archive.ics.uci.edu/static/public/194/wall+following+robot+navigation+data.zip"
LICENCE = "CC BY 4.0"

FILES = {
    4: RemoteFile("sensor_readings_4.data", "4b44051468bfd6ba7a0122c4a817def3", UCI_ZIP, "sensor_readings_4.data",
                  instructions=f"Dataset page: {UCI_PAGE}."),
    24: RemoteFile("sensor_readings_24.data", "aca51c3e2f6e8561b21db10cd8031830", UCI_ZIP, "sensor_readings_24.data",
                   instructions=f"Dataset page: {UCI_PAGE}."),
}


def read_sensor_file(path: Any, n_sensors: int) -> TabularDataset:
    """Parse a UCI ``sensor_readings_<n>.data`` file (CSV without header: ``n`` floats and a class name).

    Raises
    ------
    ValueError
        If a row has the wrong number of columns, a value is not a finite number, or a class name is unknown.
    """
    with open(path, "r", encoding="utf-8") as handle:
        lines = [line for line in handle.read().splitlines() if line.strip()]
    for number, line in enumerate(lines):
        if line.count(",") != n_sensors:
            raise ValueError(
                f"{path}: row {number} has {line.count(',') + 1} columns, expected {n_sensors} sensor columns and a "
                f"class column; is this the {n_sensors}-sensor file (sensor_readings_{n_sensors}.data)?"
            )
    frame = pd.read_csv(io.StringIO("\n".join(lines)), header=None)
    try:
        features = frame.iloc[:, :n_sensors].to_numpy(dtype=np.float64)
    except ValueError as exc:
        raise ValueError(f"{path}: a sensor value is not a number ({exc})") from None
    if not np.isfinite(features).all():
        bad_row = int(np.flatnonzero(~np.isfinite(features).all(axis=1))[0])
        raise ValueError(f"{path}: row {bad_row} has a missing or non-finite sensor value")
    names = frame.iloc[:, n_sensors].astype(str).str.strip()
    unknown = sorted(set(names) - set(CLASS_NAMES))
    if unknown:
        raise ValueError(f"{path}: unknown class name(s) {unknown}; expected {CLASS_NAMES}")
    labels = names.map({name: k for k, name in enumerate(CLASS_NAMES)}).to_numpy(dtype=np.int64)
    return TabularDataset("wall_robot", features, labels, list(CLASS_NAMES))


@register_dataset("wall_robot")
def load_wall_robot(root: Any = None, mirror: Any = None, download: bool = True, sensors: int = 4) -> TabularDataset:
    """Load Wall Robot Navigation.

    Parameters
    ----------
    root, mirror, download
        See :func:`active_learning.datasets.load`.
    sensors : {4, 24}, default=4
        Which UCI file to read: the 4 simplified distances (the ActiveLab benchmark) or all 24 sensors.

    Returns
    -------
    TabularDataset
        5,456 rows; ``features`` float64 (5456, sensors), ``labels`` int64 in 0..3.
    """
    if sensors not in FILES:
        raise ValueError(f"wall_robot: sensors must be 4 or 24, got {sensors!r}")
    spec = FILES[sensors]
    path = resolve_file(DATASET_DIR, spec, root=root, mirror=mirror, download=download)
    dataset = read_sensor_file(path, sensors)
    dataset.source = {"path": str(path), "md5": spec.md5, "url": UCI_PAGE, "licence": LICENCE, "sensors": sensors}
    return dataset
