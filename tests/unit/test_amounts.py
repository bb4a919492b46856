"""Every number a person types is finite and in range, checked at the domain (issue 25, item 4):
`nan`, `inf`, `1e308` and negative hourly rates, AI costs and policy limits are refused with a
message that says what is wrong, before anything is stored."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from aiops.auth import Actor
from aiops.errors import PermissionDenied, PolicyError
from aiops.inventory import save_workflow
from aiops.policy import default_policy_text, parse_policy
from aiops.settings import Settings
from aiops.views import load_company, save_company
from aiops.views.company import set_ai_costs
from tests.conftest import answered_workflow, cli_text

BAD = ["nan", "inf", "-inf", "1e308", "-1"]


@pytest.mark.parametrize("value", BAD)
def test_a_department_hourly_rate_that_is_not_a_real_amount_is_refused(capsys, tmp_path, value):
    settings_file = tmp_path / "company.toml"
    settings_file.write_text(
        f'name = "Acme"\nhourly_cost = 70\n[hourly_cost_by_department]\nSupport = {value}\n'
    )
    code, out, err = cli_text(
        capsys, "company", "set", str(settings_file), "--db", str(tmp_path / "t.duckdb")
    )
    assert (code, out) == (1, "")
    assert err.count("\n") == 1
    assert "hourly_cost_by_department.Support: a loaded hourly cost must be" in err


@pytest.mark.parametrize("value", BAD)
def test_the_company_hourly_cost_is_refused_with_a_clear_message(store, admin, value):
    with pytest.raises(PolicyError, match="hourly_cost: a loaded hourly cost must be") as refused:
        save_company(store, admin, f"hourly_cost = {value}\n")
    if value in ("nan", "inf", "-inf"):
        assert "must be a finite number" in str(refused.value)
    assert load_company(store).hourly_cost == 75.0  # nothing stored


@pytest.mark.parametrize("value", [float("nan"), float("inf"), 1e308, -1.0, True])
def test_set_ai_costs_refuses_what_is_not_an_amount(store, admin, value):
    save_workflow(store, admin, answered_workflow())
    with pytest.raises(PolicyError, match="finite numbers from 0 to 1e9"):
        set_ai_costs(store, admin, {"wf-1": value})


@pytest.mark.parametrize("value", [*BAD, float("inf")])  # a float nan is an empty cell
def test_a_workflow_ai_monthly_cost_from_a_form_or_import_is_refused(value):
    with pytest.raises(ValidationError) as refused:
        answered_workflow(ai_monthly_cost=value)
    assert "an AI monthly cost must be" in str(refused.value)


def test_an_empty_ai_monthly_cost_is_not_recorded():
    assert answered_workflow(ai_monthly_cost="").ai_monthly_cost is None
    assert answered_workflow(ai_monthly_cost=" 1,200 ").ai_monthly_cost == 1200.0


@pytest.mark.parametrize("limit", ["max_loop_minutes", "long_loop_hours", "outlier_fence"])
@pytest.mark.parametrize("value", ["inf", "nan"])
def test_a_policy_limit_of_inf_or_nan_is_refused(limit, value):
    text = default_policy_text()
    lines = [f"{limit} = {value}" if line.startswith(f"{limit} = ") else line for line in text.splitlines()]
    with pytest.raises(PolicyError, match=f"{limit}'"):
        parse_policy("\n".join(lines), "policy.toml")


def test_a_lock_timeout_of_inf_is_refused_in_one_line(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("AIOPS_LOCK_TIMEOUT_S", "inf")
    with pytest.raises(ValidationError, match="finite number"):
        Settings()
    code, out, err = cli_text(capsys, "company", "show", "--db", str(tmp_path / "t.duckdb"))
    assert (code, out) == (1, "")
    assert err == (
        "aiops: error: setting lock_timeout_s (AIOPS_LOCK_TIMEOUT_S or aiops.toml): Input should be a"
        " finite number (fix the environment variable or aiops.toml)\n"
    )


# -- who may set AI costs (issue 25, smaller items) -----------------------------------------------------
def test_set_ai_costs_needs_write_access_to_the_workflow_department(store, admin):
    save_workflow(store, admin, answered_workflow(department="Support"))
    for outsider in (
        Actor(name="v@x", role="viewer"),
        Actor(name="l@x", role="lead", departments=("Sales",)),
    ):
        with pytest.raises(PermissionDenied):
            set_ai_costs(store, outsider, {"wf-1": 10.0})
    lead = Actor(name="d@x", role="lead", departments=("Support",))
    assert set_ai_costs(store, lead, {"wf-1": 10.0}) == 1


def test_a_workflows_sheet_rejects_each_ai_monthly_cost_that_is_not_an_amount(store, admin, tmp_path):
    from aiops.ingest.workflows import import_workflows

    sheet = tmp_path / "sheet.csv"
    rows = "".join(f"wf-{n},Name {n},Ops,{value}\n" for n, value in enumerate([*BAD, '"1,200"']))
    sheet.write_text("workflow_id,name,department,ai_monthly_cost\n" + rows)
    report = import_workflows(store, admin, sheet, dry_run=True)
    assert report.rejects.line.tolist() == [2, 3, 4, 5, 6]
    assert set(report.rejects.reason) == {
        "ai_monthly_cost is not an amount per month (a finite number from 0 to 1e9, e.g. 1200)"
    }
