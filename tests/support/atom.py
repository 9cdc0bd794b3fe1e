"""Atom validation against the RELAX NG grammar of RFC 4287 (Appendix B,
tests/support/schemas/atom.rnc),
converted by rnc2rng and checked by libxml2 through lxml."""

from __future__ import annotations

import functools
from pathlib import Path

import rnc2rng
from lxml import etree

SCHEMA = Path(__file__).with_name("schemas") / "atom.rnc"


@functools.cache
def atom_schema() -> etree.RelaxNG:
    rng = rnc2rng.dumps(rnc2rng.loads(SCHEMA.read_text()))
    # rnc2rng declares the empty "local" prefix, which XML forbids; its uses are spelt ns="".
    rng = rng.replace('xmlns:local=""', "")
    return etree.RelaxNG(etree.fromstring(rng.encode()))


def assert_valid_atom(document: bytes) -> etree._Element:
    """Parse and validate; fails with libxml2's messages when the document is not valid Atom."""
    root = etree.fromstring(document)
    schema = atom_schema()
    assert schema.validate(root), "\n".join(str(e) for e in schema.error_log)
    return root
