"""Precedents: the second opinion from the published federal AI use-case inventories (issue 26).

It raises a low or medium workflow to high (signal `precedent`, the nearest cases as evidence),
flags it for review, or changes nothing; it never lowers a risk; the policy turns it off."""

from __future__ import annotations

import dataclasses
import hashlib
import json

import numpy as np
import pytest

from aiops.classifier import Classification, classify_workflow, classify_workflows
from aiops.demo import demo_workflows
from aiops.errors import PolicyError
from aiops.policy import RISK_ORDER, Policy, load_policy
from aiops.precedents import Vectorizer, read_document, shipped_model
from aiops.precedents.train import new_vectorizer, vectorizer_params
from aiops.workflow import Workflow
from tests.conftest import DATA, REALDATA, ROOT, answered_workflow, python_output

POLICY = load_policy()
# The rules call this medium (a health concept without a decision purpose); the precedents, high.
IMAGING = answered_workflow(
    workflow_id="imaging",
    name="Medical imaging reads",
    manual_process="Radiologists read chest x-rays",
    expected_output="Findings flagged on each image",
)


def with_precedents(policy: Policy = POLICY, **rules: object) -> Policy:
    return policy.model_copy(update={"precedents": policy.precedents.model_copy(update=rules)})


RULES_ONLY = with_precedents(enabled=False)


def precedent_signals(c: Classification) -> list:
    return [s for s in c.signals if s.family == "precedent"]


def test_a_workflow_the_precedents_find_high_impact_is_raised_with_the_nearest_cases_as_evidence():
    assert classify_workflow(IMAGING, RULES_ONLY).risk == "medium"
    c = classify_workflow(IMAGING, POLICY)
    assert c.risk == "high" and c.precedents is not None and c.precedents.outcome == "raised"
    assert c.precedents.probability > POLICY.precedents.raise_above
    (signal,) = precedent_signals(c)
    assert (signal.level, signal.field) == ("high", "precedents")
    votes = sum(p.high_impact for p in c.precedents.nearest)
    assert signal.reason.startswith(
        f"{votes} of 5 nearest published use cases were labelled high-impact by their agencies: "
    )
    assert all(p.name in signal.reason for p in c.precedents.nearest)
    # The rules' own signals are all still there, below the precedent's.
    assert c.signals[1:] == classify_workflow(IMAGING, RULES_ONLY).signals


def test_between_the_two_thresholds_the_workflow_is_flagged_for_review_and_keeps_its_risk():
    p = classify_workflow(IMAGING, POLICY).precedents.probability
    c = classify_workflow(IMAGING, with_precedents(review_above=p - 0.01, raise_above=p + 0.01))
    assert c.risk == "medium" and c.precedents.outcome == "review"
    assert not precedent_signals(c)
    assert len(c.precedents.nearest) == 5


def test_below_both_thresholds_nothing_changes_but_the_nearest_cases_are_kept():
    p = classify_workflow(IMAGING, POLICY).precedents.probability
    c = classify_workflow(
        IMAGING, with_precedents(review_above=min(p + 0.01, 1), raise_above=min(p + 0.02, 1))
    )
    assert c.risk == "medium" and c.precedents.outcome == "unchanged"
    assert not precedent_signals(c) and len(c.precedents.nearest) == 5


def test_without_the_nearest_cases_agreeing_a_probable_workflow_is_flagged_for_review_not_raised():
    """Raising needs agreement: a majority of the nearest cases high-impact and the nearest one
    alike enough. A probability above the raise threshold without it is a question for a person."""
    c = classify_workflow(IMAGING, POLICY)
    assert c.precedents.outcome == "raised" and c.precedents.probability > POLICY.precedents.raise_above
    votes = sum(p.high_impact for p in c.precedents.nearest)
    top = c.precedents.nearest[0].similarity
    assert votes >= POLICY.precedents.min_high_votes and top >= POLICY.precedents.min_similarity
    for disagreeing in (
        with_precedents(min_high_votes=votes + 1),
        with_precedents(min_similarity=top + 0.001),
    ):
        c = classify_workflow(IMAGING, disagreeing)
        assert c.risk == "medium" and c.precedents.outcome == "review" and not precedent_signals(c)


def test_a_policy_written_before_the_agreement_rule_raises_on_the_probability_alone(tmp_path):
    text = (ROOT / "aiops" / "policies" / "default.toml").read_text()
    older = tmp_path / "older.toml"
    older.write_text(
        "\n".join(
            line for line in text.splitlines() if not line.startswith(("min_high_votes", "min_similarity"))
        )
    )
    rules = load_policy(older).precedents
    assert rules.enabled and (rules.min_high_votes, rules.min_similarity) == (0, 0.0)


# Company wording that shares a topic word with high-impact precedents (radiology, patients) or
# none at all: no decision about anyone, so never raised by the precedents.
COMPANY_ROUTINE = [
    ("Book the radiology reading room", "Coordinators book the radiology reading room", "Calendar booking"),
    ("Patient appointment reminders", "Front desk staff phone patients the day before", "Reminder texts"),
    (
        "Summarise meeting notes",
        "Team members write up notes after each meeting",
        "Decisions and action items",
    ),
    (
        "Code review assistant",
        "Engineers review pull requests by hand",
        "Review comments on the pull request",
    ),
    ("Meeting room booking", "Office managers book meeting rooms for teams", "Room reservation"),
]
# Decisions about people's benefits, employment and health: high with the precedents on. The
# rules call the first three high; the precedents raise the last two, which the rules leave medium.
HIGH_IMPACT = [
    (
        "Benefits eligibility decisions",
        "Caseworkers decide eligibility for benefits",
        "A decision per applicant",
    ),
    (
        "Hiring screening",
        "Recruiters screen resumes of job applicants",
        "A shortlist of candidates to interview",
    ),
    ("Medical diagnosis support", "Physicians diagnose patients from symptoms", "Suggested diagnoses"),
    ("Medical imaging reads", "Radiologists read chest x-rays", "Findings flagged on each image"),
    (
        "Diabetic retinopathy screening",
        "Ophthalmologists grade retinal photographs",
        "A grade per retinal image",
    ),
]


def _workflow(name: str, manual_process: str, expected_output: str) -> Workflow:
    return answered_workflow(
        workflow_id=name.lower().replace(" ", "-"),
        name=name,
        manual_process=manual_process,
        expected_output=expected_output,
    )


@pytest.mark.parametrize("texts", COMPANY_ROUTINE, ids=[t[0] for t in COMPANY_ROUTINE])
def test_company_routine_work_is_never_raised_by_the_precedents(texts):
    c = classify_workflow(_workflow(*texts), POLICY)
    assert c.risk != "high" and not precedent_signals(c)
    assert c.precedents is None or c.precedents.outcome != "raised"


def test_booking_the_radiology_reading_room_is_flagged_for_review_not_raised():
    """Its probability is above the raise threshold (a radiology text), but most of its nearest
    published cases are ordinary: a person looks at it."""
    c = classify_workflow(_workflow(*COMPANY_ROUTINE[0]), POLICY)
    assert c.precedents.probability > POLICY.precedents.raise_above
    assert sum(p.high_impact for p in c.precedents.nearest) < POLICY.precedents.min_high_votes
    assert (c.risk, c.precedents.outcome) == ("medium", "review")


@pytest.mark.parametrize("texts", HIGH_IMPACT, ids=[t[0] for t in HIGH_IMPACT])
def test_decisions_about_benefits_employment_and_health_are_high(texts):
    assert classify_workflow(_workflow(*texts), POLICY).risk == "high"


def test_the_precedents_raise_high_impact_health_work_the_rules_leave_medium():
    for texts in HIGH_IMPACT[3:]:
        assert classify_workflow(_workflow(*texts), RULES_ONLY).risk == "medium"
        c = classify_workflow(_workflow(*texts), POLICY)
        assert c.risk == "high" and c.precedents.outcome == "raised"
        assert [s.family for s in c.signals if s.level == "high"][0] == "precedent"


def test_a_high_workflow_is_left_to_the_rules_even_with_a_zero_threshold():
    refunds = answered_workflow(name="Refund decisions", changes=["billing"])
    c = classify_workflow(refunds, with_precedents(raise_above=0.0, review_above=0.0))
    assert c.risk == "high" and c.precedents.outcome == "unchanged" and not precedent_signals(c)


def test_the_empty_workflow_stays_medium():
    mystery = Workflow(workflow_id="mystery", name="Mystery workflow", department="Operations")
    assert classify_workflow(mystery, POLICY).risk == "medium"
    # A text with no word the precedents know gets no opinion, whatever the thresholds.
    unknown = Workflow(workflow_id="zz", name="Zzqxv", department="Operations")
    c = classify_workflow(unknown, with_precedents(raise_above=0.0, review_above=0.0))
    assert c.risk == "medium" and c.precedents is None


COMPANY_MENTIONS = [
    "Summarise the personal data inventory for the privacy team",
    "Book the radiology reading room for the imaging team",
    "Translate the public web pages into Spanish",
    "Citizenship and Immigration Services",
    "Social Security Administration",
]


@pytest.mark.parametrize("text", COMPANY_MENTIONS)
def test_where_the_precedents_overrule_the_rules_it_is_never_silent(text):
    """Company wording the rules keep below high (a concept without a decision purpose, an agency's
    name) may read as high-impact to the precedents: then the `precedent` signal is the one high
    signal, and it names the nearest cases."""
    c = classify_workflow(answered_workflow(name=text, manual_process=text), POLICY)
    rules = classify_workflow(answered_workflow(name=text, manual_process=text), RULES_ONLY)
    assert rules.risk != "high"
    highs = [s for s in c.signals if s.level == "high"]
    assert c.risk == rules.risk or [s.family for s in highs] == ["precedent"]


def test_an_agency_name_the_precedents_know_is_not_read():
    """The model learns what a use case does, never who runs it: agency and bureau names are
    blanked out (here the whole text)."""
    c = classify_workflow(answered_workflow(name="Social Security Administration"), POLICY)
    assert c.precedents is None


def test_policy_off_means_no_precedent_signals_and_no_opinion():
    workflows = [*demo_workflows(), IMAGING]
    for c in classify_workflows(workflows, RULES_ONLY):
        assert c.precedents is None and not precedent_signals(c)


def test_precedents_never_lower_a_risk_and_only_raise_to_high():
    workflows = [*demo_workflows(), IMAGING]
    eager = with_precedents(raise_above=0.05, review_above=0.0)
    for before, after in zip(
        classify_workflows(workflows, RULES_ONLY), classify_workflows(workflows, eager), strict=True
    ):
        assert RISK_ORDER[after.risk] >= RISK_ORDER[before.risk]
        assert after.risk in (before.risk, "high")
        assert (after.risk != before.risk) == (after.precedents.outcome == "raised")


def test_a_batch_classifies_as_one_by_one():
    workflows = [*demo_workflows(), IMAGING]
    assert classify_workflows(workflows, POLICY) == [classify_workflow(w, POLICY) for w in workflows]


def test_a_classification_with_precedents_round_trips_through_json():
    c = classify_workflow(IMAGING, POLICY)
    assert Classification.from_json(c.to_json()) == c


def test_the_scorer_reads_text_exactly_as_scikit_learn_does():
    texts = [w.name + ". " + w.manual_process + ". " + w.expected_output for w in demo_workflows()]
    names = ["Customer Support Department", "CRM"]
    fitted = new_vectorizer(names).fit(texts)
    others = [
        "Radiologists read chest x-rays",
        "",
        "the and of",
        "Ticket triage ticket TRIAGE, tickets!",
        "Replies for the customer   support department from the crm",
    ]
    ours = Vectorizer(vectorizer_params(fitted, names)).transform(texts + others).toarray()
    assert np.allclose(ours, fitted.transform(texts + others).toarray(), atol=1e-6)


def test_a_policy_whose_review_threshold_is_above_its_raise_threshold_is_refused(tmp_path):
    text = (ROOT / "aiops" / "policies" / "default.toml").read_text()
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace("review_above = 0.114", "review_above = 0.9"))
    with pytest.raises(PolicyError, match="review_above"):
        load_policy(bad)


def test_a_policy_without_a_precedents_section_has_them_off(tmp_path):
    text = (ROOT / "aiops" / "policies" / "default.toml").read_text()
    older = tmp_path / "older.toml"
    older.write_text(text[: text.index("[precedents]")])
    assert load_policy(older).precedents.enabled is False


def test_the_default_policy_uses_the_thresholds_the_build_chose_by_cross_validation():
    chosen = read_document()["thresholds"]
    rules = POLICY.precedents
    fields = ("raise_above", "review_above", "min_high_votes", "min_similarity")
    assert rules.enabled and [getattr(rules, f) for f in fields] == [chosen[f] for f in fields]
    assert rules.min_high_votes == 3  # a majority of the 5 nearest, fixed before it was measured


def test_the_precedents_file_says_where_each_case_comes_from_and_holds_each_use_case_once():
    document = read_document()
    sources = document["provenance"]["sources"]
    assert [s["path"] for s in sources] == [
        "data/2024_consolidated_ai_inventory_raw.csv",
        "data/2024_consolidated_ai_inventory_raw_v2.csv",
    ]
    cases = document["cases"]
    assert sum(s["use_cases_kept"] for s in sources) == len(cases) == document["counts"]["use_cases"]
    keys = {(c["agency"].lower(), " ".join(c["name"].lower().split())) for c in cases}
    assert len(keys) == len(cases)
    assert {c["label"] for c in cases} == {"rights-impacting", "safety-impacting", "both", "neither"}
    assert all(c["release"] in {s["path"].removeprefix("data/") for s in sources} for c in cases)
    inventories = REALDATA / "ai_inventory"
    if inventories.exists():  # the build's inputs, byte for byte
        for source in sources:
            path = inventories / source["path"].removeprefix("data/")
            assert hashlib.sha256(path.read_bytes()).hexdigest() == source["sha256"]


def test_the_model_is_read_once_per_process():
    first = shipped_model()
    classify_workflows([IMAGING], POLICY)
    assert shipped_model() is first and shipped_model.cache_info().currsize == 1


@pytest.mark.slow
def test_importing_the_command_line_and_classifier_reads_no_model():
    """Commands that do not classify pay nothing: no scikit-learn, no precedents file read; and
    classifying reads the file but still imports no scikit-learn."""
    code = (
        "import sys, aiops.cli, aiops.classifier, aiops.governance, aiops.views\n"
        "from aiops.precedents import shipped_model\n"
        "print('sklearn' in sys.modules, shipped_model.cache_info().currsize)\n"
        "from aiops.classifier import classify_workflow\n"
        "from aiops.policy import load_policy\n"
        "from aiops.workflow import Workflow\n"
        "w = Workflow(workflow_id='a', name='Radiology reads', department='x')\n"
        "classify_workflow(w, load_policy())\n"
        "print('sklearn' in sys.modules, shipped_model.cache_info().currsize)"
    )
    assert python_output(code).split() == ["False", "0", "False", "1"]


def test_classify_explain_prints_the_nearest_precedents_with_their_labels(capsys, tmp_path, monkeypatch):
    from aiops.cli import main

    monkeypatch.delenv("AIOPS_POLICY", raising=False)
    monkeypatch.chdir(tmp_path)
    assert main(["classify", str(DATA / "workflows_valid.csv"), "--explain"]) == 0
    out = capsys.readouterr().out
    version = read_document()["version"]
    assert out.count(f"precedents ({version}): probability of high impact") == 2
    labels = [line.split()[1] for line in out.splitlines() if line.startswith("      0.")]
    assert len(labels) == 10 and set(labels) <= {"rights-impacting", "safety-impacting", "both", "neither"}
    assert main(["classify", str(DATA / "workflows_valid.csv"), "--json"]) == 0
    results = json.loads(capsys.readouterr().out)
    assert all(len(r["precedents"]["nearest"]) == 5 for r in results)


def test_the_stored_classification_keeps_the_precedents_and_the_board_pack_names_the_raised_high(
    store, admin
):
    from aiops.governance import precedent_highs, stored_classification
    from aiops.inventory import save_workflow
    from aiops.report.board import build_board_pack, render_html

    save_workflow(store, admin, IMAGING)
    save_workflow(
        store, admin, answered_workflow(workflow_id="refunds", name="Refund decisions", changes=["billing"])
    )
    stored = stored_classification(store, "imaging")
    assert stored.risk == "high" and stored.precedents.outcome == "raised"
    assert precedent_highs(store) == {"imaging"}  # the refunds are high by a rule
    html = render_html(build_board_pack(store, charts=False))
    assert html.count("high · precedent<span") == 1 and "published-precedents second opinion" in html


def test_classify_says_which_workflows_the_precedents_flag_for_review(capsys, tmp_path, monkeypatch):
    from aiops.cli import main

    text = (ROOT / "aiops" / "policies" / "default.toml").read_text()
    eager = tmp_path / "eager.toml"
    eager.write_text(
        text.replace(f"raise_above = {POLICY.precedents.raise_above}", "raise_above = 1.0").replace(
            f"review_above = {POLICY.precedents.review_above}", "review_above = 0.0"
        )
    )
    monkeypatch.chdir(tmp_path)
    assert main(["classify", str(DATA / "workflows_valid.csv"), "--policy", str(eager)]) == 0
    out = capsys.readouterr().out
    triage, refunds = out.split("fin-refunds")
    assert "review: the published precedents lean towards high impact" in triage  # medium: flagged
    assert "review:" not in refunds  # high by the rules: nothing to flag


def test_an_upload_reclassifies_its_workflows_with_their_stored_opinions_without_the_model(
    store, admin, monkeypatch, tmp_path
):
    from aiops import classifier
    from aiops.governance import stored_classification
    from aiops.ingest.timings import TimingMapping, import_timings
    from aiops.inventory import save_workflow

    save_workflow(store, admin, IMAGING)
    before = stored_classification(store, "imaging")
    assert before.precedents is not None and before.precedents.inputs

    def no_model():
        raise AssertionError("the model was read for a workflow whose text did not change")

    monkeypatch.setattr(classifier, "shipped_model", no_model)
    timings = tmp_path / "imaging.csv"
    timings.write_text("start,end\n2026-01-05 09:00,2026-01-05 09:30\n2026-02-05 09:00,2026-02-05 09:20\n")
    mapping = TimingMapping(workflow="imaging", start_column="start", end_column="end", go_live="2026-02-01")
    assert import_timings(store, admin, timings, mapping).accepted == 2
    assert stored_classification(store, "imaging").precedents == before.precedents


def test_a_stored_opinion_is_taken_only_for_the_same_text_and_gives_the_same_classification():
    from aiops.classifier import mentions_high_concept, precedent_opinions, risk_signals

    first = classify_workflow(IMAGING, POLICY)
    known = {"imaging": first.precedents}
    assert classify_workflows([IMAGING], POLICY, known=known) == [first]  # reused: the same record
    edited = IMAGING.model_copy(update={"manual_process": "Clerks book the radiology reading room"})
    signals = [risk_signals(edited, POLICY)]
    ((opinion, inputs),) = precedent_opinions([edited], signals, POLICY, known=known)
    assert inputs != first.precedents.inputs
    mention = mentions_high_concept(signals[0], POLICY)
    assert opinion == shipped_model().opinions([workflow_text_of(edited)], [mention])[0]
    unrecorded = {"imaging": dataclasses.replace(first.precedents, probability=0.0, inputs="")}
    assert classify_workflows([IMAGING], POLICY, known=unrecorded) == [first]  # computed, not taken


def test_a_stored_opinion_of_another_model_or_another_mention_is_not_taken(monkeypatch):
    from aiops import classifier
    from aiops.classifier import opinion_inputs

    first = classify_workflow(IMAGING, POLICY)
    # Stored with the same inputs but another probability: taken, it shows as 0.
    tampered = {"imaging": dataclasses.replace(first.precedents, probability=0.0)}
    assert classify_workflows([IMAGING], POLICY, known=tampered)[0].precedents.probability == 0.0
    text = workflow_text_of(IMAGING)
    assert opinion_inputs(text, True) != opinion_inputs(text, False)  # the rules' mention is an input
    monkeypatch.setattr(classifier, "shipped_sha256", lambda: "another shipped model")
    again = classify_workflows([IMAGING], POLICY, known=tampered)[0].precedents
    assert again.probability == first.precedents.probability and again.inputs != first.precedents.inputs


def workflow_text_of(w: Workflow) -> str:
    from aiops.precedents import workflow_text

    return workflow_text(w.name, w.manual_process, w.expected_output)
