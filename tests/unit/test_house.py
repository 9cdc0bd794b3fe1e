"""The house keeps its shape: what scripts/house.py measures is checked on every test run, so a
change that adds an import cycle, an import against the layers or an oversized unit fails here,
in seconds, instead of being found by the next reader."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import grimp
import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def house():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("house", REPO / "scripts" / "house.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["house"] = module
    spec.loader.exec_module(module)
    return module


def test_the_cycle_finder_finds_a_cycle_and_ignores_a_package_and_its_modules(house) -> None:
    """GIVEN a graph where a → b → c → a, and a package p whose __init__ imports its module p.m
    THEN the finder reports a, b, c as one cycle and p with p.m as none."""
    graph = grimp.ImportGraph()
    for importer, imported in [("a", "b"), ("b", "c"), ("c", "a"), ("p", "p.m"), ("p.m", "p")]:
        graph.add_import(importer=importer, imported=imported)
    assert house.import_cycles(house._without_package_edges(graph)) == [["a", "b", "c"]]


def test_no_cycles_no_import_against_the_layers_no_oversized_unit(house) -> None:
    """GIVEN the source tree
    WHEN scripts/house.py measures it (grimp's import graph, import-linter's layer contracts,
    folders, modules and functions)
    THEN nothing is over its limit: ≤ 12 modules per folder, ≤ 500 lines per module, ≤ 60 lines
    per function, no import cycle, every import points down the layers."""
    report = house.build_report()
    assert report.cycles == []
    assert report.layer_breaks == ""
    assert report.crowded_folders == []
    assert report.long_modules == []
    assert report.long_functions == []
