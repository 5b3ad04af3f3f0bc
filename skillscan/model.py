"""Frozen value types shared by every layer: severities, findings, verdicts, reports."""

from __future__ import annotations

import enum
import functools
import hashlib
import itertools
import re

# --- frozen records ---------------------------------------------------------------------
#
# Value classes without the `dataclasses` module: `import dataclasses` costs more than the
# runtime gate's whole import budget (it imports inspect, ast, dis, tokenize, ...;
# docs/gate.md), and every module the gate imports (digest, lockfile, model) declares value
# classes. A subclass of `Record` is a frozen dataclass in all the ways skillscan uses one:
# fields are the annotated class attributes in order (inherited ones first); `field()`
# takes `default`, `default_factory`, `init`, `repr` and `compare`; `__init__` takes them
# positionally or by name, then calls `__post_init__` if the class has one; instances
# compare and hash by their compared fields, refuse assignment, pickle and copy. Type
# checkers see a dataclass (`dataclass_transform`). `replace()` and `field_names()` stand in
# for dataclasses.replace and dataclasses.fields. Not even `typing` is imported at run time.


TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, ClassVar, TypeVar, dataclass_transform, overload

    _T = TypeVar("_T")
    _R = TypeVar("_R", bound="Record")
else:

    def dataclass_transform(**_options):
        return lambda cls: cls

    def overload(function):
        return function


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class Field:
    """How one field of a Record is built, shown and compared (see `field`)."""

    __slots__ = ("compare", "default", "default_factory", "init", "name", "repr")

    def __init__(
        self,
        *,
        default: object = MISSING,
        default_factory: Callable[[], object] | _Missing = MISSING,
        init: bool = True,
        repr: bool = True,
        compare: bool = True,
    ) -> None:
        if default is not MISSING and default_factory is not MISSING:
            raise ValueError("a field takes a default or a default_factory, not both")
        self.name = ""
        self.default = default
        self.default_factory = default_factory
        self.init = init
        self.repr = repr
        self.compare = compare

    def named(self, name: str) -> Field:
        self.name = name
        return self

    def has_default(self) -> bool:
        return self.default is not MISSING or self.default_factory is not MISSING

    def make_default(self) -> object:
        factory = self.default_factory
        return factory() if callable(factory) else self.default


@overload
def field(*, default: _T, init: bool = True, repr: bool = True, compare: bool = True) -> _T: ...


@overload
def field(  # noqa: F811 - `overload` is typing's for type checkers, a no-op at run time
    *,
    default_factory: Callable[[], _T],
    init: bool = True,
    repr: bool = True,
    compare: bool = True,
) -> _T: ...


@overload
def field(*, init: bool = True, repr: bool = True, compare: bool = True) -> Any: ...  # noqa: F811


def field(  # noqa: F811
    *,
    default: object = MISSING,
    default_factory: Callable[[], object] | _Missing = MISSING,
    init: bool = True,
    repr: bool = True,
    compare: bool = True,
) -> Any:
    """A field with options, as dataclasses.field: `x: int = field(default=0, repr=False)`."""
    return Field(
        default=default,
        default_factory=default_factory,
        init=init,
        repr=repr,
        compare=compare,
    )


def _is_class_var(annotation: object) -> bool:
    text = annotation if isinstance(annotation, str) else repr(annotation)
    return text.startswith(("ClassVar", "typing.ClassVar"))


@dataclass_transform(frozen_default=True, field_specifiers=(field, Field))
class Record:
    """Base of frozen value classes; see the module's text."""

    __slots__ = ()

    if TYPE_CHECKING:
        __record_fields__: ClassVar[tuple[Field, ...]]
        __record_init__: ClassVar[tuple[Field, ...]]
        __record_compare__: ClassVar[tuple[str, ...]]

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        specs = {spec.name: spec for spec in getattr(cls, "__record_fields__", ())}
        for name, annotation in cls.__dict__.get("__annotations__", {}).items():  # noqa: RUF063
            if _is_class_var(annotation):
                continue
            value = cls.__dict__.get(name, MISSING)
            spec = value if isinstance(value, Field) else Field(default=value)
            if isinstance(value, Field):
                # As dataclasses do: the class attribute becomes the plain default, if any.
                if spec.default is MISSING:
                    delattr(cls, name)
                else:
                    setattr(cls, name, spec.default)
            specs[name] = spec.named(name)  # a redefined field keeps its first place
        init = tuple(spec for spec in specs.values() if spec.init)
        for before, after in itertools.pairwise(init):
            if before.has_default() and not after.has_default():
                raise TypeError(
                    f"{cls.__qualname__}: field {after.name!r} without a default follows "
                    f"{before.name!r}, which has one"
                )
        cls.__record_fields__ = tuple(specs.values())
        cls.__record_init__ = init
        cls.__record_compare__ = tuple(spec.name for spec in specs.values() if spec.compare)

    def __init__(self, *args: object, **kwargs: object) -> None:
        cls = type(self)
        init = cls.__record_init__
        if len(args) > len(init):
            raise TypeError(
                f"{cls.__qualname__}() takes {len(init)} positional arguments, got {len(args)}"
            )
        assign = object.__setattr__
        taken = 0
        for index, spec in enumerate(init):
            name = spec.name
            if index < len(args):
                if name in kwargs:
                    raise TypeError(f"{cls.__qualname__}() got multiple values for {name!r}")
                value = args[index]
            elif name in kwargs:
                value = kwargs[name]
                taken += 1
            elif spec.has_default():
                value = spec.make_default()
            else:
                raise TypeError(f"{cls.__qualname__}() missing argument {name!r}")
            assign(self, name, value)
        if taken != len(kwargs):
            known = {spec.name for spec in init}
            unknown = sorted(key for key in kwargs if key not in known)
            raise TypeError(f"{cls.__qualname__}() got unexpected arguments {unknown}")
        for spec in cls.__record_fields__:
            if not spec.init and spec.has_default():
                assign(self, spec.name, spec.make_default())
        post_init = getattr(self, "__post_init__", None)
        if post_init is not None:
            post_init()

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r} of a frozen {type(self).__name__}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r} of a frozen {type(self).__name__}")

    def _compared(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in type(self).__record_compare__)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._compared() == other._compared()

    def __hash__(self) -> int:
        return hash(self._compared())

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{spec.name}={getattr(self, spec.name)!r}"
            for spec in type(self).__record_fields__
            if spec.repr
        )
        return f"{type(self).__qualname__}({shown})"


def replace(record: _R, /, **changes: object) -> _R:
    """A copy of `record` with some fields changed, validated again (dataclasses.replace)."""
    values: dict[str, object] = {}
    for spec in type(record).__record_fields__:
        if spec.name in changes:
            if not spec.init:
                raise TypeError(f"field {spec.name!r} cannot be replaced: it is not an argument")
            values[spec.name] = changes.pop(spec.name)
        elif spec.init:
            values[spec.name] = getattr(record, spec.name)
    if changes:
        raise TypeError(f"{type(record).__qualname__} has no field {sorted(changes)[0]!r}")
    return type(record)(**values)


def field_names(cls: type[Record]) -> tuple[str, ...]:
    """The names of a Record class's fields, in order (dataclasses.fields)."""
    return tuple(spec.name for spec in cls.__record_fields__)


# --- severities, findings, verdicts --------------------------------------------------


class Severity(enum.Enum):
    """How bad a finding is; critical and high block, medium asks for review."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        """Higher is worse; used for sorting and thresholds."""
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {
    Severity.CRITICAL: 4,
    Severity.HIGH: 3,
    Severity.MEDIUM: 2,
    Severity.LOW: 1,
    Severity.INFO: 0,
}


class Category(enum.Enum):
    """What kind of threat a finding points at (DESIGN §4.2)."""

    EXEC = "exec"
    EXFILTRATION = "exfiltration"
    CREDENTIAL_ACCESS = "credential-access"
    PERSISTENCE = "persistence"
    OBFUSCATION = "obfuscation"
    PROMPT_INJECTION = "prompt-injection"
    HIDDEN_CONTENT = "hidden-content"
    INSTALL_INSTRUCTION = "install-instruction"
    NETWORK = "network"
    SUPPLY_CHAIN = "supply-chain"
    CAPABILITY = "capability"
    INTEGRITY = "integrity"


class Verdict(enum.Enum):
    """The decision for one skill: block > review > pass."""

    BLOCK = "block"
    REVIEW = "review"
    PASS = "pass"  # noqa: S105 - a verdict, not a password


EVIDENCE_MAX_CHARS = 200

# Secrets that must never be echoed back in evidence: provider key shapes and
# `key = value` assignments whose name says it is a secret. Compiled on first use: the
# runtime gate imports this module and never shows evidence (docs/gate.md, import budget).
_SECRET_SOURCES = (
    r"\b(AKIA|ASIA)[0-9A-Z]{16}\b",
    r"\bgh[pousr]_[A-Za-z0-9]{20,}\b",
    r"\bgithub_pat_[A-Za-z0-9_]{20,}\b",
    r"\bsk-(?:ant-|proj-)?[A-Za-z0-9_-]{20,}\b",
    r"\bxox[abprs]-[A-Za-z0-9-]{10,}\b",
    r"\b\d{8,10}:AA[A-Za-z0-9_-]{30,}\b",  # Telegram bot token
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----[^-]*",
)
_ASSIGNMENT_SOURCE = (
    r"(?i)\b([A-Z0-9_]*(?:SECRET|TOKEN|PASSWORD|PASSWD|API_?KEY|PRIVATE_?KEY)[A-Z0-9_]*"
    r"\s*[:=]\s*['\"]?)([^'\"\s]{8,})"
)


@functools.cache
def _patterns() -> tuple[re.Pattern[str], ...]:
    """(whitespace, secret assignment, *secret shapes), compiled once."""
    sources = (r"\s+", _ASSIGNMENT_SOURCE, *_SECRET_SOURCES)
    return tuple(re.compile(source) for source in sources)


def mask_secrets(text: str) -> str:
    """Replace anything shaped like a credential with a fixed mask."""
    _, assignment, *shapes = _patterns()
    for pattern in shapes:
        text = pattern.sub("***", text)
    return assignment.sub(lambda m: m.group(1) + "***", text)


def clean_evidence(text: str) -> str:
    """Evidence as shown and fingerprinted: one line, masked, bounded, printable."""
    # Bound the work first: a minified file hands over megabyte-long lines. The margin
    # keeps a secret that straddles the cut from being shown half unmasked.
    text = text[: EVIDENCE_MAX_CHARS * 4]
    text = _patterns()[0].sub(" ", text).strip()
    if not text.isprintable():  # most evidence is: skip the per-character rewrite
        text = "".join(ch if ch.isprintable() else f"\\u{ord(ch):04x}" for ch in text)
    text = mask_secrets(text)
    if len(text) > EVIDENCE_MAX_CHARS:
        text = text[: EVIDENCE_MAX_CHARS - 1] + "…"
    return text


def fingerprint(rule_id: str, file: str, evidence: str) -> str:
    """Stable id of a finding: rule + file + normalised evidence, never the line."""
    normalised = _patterns()[0].sub(" ", evidence).strip().lower()
    digest = hashlib.sha256(f"{rule_id}\0{file}\0{normalised}".encode()).hexdigest()
    return f"{rule_id}:{digest[:16]}"


class Finding(Record):
    """One thing an analyzer saw; build it with `Finding.create` (masking, fingerprint)."""

    rule_id: str
    severity: Severity
    category: Category
    file: str
    line: int
    message: str
    evidence: str
    fingerprint: str
    acknowledged: bool = False

    @classmethod
    def create(
        cls,
        rule_id: str,
        severity: Severity,
        category: Category,
        message: str,
        *,
        file: str = "",
        line: int = 0,
        evidence: str = "",
    ) -> Finding:
        """Make a finding with cleaned evidence and its stable fingerprint."""
        shown = clean_evidence(evidence)
        return cls(
            rule_id=rule_id,
            severity=severity,
            category=category,
            file=file,
            line=line,
            message=message,
            evidence=shown,
            fingerprint=fingerprint(rule_id, file, shown),
        )

    def sort_key(self) -> tuple[int, str, int, str]:
        """Worst first, then by place."""
        return (-self.severity.rank, self.file, self.line, self.rule_id)


SCAN_INCOMPLETE = "SKS-SCAN-INCOMPLETE"


def incomplete(analyzer: str, reason: str, *, file: str = "") -> Finding:
    """The fail-closed finding for an analyzer that crashed, timed out or was cut short."""
    return Finding.create(
        SCAN_INCOMPLETE,
        Severity.HIGH,
        Category.INTEGRITY,
        f"The {analyzer} analyzer did not finish ({reason}); the skill was not fully scanned. "
        "Treat it as unscanned until a complete scan passes.",
        file=file,
        evidence=f"{analyzer}: {reason}",
    )


class SkillReport(Record):
    """The scan result for one skill."""

    path: str
    name: str
    verdict: Verdict
    findings: tuple[Finding, ...] = field(default_factory=tuple)


class ScanResult(Record):
    """A whole scan run: versions used and one report per skill, sorted by path."""

    skillscan_version: str
    signatures_version: str
    reports: tuple[SkillReport, ...]

    @property
    def worst(self) -> Verdict:
        """The worst verdict of the run (pass when there are no skills)."""
        verdicts = {r.verdict for r in self.reports}
        for verdict in (Verdict.BLOCK, Verdict.REVIEW):
            if verdict in verdicts:
                return verdict
        return Verdict.PASS
