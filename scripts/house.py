"""How the house stands: import cycles, imports against the layers, and the size limits.

    .venv/bin/python scripts/house.py            # the report
    .venv/bin/python scripts/house.py --check    # exit 1 on any violation (the unit tier runs it)

Why these figures: a newcomer finds their way when every folder holds a few modules with one job
each, when a module can be read in one sitting, and when imports point one way only, so that a
change low in the house never needs a change above it. The import graph comes from grimp (the
library behind import-linter, which checks the layers declared in ``.importlinter``).
"""

from __future__ import annotations

import argparse
import ast
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import grimp

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("archive", "search", "workers", "api", "cli")
MAX_MODULES_PER_FOLDER = 12
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 60


@dataclass
class Report:
    cycles: list[list[str]] = field(default_factory=list)
    crowded_folders: list[tuple[str, int]] = field(default_factory=list)
    long_modules: list[tuple[str, int]] = field(default_factory=list)
    long_functions: list[tuple[str, int]] = field(default_factory=list)
    layer_breaks: str = ""

    @property
    def ok(self) -> bool:
        return not (
            self.cycles
            or self.crowded_folders
            or self.long_modules
            or self.long_functions
            or self.layer_breaks
        )


def import_cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected groups of modules (Tarjan), each a cycle of imports, function-level
    imports included: an import inside a function is still a dependency."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(root: str) -> None:
        # Iterative, so a deep import chain cannot hit the recursion limit.
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            module, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    imported = graph.find_modules_directly_imported_by(child)
                    work.append((child, iter(sorted(imported))))
                elif child in on_stack:
                    low[module] = min(low[module], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[module])
            if low[module] == index[module]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == module:
                        break
                if len(group) > 1:
                    found.append(sorted(group))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return found


def _without_package_edges(graph: grimp.ImportGraph) -> grimp.ImportGraph:
    """A package's ``__init__`` that re-exports its modules, and a module that imports a name
    from its own package's ``__init__``, are one unit, not a cycle between two."""
    for module in list(graph.modules):
        for imported in list(graph.find_modules_directly_imported_by(module)):
            if imported.startswith(module + ".") or module.startswith(imported + "."):
                graph.remove_import(importer=module, imported=imported)
    return graph


def source_files() -> list[Path]:
    return sorted(
        path
        for package in PACKAGES
        for path in (REPO / package).rglob("*.py")
        if "migrations" not in path.parts
    )


def sizes(report: Report) -> None:
    folders: dict[Path, int] = {}
    for path in source_files():
        if path.name != "__init__.py":
            folders[path.parent] = folders.get(path.parent, 0) + 1
        text = path.read_text(encoding="utf-8")
        lines = text.count("\n")
        name = str(path.relative_to(REPO))
        if lines > MAX_MODULE_LINES:
            report.long_modules.append((name, lines))
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    report.long_functions.append((f"{name}:{node.lineno} {node.name}", length))
    report.crowded_folders = [
        (str(folder.relative_to(REPO)), count)
        for folder, count in sorted(folders.items())
        if count > MAX_MODULES_PER_FOLDER
    ]


def layers() -> str:
    """import-linter's verdict on the contracts in ``.importlinter`` (empty when kept)."""
    run = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    return "" if run.returncode == 0 else run.stdout + run.stderr


def build_report() -> Report:
    sys.path.insert(0, str(REPO))
    graph = _without_package_edges(grimp.build_graph(*PACKAGES, cache_dir=None))
    report = Report(cycles=import_cycles(graph), layer_breaks=layers())
    sizes(report)
    return report


def print_report(report: Report) -> None:
    print(f"import cycles: {len(report.cycles)}")
    for group in report.cycles:
        print("   ", " ↔ ".join(group))
    print("layers (.importlinter):", "kept" if not report.layer_breaks else "BROKEN")
    if report.layer_breaks:
        print(report.layer_breaks)
    rows = [
        (f"folders over {MAX_MODULES_PER_FOLDER} modules", report.crowded_folders),
        (f"modules over {MAX_MODULE_LINES} lines", report.long_modules),
        (f"functions over {MAX_FUNCTION_LINES} lines", report.long_functions),
    ]
    for title, items in rows:
        print(f"{title}: {len(items)}")
        for name, value in sorted(items, key=lambda item: -item[1]):
            print(f"    {value:5d}  {name}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 on any violation")
    args = parser.parse_args()
    report = build_report()
    print_report(report)
    return 1 if args.check and not report.ok else 0


if __name__ == "__main__":
    sys.exit(main())
