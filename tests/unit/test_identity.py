"""One identity rule (NFKC, lower-case, spaces collapsed) for emails, workflow ids and departments,
the same in Python and SQL, used by sign-in, permissions and storage alike (issue 25, item 6); the id
derived from a department and a name, the same in Python and SQL too (issue 23)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aiops.auth import Actor, RoleGrant, Roles, SignInRefused
from aiops.errors import PermissionDenied
from aiops.governance import stored_classification
from aiops.identity import identity_key
from aiops.inventory import save_workflow
from aiops.store import Store
from aiops.views.company import CompanySettings
from aiops.workflow import derive_workflow_id
from aiops.workflow_reads import departments, get_workflow, known_department
from tests.conftest import answered_workflow, cli_text, run_cli

pytestmark = pytest.mark.both_stores

TRICKY = list("ﬀﬁſßİıKΣςＳｓＵ１ ﬃ\u00a0\u2003\u3000\t\n\u0301eé") + ["ǅ", "Ⅻ", "㎒", "ｶ", "ﾞ"]
# NFKC/NFKD-affected letters, ligatures, titlecase digraphs, full-width forms, combining marks, letters
# with no ASCII base, white space of every kind, and the characters an id keeps.
SLUG_TRICKY = TRICKY + list("ŁłØÆŒǈǋǲ\u0327\u20dd\u00ad-_. aZ09")
TEXT = st.text(alphabet=st.sampled_from(SLUG_TRICKY) | st.characters(codec="utf-8"), max_size=30)


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(st.text(alphabet=st.sampled_from(TRICKY) | st.characters(codec="utf-8"), max_size=12))
def test_the_sql_function_gives_the_python_result_for_any_text(store, text):
    assert store.query_value("SELECT identity_key(?)", [text]) == identity_key(text)


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(name=TEXT, department=TEXT)
def test_the_sql_derived_id_is_the_python_one_for_any_text(store, name, department):
    sql = store.query_value("SELECT derive_workflow_id(?, ?)", [name, department])
    assert sql == derive_workflow_id(name, department)


def test_a_sheet_without_ids_gets_the_ids_the_register_form_derives(store, admin, tmp_path):
    """The import derives ids in SQL, the register form in Python: the same workflow either way
    (an earlier SQL twin made `ligature` and `odz` of these rows, and `support-ff-ligature` and
    `odz-dz` in the form)."""
    from aiops.ingest.workflows import import_workflows

    rows = [("ﬀ ligature", "ＳＵＰＰＯＲＴ"), ("ǅ", "Łódź"), ("İstanbul  ops", "Ops"), ("Æther", "Œuvre")]
    sheet = tmp_path / "workflows.csv"
    sheet.write_text("name,department\n" + "".join(f"{n},{d}\n" for n, d in rows), encoding="utf-8")
    report = import_workflows(store, admin, sheet)
    assert (report.accepted, report.rejected) == (4, 0)
    stored = store.query("SELECT workflow_id FROM workflows ORDER BY created_at, workflow_id")
    assert sorted(w for (w,) in stored) == sorted(derive_workflow_id(n, d) for n, d in rows)
    assert "support-ff-ligature" in {w for (w,) in stored}


def test_the_sql_function_runs_on_every_cursor_and_keeps_null(store):
    cursor = store.new_cursor()
    assert cursor.execute("SELECT identity_key(NULL), identity_key(' ＳＵＰ  ſupport ')").fetchall() == [
        (None, "sup support")
    ]
    derived = cursor.execute("SELECT derive_workflow_id(NULL, 'x'), derive_workflow_id('ﬀ', 'Ａ')")
    assert derived.fetchall() == [(None, "a-ff")]


def test_two_stores_on_one_file_in_one_process_share_the_function(tmp_path):
    """DuckDB shares one database between a process's connections to a file, and its functions."""
    with Store(tmp_path / "one.duckdb") as first, Store(tmp_path / "one.duckdb") as second:
        assert first.query_value("SELECT identity_key('Ａ')") == "a"
        assert second.query_value("SELECT identity_key(' A ')") == "a"


@given(st.text(alphabet=st.sampled_from(TRICKY) | st.characters(codec="utf-8"), max_size=12))
def test_the_key_is_idempotent(text):
    assert identity_key(identity_key(text)) == identity_key(text)


# -- identity: a look-alike email never gets another person's role ---------------------------------
ROLES = Roles(grants=[RoleGrant(email="staff@x.example", role="admin")])


def _claims(email: str) -> dict[str, object]:
    return {"email": email, "email_verified": True}


@pytest.mark.parametrize("email", ["staﬀ@x.example", "ſtaff@x.example", "ｓtaff@x.example"])
def test_a_ligature_email_does_not_get_the_plain_email_role(email):
    with pytest.raises(SignInRefused, match="look-alike"):
        ROLES.actor_for_claims(_claims(email))
    with pytest.raises(SignInRefused):
        ROLES.actor_for(email)


def test_the_plain_email_in_any_case_and_spacing_is_the_same_person():
    actor = ROLES.actor_for_claims(_claims("  Staff@X.Example "))
    assert (actor.name, actor.role) == ("staff@x.example", "admin")


# -- departments: a look-alike is the same department to permissions and to storage ---------------
def test_a_long_s_department_is_support_for_the_permission_check_and_the_store(store, admin):
    save_workflow(store, admin, answered_workflow(workflow_id="sup-1", department="Support"))
    support_lead = Actor(name="dana@x", role="lead", departments=("support",))
    sales_lead = Actor(name="sam@x", role="lead", departments=("Sales",))
    lookalike = answered_workflow(workflow_id="sup-2", department="ſupport")

    assert support_lead.can_write("ſupport") and support_lead.can_write("ＳＵＰＰＯＲＴ")
    with pytest.raises(PermissionDenied):
        save_workflow(store, sales_lead, lookalike)
    save_workflow(store, support_lead, lookalike)
    assert get_workflow(store, "sup-2").department == "Support"
    assert departments(store) == ["Support"]
    assert known_department(store, "ſupport") == "Support"
    rates = CompanySettings(hourly_cost=50, hourly_cost_by_department={"Support": 90})
    assert rates.rate_for("ſupport") == rates.rate_for("support") == 90


def test_a_lead_of_the_look_alike_spelling_writes_the_same_department(store, admin):
    save_workflow(store, admin, answered_workflow(workflow_id="sup-1", department="Support"))
    lead = Actor(name="dana@x", role="lead", departments=("ſupport",))
    save_workflow(store, lead, answered_workflow(workflow_id="sup-1", department="Support", name="Renamed"))
    assert get_workflow(store, "sup-1").name == "Renamed"


def test_a_full_width_workflow_id_in_an_upload_matches_the_stored_id(store, admin, tmp_path):
    from aiops.ingest.timings import import_timings

    save_workflow(store, admin, answered_workflow(workflow_id="sup-triage"))
    upload = tmp_path / "timings.csv"
    upload.write_text(
        "workflow_id,phase,measured_at,duration_minutes\n"
        "ＳＵＰ-triage,before,2026-01-05,10\nſup-TRIAGE ,after,2026-03-05,5\n"
    )
    report = import_timings(store, admin, upload)
    assert (report.accepted, report.rejected) == (2, 0)
    assert store.query("SELECT DISTINCT workflow_id FROM timing_samples") == [("sup-triage",)]


# -- the workflow commands match ids ignoring case (issue 25, smaller items) ------------------------------
def test_sign_off_incident_and_remove_checkpoint_match_the_id_ignoring_case(capsys, demo_path):
    db = ("--db", str(demo_path))
    code, shown, err = run_cli(
        capsys, "workflows", "sign-off", "ENG-PR-Review-Prep", "--by", "Ann", "--json", *db
    )
    assert code == 0, err
    assert shown["workflow_id"] == "eng-pr-review-prep"
    with Store(demo_path) as demo:
        suggested = stored_classification(demo, "eng-pr-review-prep").next_checkpoint.checkpoint
    code, shown, err = run_cli(
        capsys, "workflows", "remove-checkpoint", " Eng-PR-review-prep", suggested, "--json", *db
    )
    assert code == 0, err
    assert shown["workflow_id"] == "eng-pr-review-prep"
    code, _, err = cli_text(
        capsys, "workflows", "incident", "ENG-PR-REVIEW-PREP", "--note", "bad output", *db
    )
    assert code == 0, err
    with Store(demo_path) as demo:
        kinds = demo.query(
            "SELECT kind FROM checkpoint_events WHERE workflow_id = 'eng-pr-review-prep' "
            "AND kind IN ('sign_off', 'checkpoint_removed', 'incident') ORDER BY recorded_at"
        )
    assert [k for (k,) in kinds][-3:] == ["sign_off", "checkpoint_removed", "incident"]


def test_a_roles_file_granting_a_look_alike_address_is_refused(tmp_path):
    from aiops.auth import load_roles
    from aiops.errors import AiopsError

    roles = tmp_path / "roles.toml"
    roles.write_text('[[grants]]\nemail = "staﬀ@x.example"\nrole = "admin"\n')
    with pytest.raises(AiopsError, match="grants.0.email.*look-alike characters"):
        load_roles(roles)
