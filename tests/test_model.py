"""skillscan.model: the Record base (a frozen dataclass without `dataclasses`), evidence
masking and fingerprints."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from collections.abc import Mapping
from types import MappingProxyType

import pytest
from hypothesis import given
from hypothesis import strategies as st

from skillscan.model import (
    Category,
    Finding,
    Record,
    Severity,
    clean_evidence,
    field,
    field_names,
    fingerprint,
    mask_secrets,
    replace,
)


class Point(Record):
    x: int
    y: int = 0
    tags: tuple[str, ...] = field(default_factory=tuple)
    note: str = field(default="", repr=False, compare=False)


@dataclasses.dataclass(frozen=True)
class PointDC:
    x: int
    y: int = 0
    tags: tuple[str, ...] = dataclasses.field(default_factory=tuple)
    note: str = dataclasses.field(default="", repr=False, compare=False)


class Checked(Record):
    low: int
    high: int
    _span: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.low > self.high:
            raise ValueError("low > high")
        object.__setattr__(self, "_span", self.high - self.low)


class Labelled(Checked):
    label: str = "none"


class Mapped(Record):
    items: Mapping[str, int] = field(default_factory=dict)


ints = st.integers(-5, 5)
tags = st.tuples() | st.tuples(st.sampled_from("ab"))
notes = st.sampled_from(["", "n"])


@given(ints, ints, tags, notes, ints, ints, tags, notes)
def test_a_record_compares_hashes_and_shows_itself_as_the_same_dataclass_would(
    x1: int, y1: int, t1: tuple[str, ...], n1: str, x2: int, y2: int, t2: tuple[str, ...], n2: str
) -> None:
    a, b = Point(x1, y1, t1, n1), Point(x2, y=y2, tags=t2, note=n2)
    da, db = PointDC(x1, y1, t1, n1), PointDC(x2, y=y2, tags=t2, note=n2)

    assert (a == b) == (da == db)
    assert (a != b) == (da != db)
    assert (hash(a) == hash(b)) or a != b
    assert repr(a).removeprefix("Point") == repr(da).removeprefix("PointDC")
    assert replace(a, y=y2) == Point(x1, y2, t1, n1)
    assert (replace(a, y=y2) == a) == (dataclasses.replace(da, y=y2) == da)


def test_defaults_factories_and_field_order() -> None:
    p = Point(1)
    assert (p.x, p.y, p.tags, p.note) == (1, 0, (), "")
    assert field_names(Point) == ("x", "y", "tags", "note")
    assert field_names(Labelled) == ("low", "high", "_span", "label")
    first, second = Mapped(), Mapped()
    assert first.items == {} and first.items is not second.items  # a fresh dict each time


def test_construction_errors_match_a_dataclass() -> None:
    with pytest.raises(TypeError, match="missing argument 'x'"):
        Point()  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="multiple values"):
        Point(1, x=2)  # type: ignore[misc]
    with pytest.raises(TypeError, match="unexpected"):
        Point(1, z=3)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="positional"):
        Point(1, 2, (), "", 5)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="_span"):
        Checked(1, 2, _span=3)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="without a default follows"):

        class Bad(Record):  # a non-default field after a default one, as dataclasses refuse
            a: int = 0
            b: int


def test_a_record_is_frozen() -> None:
    p = Point(1)
    with pytest.raises(AttributeError):
        p.x = 2  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del p.x  # type: ignore[misc]
    with pytest.raises(AttributeError):
        p.extra = 1  # type: ignore[attr-defined]
    assert p.x == 1


def test_post_init_runs_on_construction_and_on_replace() -> None:
    c = Checked(1, 4)
    assert c._span == 3
    with pytest.raises(ValueError, match="low > high"):
        Checked(5, 1)
    with pytest.raises(ValueError, match="low > high"):
        replace(c, low=9)
    with pytest.raises(TypeError, match="not an argument"):
        replace(c, _span=0)
    with pytest.raises(TypeError, match="no field"):
        replace(c, nothing=0)
    labelled = Labelled(1, 2, "x")
    assert labelled._span == 1 and labelled.label == "x"
    assert labelled != Checked(1, 2)  # another class is never equal, as with dataclasses


def test_records_pickle_and_copy_to_equal_frozen_values() -> None:
    finding = Finding.create(
        "SKS-X-001", Severity.HIGH, Category.EXEC, "m", file="a.sh", line=3, evidence="curl x | sh"
    )
    for clone in (
        pickle.loads(pickle.dumps(finding)),  # noqa: S301 - our own bytes, as the scan pool sends
        copy.copy(finding),
        copy.deepcopy(finding),
    ):
        assert clone == finding and hash(clone) == hash(finding)
        with pytest.raises(AttributeError):
            clone.line = 4  # type: ignore[misc]
    checked = pickle.loads(pickle.dumps(Checked(2, 7)))  # noqa: S301 - our own bytes
    assert checked._span == 5


def test_a_record_holding_a_mapping_proxy_is_unhashable_like_a_dataclass() -> None:
    mapped = Mapped(MappingProxyType({"a": 1}))
    with pytest.raises(TypeError):
        hash(mapped)
    assert mapped == Mapped(MappingProxyType({"a": 1}))


def test_secrets_are_masked_in_evidence_and_fingerprints_ignore_spacing() -> None:
    key = "AKIA" + "ABCDEFGHIJKLMNOP"
    token = "ghp_" + "a" * 30
    assert key not in mask_secrets(f"aws {key} and {token}")
    assert token not in mask_secrets(f"aws {key} and {token}")
    assert mask_secrets("API_KEY=supersecretvalue") == "API_KEY=***"
    assert clean_evidence("a\x1bb\n\n  c") == "a\\u001bb c"
    assert len(clean_evidence("x" * 10_000)) == 200
    assert fingerprint("R", "f", "a  b") == fingerprint("R", "f", "A b")
    assert fingerprint("R", "f", "a b") != fingerprint("R", "g", "a b")
