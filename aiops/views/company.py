"""The company's settings: its name, currency and loaded hourly cost per department.

Kept as a small TOML text in the database (``aiops company set FILE`` or the demo writes it), so
the dashboard, the board pack and the CLI read the same values. Unset: a neutral default.

    name = "Northwind Labs"
    currency = "EUR"
    hourly_cost = 70            # the company default, loaded (salary, overhead, taxes)
    [hourly_cost_by_department]
    Engineering = 95
"""

from __future__ import annotations

import tomllib

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from aiops.amounts import MAX_AI_MONTHLY_COST, HourlyCost, is_amount
from aiops.auth import Actor
from aiops.bounded_input import load_toml
from aiops.errors import PolicyError
from aiops.identity import identity_key
from aiops.store import Reader, Store, Tx

DEFAULT_TEXT = 'name = "Your company"\ncurrency = "USD"\nhourly_cost = 75\n'


class CompanySettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field("Your company", min_length=1, max_length=200)
    currency: str = Field("USD", pattern=r"^[A-Z]{3}$")
    hourly_cost: HourlyCost = 75.0
    hourly_cost_by_department: dict[str, HourlyCost] = {}

    def rate_for(self, department: str) -> float:
        """The department's loaded hourly cost (departments compare case-insensitively), else the
        company default."""
        wanted = identity_key(department)
        for name, rate in self.hourly_cost_by_department.items():
            if identity_key(name) == wanted:
                return float(rate)
        return float(self.hourly_cost)

    @classmethod
    def from_toml(cls, text: str) -> CompanySettings:
        try:
            return cls.model_validate(load_toml(text, "company settings"))
        except tomllib.TOMLDecodeError as e:
            raise PolicyError(
                f"company settings are not valid TOML: {e}", "see `aiops company set --help`"
            ) from e
        except ValidationError as e:
            first = e.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "settings"
            raise PolicyError(
                f"company settings: {where}: {first['msg']}",
                'e.g. name = "Acme", currency = "EUR", hourly_cost = 70',
            ) from e


def load_company(db: Reader) -> CompanySettings:
    row = db.query_one("SELECT source_text FROM company_settings WHERE settings_id = 1")
    return CompanySettings.from_toml(row[0]) if row else CompanySettings()


def save_company(store: Store, actor: Actor, text: str) -> CompanySettings:
    """Validate and store the company settings (admins only; audited)."""
    settings = CompanySettings.from_toml(text)
    actor.require_admin("change the company settings")

    def run(tx: Tx) -> None:
        tx.execute("DELETE FROM company_settings WHERE settings_id = 1")
        tx.execute("INSERT INTO company_settings VALUES (1, ?, ?, ?)", [text, tx.now, tx.actor.name])
        tx.audit("company.settings_saved", "company", settings.name, settings.model_dump())

    store.write(actor, run)
    return settings


def set_ai_costs(store: Store, actor: Actor, costs: dict[str, float]) -> int:
    """Set each workflow's AI cost per month (licences and usage); audited. Returns rows changed.
    Admins, and leads for their departments' workflows (as when they edit a workflow)."""
    actor.require_write(what="set AI costs")
    bad = {k: v for k, v in costs.items() if not is_amount(v, 0, MAX_AI_MONTHLY_COST)}
    if bad:
        raise PolicyError(
            f"AI monthly costs must be finite numbers from 0 to 1e9: {sorted(bad)}",
            "e.g. eng-pr-review-prep = 1900",
        )

    def run(tx: Tx) -> int:
        changed = 0
        for workflow_id, cost in costs.items():
            found = tx.query_one(
                "SELECT ai_monthly_cost, department FROM workflows WHERE workflow_id = ?", [workflow_id]
            )
            if found is None:
                continue
            tx.actor.require_write(found[1], f"set the AI cost of {workflow_id}")
            tx.execute(
                "UPDATE workflows SET ai_monthly_cost = ? WHERE workflow_id = ?", [float(cost), workflow_id]
            )
            tx.audit("workflow.ai_cost_set", "workflow", workflow_id, {"ai_monthly_cost": [found[0], cost]})
            changed += 1
        return changed

    return store.write(actor, run)


def seed_demo_money(store: Store, actor: Actor) -> None:
    """The demo company's settings and AI costs (``demo_company.toml``)."""
    from importlib import resources

    text = resources.files("aiops.views").joinpath("demo_company.toml").read_text("utf-8")
    data = tomllib.loads(text)
    company = data["company"]
    lines = [
        f'name = "{company["name"]}"',
        f'currency = "{company["currency"]}"',
        f"hourly_cost = {company['hourly_cost']}",
    ]
    lines.append("[hourly_cost_by_department]")
    lines += [f'"{k}" = {v}' for k, v in company["hourly_cost_by_department"].items()]
    save_company(store, actor, "\n".join(lines) + "\n")
    set_ai_costs(store, actor, data["ai_monthly_cost"])
