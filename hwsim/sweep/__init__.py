"""Sweeps over design points (``hwsim sweep SPEC.toml``): any back-end config key, presets, models and weights files,
pruning method x sparsity, non-ideality levels and seeds; each point's cost (and accuracy on hardware), stored one
row per point in SQLite as it finishes, in parallel over processes or on Dask.

Quick use::

    from hwsim import sweep
    spec = sweep.expand({"hardware": NAME, "model": "lenet-300-100", "method": "magnitude",   # NAME: a back-end
                         "sparsity": [0.0, 0.5, 0.9], "set": {"adc.bits": [4, 6, 8]}})
    sweep.run_sweep(spec, "out.sqlite")
    rows = sweep.read_rows("out.sqlite")          # flat dicts: parameters, set.<key>, metrics

Spec format: :mod:`hwsim.sweep.spec`; store: :mod:`hwsim.sweep.store`; execution: :mod:`hwsim.sweep.run`.
"""
from __future__ import annotations

from .progress import Progress
from .run import SweepResult, Task, default_jobs, map_key, plan, run_sweep, run_task
from .spec import AXES, SETTINGS, Point, SweepSpec, expand, load_spec
from .store import Store, export_csv, export_parquet, flat_row, read_rows

__all__ = ["AXES", "SETTINGS", "Point", "Progress", "Store", "SweepResult", "SweepSpec", "Task", "default_jobs",
           "expand", "export_csv", "export_parquet", "flat_row", "load_spec", "map_key", "plan", "read_rows",
           "run_sweep", "run_task"]
