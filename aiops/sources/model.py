"""A source: a tool's API that one workflow's timings are pulled from, and its stored settings.

A source names a tool, its API's base URL, a query (repository, JQL, ticket filter), the workflow
it feeds, the loop it measures, the time kind, the go-live and a token *reference*. Leads add and
remove sources for their departments' workflows, admins for any; every change is audited (the
reference is, the token never is: it is not stored anywhere).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from aiops.auth import Actor
from aiops.errors import Conflict, MappingError, NotFound
from aiops.identity import identity_key
from aiops.ingest.mapping import TimeKind, parse_go_live
from aiops.sources.connector import Tool
from aiops.sources.github import ISSUES, PULLS
from aiops.sources.jira import JIRA
from aiops.sources.tokens import parse_token_ref
from aiops.sources.zendesk import ZENDESK
from aiops.store import Reader, Store, Tx
from aiops.workflow import MAX_NAME, MAX_TEXT
from aiops.workflow_reads import get_workflow

TOOLS: dict[str, Tool] = {t.name: t for t in (PULLS, ISSUES, JIRA, ZENDESK)}
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def tool_named(name: str) -> Tool:
    tool = TOOLS.get(name)
    if tool is None:
        raise MappingError(f"no tool '{name}'", f"the tools: {', '.join(TOOLS)}")
    return tool


class SourceSpec(BaseModel):
    """What a lead says to add a source (checked before anything is stored)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=MAX_NAME)
    tool: str
    base_url: str = ""
    query: str = Field("", max_length=MAX_TEXT)
    workflow_id: str = Field(min_length=1)
    loop: str = ""
    time_kind: TimeKind | None = None
    go_live: date | datetime
    token_ref: str

    @field_validator("go_live", mode="before")
    @classmethod
    def _go_live(cls, value: object) -> object:
        return parse_go_live(value) if isinstance(value, str) else value


@dataclass(frozen=True)
class Source:
    """A stored source."""

    source_id: int
    name: str
    tool: str
    base_url: str
    query: str
    workflow_id: str
    loop: str
    time_kind: TimeKind
    go_live: str
    token_ref: str
    cursor: str | None
    department: str
    last_pull_at: datetime | None

    @property
    def namespace(self) -> str:
        """The prefix of this source's record ids: one record of one site's query, for one loop
        (short: a digest of site, query and loop; another source of the same shares it)."""
        site = urlsplit(self.base_url)
        digest = hashlib.sha256(f"{site.netloc}{site.path}|{self.query}|{self.loop}".encode()).hexdigest()
        return f"{self.tool}:{digest[:10]}#"


def check_spec(spec: SourceSpec) -> SourceSpec:
    """The spec with the tool's defaults filled in (base URL, first loop, its time kind), or a
    clear refusal of the first field that does not fit."""
    tool = tool_named(spec.tool)
    base_url = (spec.base_url or tool.default_base_url).rstrip("/")
    site = urlsplit(base_url)
    if site.scheme != "https" and not (site.scheme == "http" and site.hostname in _LOOPBACK):
        raise MappingError(
            "the base URL must start with https:// (the token is sent with every request)",
            f"e.g. {tool.default_base_url}",
        )
    if not site.hostname or site.query or site.fragment or "your-" in site.hostname:
        raise MappingError("the base URL is not the address of an API site", f"e.g. {tool.default_base_url}")
    why = tool.check_query(spec.query)
    if why:
        raise MappingError(f"{tool.title}: {why}")
    loop = tool.loop(spec.loop or tool.loops[0].name)
    if loop is None:
        raise MappingError(
            f"{tool.title} has no loop '{spec.loop}'", f"its loops: {', '.join(x.name for x in tool.loops)}"
        )
    parse_token_ref(spec.token_ref)
    return spec.model_copy(
        update={"base_url": base_url, "loop": loop.name, "time_kind": spec.time_kind or loop.time_kind}
    )


def spec_from(values: dict[str, object]) -> SourceSpec:
    try:
        return SourceSpec.model_validate(values)
    except ValidationError as e:
        error = e.errors()[0]
        field = ".".join(str(p) for p in error["loc"])
        raise MappingError(f"source {field}: {error['msg'].removeprefix('Value error, ')}") from None


_COLUMNS = (
    "s.source_id, s.name, s.tool, s.base_url, s.query, s.workflow_id, s.loop, s.time_kind, s.go_live,"
    " s.token_ref, s.pull_cursor, w.department, s.last_pull_at"
)
_SELECT = f"SELECT {_COLUMNS} FROM sources s JOIN workflows w ON w.workflow_id = s.workflow_id"


def _source(row: tuple[object, ...]) -> Source:
    return Source(*row)  # type: ignore[arg-type]  # the columns of _COLUMNS, in order


def list_sources(db: Reader, actor: Actor | None = None) -> list[Source]:
    """Every source, or those whose workflow ``actor`` may write for (a lead's departments)."""
    sources = [_source(r) for r in db.query(_SELECT + " ORDER BY s.name_key")]
    return [s for s in sources if actor is None or actor.can_write(s.department)]


def find_source(db: Reader, name: str) -> Source:
    """The source ``name`` names, whatever its case and spacing (``identity_key``)."""
    row = db.query_one(_SELECT + " WHERE s.name_key = ?", [identity_key(name)])
    if row is None:
        raise NotFound(f"no source '{name}'", "see `aiops sources list`")
    return _source(row)


def add_source(store: Store, actor: Actor, spec: SourceSpec) -> Source:
    """Store a checked source (its name unique whatever its case and spacing, for the workflow its
    id names whatever its case and spacing); audited without any token."""
    spec = check_spec(spec)

    def run(tx: Tx) -> None:
        try:
            workflow = get_workflow(tx, spec.workflow_id)
        except NotFound:
            missing = f"no workflow '{spec.workflow_id}'"
            raise NotFound(missing, "register it first, or pick another") from None
        workflow_id = workflow.workflow_id
        tx.actor.require_write(workflow.department, "add sources")
        if tx.query_one("SELECT 1 FROM sources WHERE name_key = ?", [identity_key(spec.name)]):
            raise Conflict(f"a source named '{spec.name}' exists", "pick another name, or remove that one")
        source_id = tx.next_id("source_seq")
        go_live = spec.go_live.isoformat()
        tx.execute(
            "INSERT INTO sources (source_id, name, name_key, tool, base_url, query, workflow_id, loop,"
            " time_kind, go_live, token_ref, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?,"
            " ?, ?, ?, ?, ?)",
            [source_id, spec.name, identity_key(spec.name), spec.tool, spec.base_url, spec.query, workflow_id]
            + [spec.loop, spec.time_kind, go_live, spec.token_ref, tx.now, tx.actor.name],
        )
        detail = spec.model_dump(mode="json") | {"workflow_id": workflow_id}
        tx.audit("source.added", "source", str(source_id), detail)

    store.write(actor, run)
    return find_source(store, spec.name)


def remove_source(store: Store, actor: Actor, name: str) -> Source:
    """Forget a source (its pulled batches stay, each undoable); audited."""
    source = find_source(store, name)

    def run(tx: Tx) -> None:
        tx.actor.require_write(source.department, "remove sources")
        tx.execute("DELETE FROM sources WHERE source_id = ?", [source.source_id])
        tx.audit("source.removed", "source", str(source.source_id), {"name": source.name})

    store.write(actor, run)
    return source
