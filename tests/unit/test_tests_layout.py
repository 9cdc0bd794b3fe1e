"""How the tests themselves are laid out: the shared test data has one door, and support/ holds
helpers only. A rule that nothing checks drifts back; these keep the ones issue #15 set."""

from __future__ import annotations

import ast
import re
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
# A path to the folder outside the repository: the name as a path part, or ``REPO.parent``.
SHARED_PATH = re.compile(r"""["']\.\./shared|["']shared["']|\bREPO\.parent\b""")


def test_only_the_root_conftest_builds_the_path_to_the_shared_test_data():
    """
    GIVEN every Python file under tests/
    WHEN searched for a path to the shared test data (the folder next to the checkout)
    THEN only tests/conftest.py builds one (need_shared); every other test asks it, so a clone
      without the data skips those tests with one reason, and the folder can move in one line
    """
    builders = sorted(
        str(path.relative_to(TESTS))
        for path in TESTS.rglob("*.py")
        if path != Path(__file__).resolve() and SHARED_PATH.search(path.read_text(encoding="utf-8"))
    )
    assert builders == ["conftest.py"]


def test_support_holds_helpers_and_no_tests():
    """tests/support is imported by the tests; a test placed there would run from every folder's
    point of view at once and belongs in unit/ or integration/ instead."""
    for path in (TESTS / "support").rglob("*.py"):
        assert not path.name.startswith("test_"), path
        names = [
            node.name
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        ]
        assert not [n for n in names if n.startswith(("test_", "Test"))], path
