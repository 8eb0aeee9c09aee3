"""Loading the benchmark scripts in tests: they are files in benchmarks/, not a package, and import
their sibling modules by plain name, as they do when run as `python benchmarks/<script>.py`."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"


def load_benchmark(name: str) -> ModuleType:
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    return importlib.import_module(name)
