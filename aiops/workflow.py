"""The workflow: one AI-assisted process with one human owner, and its vocabularies.

List fields keep every value they are given, known or not: the classifier reports unknown values
(and treats them as at least medium risk) instead of the model silently dropping them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Annotated, cast

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, field_validator

from aiops.amounts import AiMonthlyCost

DATA_TOUCHED = (
    "internal_docs",
    "public_info",
    "customer_data",
    "personal_data",
    "financial_data",
    "health_data",
    "credentials",
    "source_code",
    "security_logs",
)
CHANGES = (
    "none",
    "drafts",
    "internal_records",
    "team_workflow",
    "customer_records",
    "permissions",
    "billing",
    "production",
    "security_settings",
    "public_content",
    "regulated_content",
    "decisions_about_people",
)
CUSTOMER_IMPACT = ("none", "internal", "customer_facing", "public")
REVIEW_REQUIREMENTS = ("none", "spot_check", "approve_each", "two_person")
SENSITIVE_DATA = frozenset({"customer_data", "personal_data", "financial_data", "health_data"})

# The columns of the workflows CSV, in the data contract's order.
FIELDS = (
    "workflow_id",
    "name",
    "department",
    "manual_process",
    "data_touched",
    "changes",
    "customer_impact",
    "expected_output",
    "owner",
    "reviewer",
    "review_requirement",
    "success_metric",
    "trigger",
    "acceptable_output",
    "failure_plan",
    "failure_detection",
    "checkpoints",
    "signed_off_by",
    "comparison_workflow_id",
    "ai_monthly_cost",
)
LIST_FIELDS = ("data_touched", "changes", "checkpoints")
VOCABULARY = {
    "data_touched": DATA_TOUCHED,
    "changes": CHANGES,
    "customer_impact": CUSTOMER_IMPACT,
    "review_requirement": REVIEW_REQUIREMENTS,
}
LIST_SEPARATOR = ";"
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$"
LIST_TOKEN_FIELDS = ("data_touched", "changes")
_KNOWN = {field: frozenset(values) for field, values in VOCABULARY.items()}


def normalize_token(value: str) -> str:
    """`Customer Data` and `customer-data` are the vocabulary's `customer_data`."""
    return re.sub(r"[\s\-/]+", "_", value.strip().lower())


_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def slugify(text: str) -> str:
    """Lower-case ASCII words joined by `-`: compatibility forms and accents taken apart (NFKD:
    ``ﬀ`` is ``ff``, ``é`` is ``e``), marks dropped, any other character (``Ł``) a separator."""
    if not text.isascii():  # ASCII is its own NFKD, without marks: most names skip the slow part
        decomposed = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return _NOT_SLUG.sub("-", text.lower()).strip("-")


def derive_workflow_id(name: str, department: str) -> str:
    """A stable id for spreadsheets without an id column: department and name as one slug. SQL
    calls this very function under the same name (``aiops.store.functions``)."""
    return slugify(f"{department} {name}")[:120].strip("-") or "workflow"


def split_list(value: object) -> list[str]:
    if value is None:
        return []
    items = value.split(LIST_SEPARATOR) if isinstance(value, str) else list(cast("Iterable[object]", value))
    return [str(item).strip() for item in items if str(item).strip()]


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


def _optional_text(value: object) -> str | None:
    return _text(value) or None


def _optional_amount(value: object) -> float | None:
    """`1,200`, ` 950 ` or 950.0 to a number; empty to None (not recorded)."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip().replace(",", "").replace("_", "")
    return float(text) if text else None


# Bounds on stored text: a name is a label (tables, headings, the board pack), text is an answer.
# Longer input is rejected with the field and the limit, never cut silently. A workflow's own name
# may be longer than a person's or a department's: real use-case names run to 342 characters (the
# 2024 federal AI inventory), so it gets 400.
MAX_NAME = 200
MAX_WORKFLOW_NAME = 400
MAX_TEXT = 5_000
NAME_FIELDS = ("department", "owner", "reviewer", "signed_off_by")


def length_limit(field: str) -> int:
    if field == "name":
        return MAX_WORKFLOW_NAME
    return MAX_NAME if field in NAME_FIELDS else MAX_TEXT


def check_length(field: str, value: str, limit: int | None = None) -> str:
    """``value`` if it fits ``field``'s limit, else a ValueError naming the field and the limit."""
    limit = limit or length_limit(field)
    if len(value) > limit:
        raise ValueError(f"{field} is {len(value):,} characters long; the limit is {limit:,}")
    return value


Text = Annotated[str, BeforeValidator(_text)]
OptionalText = Annotated[str | None, BeforeValidator(_optional_text)]
TextList = Annotated[list[str], BeforeValidator(split_list)]


class Workflow(BaseModel):
    """All columns of the data contract; empty text means "not answered"."""

    model_config = ConfigDict(frozen=True)

    workflow_id: Text = Field(pattern=ID_PATTERN)
    name: Text = Field(min_length=1)
    department: Text = Field(min_length=1)
    manual_process: Text = ""
    data_touched: TextList = []
    changes: TextList = []
    customer_impact: Text = ""
    expected_output: Text = ""
    owner: Text = ""
    reviewer: Text = ""
    review_requirement: Text = ""
    success_metric: Text = ""
    trigger: Text = ""
    acceptable_output: Text = ""
    failure_plan: Text = ""
    failure_detection: Text = ""
    checkpoints: TextList = []
    signed_off_by: Text = ""
    # A workflow that did not adopt AI, compared against this one (difference-in-differences).
    comparison_workflow_id: OptionalText = Field(default=None, pattern=ID_PATTERN)
    # What the AI costs per month (licences and usage), in the company's currency; None = not recorded.
    ai_monthly_cost: Annotated[AiMonthlyCost | None, BeforeValidator(_optional_amount)] = None

    @field_validator("*")
    @classmethod
    def _bounded(cls, value: object, info: ValidationInfo) -> object:
        """Every text within its limit; a list as the one cell it is stored and exported as. A row
        read back from the store is not refused: it may predate the bounds."""
        if info.context and info.context.get("stored"):
            return value
        text = f"{LIST_SEPARATOR} ".join(value) if isinstance(value, list) else value
        if isinstance(text, str):
            check_length(info.field_name or "text", text)
        return value

    @field_validator("data_touched", "changes")
    @classmethod
    def _normalize_list(cls, values: list[str]) -> list[str]:
        return list(dict.fromkeys(normalize_token(v) for v in values))

    @field_validator("customer_impact", "review_requirement")
    @classmethod
    def _normalize_token(cls, value: str) -> str:
        return normalize_token(value)

    def unknown_values(self) -> dict[str, list[str]]:
        """Values outside the vocabulary, per field (reported, never silently dropped)."""
        found: dict[str, list[str]] = {}
        for field in LIST_TOKEN_FIELDS:
            unknown = [v for v in getattr(self, field) if v not in _KNOWN[field]]
            if unknown:
                found[field] = unknown
        for field in ("customer_impact", "review_requirement"):
            value = getattr(self, field)
            if value and value not in _KNOWN[field]:
                found[field] = [value]
        return found

    def to_row(self) -> dict[str, object]:
        """The workflow as CSV cells (lists joined with `;`)."""
        row = self.model_dump()
        for field in LIST_FIELDS:
            row[field] = f"{LIST_SEPARATOR} ".join(row[field])
        return {name: "" if value is None else value for name, value in row.items()}


def carry_unshown(edited: Workflow, stored: Workflow | None, shown: Iterable[str]) -> Workflow:
    """An edit made through a form that shows only the ``shown`` fields: every other field keeps
    its stored value (a form without the comparison or the sign-off must not wipe them). Carried
    values are stored ones, so they are not checked against the input bounds again."""
    if stored is None:
        return edited
    visible = set(shown)
    return edited.model_copy(
        update={field: getattr(stored, field) for field in Workflow.model_fields if field not in visible}
    )
