"""Topology files: which sites a deployment has, their parents and profile.

The default is the worked example: 320000 江苏省 → 320700 连云港市 → 320703 连云区, compact.

Example (``topology.yaml``)::

    name: demo
    profile: compact
    sites:
      - {code: "320000"}
      - {code: "320700", parent: "320000"}
      - {code: "320703", parent: "320700"}

A site may run on its own Docker engine (docs/engines.md): ``engine: <name>``, a name under
``engines:`` or a built-in one (``local``, the default; ``second``, the engine
``sunlight engine second up`` starts on this machine)::

    engines:
      b: {url: "unix:///run/sunlight/dockerd-b.sock"}
      county: {url: "tcp://10.1.2.3:2376", address: 10.1.2.3,
               tls: {ca: /etc/sunlight/ca.pem, cert: /etc/sunlight/cert.pem,
                     key: /etc/sunlight/key.pem}}
    sites:
      - {code: "320703", parent: "320700", engine: b}
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sunlight.topology.division import DivisionError, check_parent
from sunlight.topology.engines import LOCAL, EngineSpec, check_name, resolve
from sunlight.topology.layout import Profile
from sunlight.topology.runs import validate_run_id


class SiteSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(pattern=r"^\d{6}$")
    parent: str | None = None
    profile: Profile | None = None  # default: the topology's
    engine: str | None = None  # a name under the topology's engines (default: local)


class TopologySpec(BaseModel):
    """A deployment's sites, parents before children."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = "demo"
    profile: Profile = Profile.COMPACT
    engines: dict[str, EngineSpec] = Field(default_factory=dict)
    sites: list[SiteSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _tree(self) -> TopologySpec:
        validate_run_id(self.name)
        for name in self.engines:
            try:
                check_name(name)
            except ValueError as exc:
                raise ValueError(f"engines.{name}: {exc}") from None
        seen: set[str] = set()
        for site in self.sites:
            if site.code in seen:
                raise ValueError(f"site {site.code} is listed twice")
            try:
                check_parent(site.code, site.parent)
            except DivisionError as exc:
                raise ValueError(f"site {site.code}: {exc}") from None
            try:
                resolve(self.engines, site.engine)
            except KeyError as exc:
                raise ValueError(f"site {site.code}: engine: {exc.args[0]}") from None
            if site.parent and site.parent not in seen:
                raise ValueError(f"site {site.code}: parent {site.parent} must be listed "
                                 "before it (it is not in this topology, or comes later)")
            seen.add(site.code)
        return self

    def profile_of(self, code: str) -> Profile:
        site = next(s for s in self.sites if s.code == code)
        return site.profile or self.profile

    def engine_of(self, code: str) -> str:
        """The name of the engine ``code`` runs on (``local`` unless the site names one)."""
        site = next(s for s in self.sites if s.code == code)
        return site.engine or LOCAL

    def engine(self, name: str) -> EngineSpec:
        return resolve(self.engines, name)

    @property
    def engine_names(self) -> list[str]:
        """The engines the sites run on, in the order sites first name them."""
        return list(dict.fromkeys(self.engine_of(s.code) for s in self.sites))

    @property
    def several_engines(self) -> bool:
        return len(self.engine_names) > 1

    def on_engine(self, code: str, engine: str) -> TopologySpec:
        """This topology with site ``code`` moved to ``engine`` (validated again)."""
        sites = [s.model_copy(update={"engine": engine}) if s.code == code else s
                 for s in self.sites]
        return TopologySpec.model_validate({**self.model_dump(), "sites": [
            s.model_dump() for s in sites]})

    def with_site(self, code: str, parent: str, profile: Profile | None = None,
                  engine: str | None = None) -> TopologySpec:
        return TopologySpec(name=self.name, profile=self.profile, engines=self.engines,
                            sites=[*self.sites, SiteSpec(code=code, parent=parent,
                                                         profile=profile, engine=engine)])


DEFAULT = TopologySpec(name="demo", profile=Profile.COMPACT, sites=[
    SiteSpec(code="320000"), SiteSpec(code="320700", parent="320000"),
    SiteSpec(code="320703", parent="320700")])


class TopologyError(ValueError):
    """A topology file is wrong; the message names the file and the field."""


def load_topology(path: Path | None) -> TopologySpec:
    if path is None:
        return DEFAULT
    try:
        return TopologySpec.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError) as exc:
        raise TopologyError(f"{path}: {exc}") from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "topology"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise TopologyError(f"{path}: {where}: {message}") from exc


def dump_topology(spec: TopologySpec) -> str:
    return yaml.safe_dump(spec.model_dump(mode="json", exclude_none=True), sort_keys=False)
