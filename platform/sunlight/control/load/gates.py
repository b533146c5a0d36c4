"""SLO gates: versioned YAML files, evaluated against what the run measured.

A gate names a metric over a set of request names (``submit/*`` aggregates every request
whose name starts with ``submit/``) and a bound. A breach names the gate and by how much.

The shipped gate files are part of the checkout (``loadtests/gates/``), found through
:func:`sunlight.paths.repo_root`; any other file can be given by path.

Example::

    >>> gates = load_gates(gates_file("inspection-season"))  # doctest: +SKIP
    >>> verdicts = evaluate(gates, observed, merged_percentile)  # doctest: +SKIP
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sunlight.paths import repo_root

Metric = Literal["percentile_ms", "error_ratio", "rate_held"]


class Gate(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    metric: Metric
    requests: str = "*"  # a glob over request names
    percentile: float | None = Field(default=None, gt=0, lt=1)
    max: float | None = None
    min: float | None = None

    @model_validator(mode="after")
    def _bound(self) -> Gate:
        if (self.max is None) == (self.min is None):
            raise ValueError(f"gate {self.name}: give exactly one of max or min")
        if self.metric == "percentile_ms" and self.percentile is None:
            raise ValueError(f"gate {self.name}: percentile_ms needs a percentile")
        return self


class GateFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    version: int = Field(ge=1)
    description: str = ""
    gates: list[Gate] = Field(min_length=1)


class GateFileError(ValueError):
    """A gate file is malformed; the message names the file and the field."""


def gates_dir(root: Path | None = None) -> Path:
    """The checkout's gate files: ``loadtests/gates/``."""
    return (root or repo_root()) / "loadtests" / "gates"


def gates_file(profile: str, root: Path | None = None) -> Path:
    """The profile's own gate file if the checkout has one, else ``ci.yaml``."""
    own = gates_dir(root) / f"{profile}.yaml"
    return own if own.is_file() else gates_dir(root) / "ci.yaml"


def load_gates(path: str | Path) -> GateFile:
    try:
        return GateFile.model_validate(yaml.safe_load(Path(path).read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError) as exc:
        raise GateFileError(f"{path}: {exc}") from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise GateFileError(f"{path}: {where}: {first['msg']}") from exc


@dataclass(frozen=True)
class Observed:
    """What the run measured for one request name."""

    count: int
    failures: int
    percentile_ms: Callable[[float], float]  # over this name's responses


@dataclass(frozen=True)
class Verdict:
    gate: Gate
    value: float | None  # None: nothing matched the gate's requests
    passed: bool

    def describe(self) -> str:
        bound = f"≤ {self.gate.max:g}" if self.gate.max is not None else f"≥ {self.gate.min:g}"
        if self.value is None:
            return f"{self.gate.name}: no requests matched {self.gate.requests!r} (fails)"
        verdict = "ok" if self.passed else "BREACHED"
        text = f"{self.gate.name}: {self.value:.3g} (bound {bound}) {verdict}"
        if not self.passed:
            limit = self.gate.max if self.gate.max is not None else self.gate.min
            assert limit is not None
            over = abs(self.value - limit)
            text += f" by {over:.3g}" + (f" ({over / limit:.0%})" if limit else "")
        return text


def _matching(observed: Mapping[str, Observed], pattern: str) -> list[Observed]:
    return [o for name, o in observed.items() if fnmatch.fnmatchcase(name, pattern)]


def evaluate(gates: GateFile, observed: Mapping[str, Observed],
             merged_percentile: Callable[[Sequence[str], float], float],
             rate_held: float | None = None) -> list[Verdict]:
    """Every gate's verdict. ``merged_percentile(names, q)`` answers over several names."""
    verdicts = []
    for gate in gates.gates:
        names = [n for n in observed if fnmatch.fnmatchcase(n, gate.requests)]
        matched = _matching(observed, gate.requests)
        value: float | None
        if gate.metric == "rate_held":
            value = rate_held
        elif not matched or not sum(o.count for o in matched):
            value = None
        elif gate.metric == "error_ratio":
            value = sum(o.failures for o in matched) / sum(o.count for o in matched)
        else:
            assert gate.percentile is not None
            value = merged_percentile(names, gate.percentile)
        passed = value is not None and (
            (gate.max is None or value <= gate.max) and (gate.min is None or value >= gate.min))
        verdicts.append(Verdict(gate, value, passed))
    return verdicts
