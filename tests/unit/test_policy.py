"""The policy: loading and validation (bad policies name the key and the problem), policy changes
through the store (re-classified, versioned, audited, admin only), and `aiops classify`."""

from __future__ import annotations

import json
import re

import pytest

from aiops.auth import Actor
from aiops.bounded_input import load_toml
from aiops.classifier import classify_workflow
from aiops.cli import main
from aiops.errors import PermissionDenied, PolicyError
from aiops.governance import active_policy_version, apply_policy, stored_classification
from aiops.inventory import save_workflow
from aiops.policy import Policy, default_policy_text, load_policy, matcher_regexes, parse_policy
from aiops.workflow import CHANGES, CUSTOMER_IMPACT, DATA_TOUCHED, Workflow
from tests.conftest import DATA, ROLLOUT_KEYS, answered_workflow

POLICIES = DATA / "policies"


def default_policy_with(version: str, *, high_changes: tuple[str, ...] = ()) -> str:
    """The default policy's text with a new version and extra `risk.high.changes` values."""
    text, n = re.subn(r'(?m)^version = ".*"$', f'version = "{version}"', default_policy_text())
    assert n == 1
    for value in high_changes:
        text, n = re.subn(r"(\[risk\.high\]\n(?:#.*\n|\s*\n)*changes\s*=\s*\[)", rf'\1"{value}", ', text)
        assert n == 1
    return text


def notes_workflow(**fields) -> Workflow:
    """A low-risk workflow: internal notes drafted for the team, fully answered."""
    defaults = dict(
        workflow_id="ops-team-notes", name="Team notes digest", success_metric="Minutes per digest"
    )
    return answered_workflow(**{**defaults, **fields})


def audit(store, action: str, entity_id: str | None = None) -> list[dict]:
    rows = store.query(
        "SELECT detail FROM audit_log WHERE action = ? AND (? IS NULL OR entity_id = ?) ORDER BY audit_id",
        [action, entity_id, entity_id],
    )
    return [json.loads(r[0]) if r[0] else {} for r in rows]


# -- loading and validation --------------------------------------------------------------------------


def test_default_policy_loads_and_validates():
    policy = load_policy()
    assert policy.version and policy.name
    assert policy.source_text == default_policy_text()
    assert policy.rollout.high.min_checkpoints >= 1
    assert 0.5 < policy.evidence.interval_level < 1
    assert policy.keyword_matcher.keywords, "keywords compile into the matcher"


def test_every_pattern_of_the_shipped_policy_compiles():
    # Loading the shipped policy skips compiling its patterns (they are code): this test is where
    # they are compiled, with the validation any other policy text gets.
    text = default_policy_text()
    policy = Policy.model_validate({**load_toml(text, "default"), "source_text": text})
    levels = (policy.risk.high, policy.risk.medium, policy.risk.low)
    patterns = [signal.pattern for level in levels for signal in level.keywords]
    assert len(patterns) > 50
    for pattern in patterns:
        matcher_regexes(pattern)  # as the keyword matcher runs them
    for pattern in policy.risk.purposes.values():
        matcher_regexes(pattern, r"(?!\w)")  # as the purpose finder runs them


# A pattern that does not compile, and one that compiles alone but not as the matcher runs it:
# Python refuses global flags inside the group the matcher wraps each alternative in, and the
# matcher compiles a regex only when first run, so load is where such a pattern must stop.
@pytest.mark.parametrize("bad", ["refunds((", "(?i)refunds?"])
def test_a_bad_pattern_is_refused_in_any_text_but_the_shipped_one(bad):
    text = default_policy_with("9.9.9")
    first = re.search(r"(?m)^pattern = '{3}.*'{3}$", text)
    assert first
    broken = text.replace(first.group(0), f"pattern = '{bad}'", 1)
    with pytest.raises(PolicyError, match="not a valid regular expression"):
        parse_policy(broken, "custom")
    assert parse_policy(default_policy_text()) is parse_policy(default_policy_text())


def test_global_flags_compile_alone_but_not_inside_the_matchers_group():
    assert re.compile("(?i)refunds?")
    with pytest.raises(re.error):
        re.compile("(?:(?i)refunds?)")


def test_policies_with_the_same_keywords_share_one_compiled_matcher():
    """Every store loads its own policy: the keywords are compiled once per process, and a policy
    whose keywords differ gets its own matcher."""
    first, second = load_policy(), parse_policy(default_policy_with("2099.1"))
    assert first is not second and first.keyword_matcher is second.keyword_matcher
    text = default_policy_text().replace('pattern = "', 'pattern = "zzqx|', 1)
    other = parse_policy(re.sub(r'(?m)^version = ".*"$', 'version = "2099.2"', text))
    assert other.keyword_matcher is not first.keyword_matcher
    zzqx = answered_workflow(name="zzqx")
    assert any(s.matched == "zzqx" for s in classify_workflow(zzqx, other).signals)
    assert not any(s.matched == "zzqx" for s in classify_workflow(zzqx, first).signals)


def test_default_policy_keeps_the_data_contract_risk_signals():
    risk = load_policy().risk
    contract = "customer_records permissions billing production security_settings public_content"
    assert set(risk.high.changes) >= {*contract.split(), "regulated_content", "decisions_about_people"}
    assert set(risk.high.data_touched) >= {"credentials", "health_data"}
    assert "customer_facing" in risk.medium.customer_impact
    assert set(risk.medium.data_touched) >= {"customer_data", "personal_data", "financial_data"}
    assert set(risk.medium.changes) >= {"team_workflow", "internal_records"}
    assert risk.unknown_value_level in ("medium", "high")


def test_default_policy_lists_use_only_vocabulary_values():
    for _, signals in load_policy().risk.levels():
        assert set(signals.changes) <= set(CHANGES)
        assert set(signals.data_touched) <= set(DATA_TOUCHED)
        assert set(signals.customer_impact) <= set(CUSTOMER_IMPACT)


def test_default_policy_high_families_cite_a_source_and_known_purposes():
    risk = load_policy().risk
    for keyword in risk.high.keywords:
        assert keyword.family and keyword.source, keyword.reason
        assert set(keyword.purposes) <= set(risk.purposes)
    assert risk.unanswered_level in ("medium", "high")


def test_a_keyword_naming_an_unknown_purpose_is_refused():
    text = default_policy_text().replace(
        'purposes = ["flag", "decide", "score"]', 'purposes = ["flag", "guess"]', 1
    )
    assert "guess" in text
    with pytest.raises(PolicyError, match="unknown purpose"):
        parse_policy(text)


def test_a_purpose_that_is_not_a_regex_is_refused():
    text = default_policy_text().replace("[risk.purposes]\n", "[risk.purposes]\nbroken = '(unclosed'\n", 1)
    with pytest.raises(PolicyError, match="purposes"):
        parse_policy(text)


def test_minimal_valid_fixture_loads():
    # The bad fixtures are this file with one change each: they fail for that change only.
    policy = load_policy(POLICIES / "minimal_valid.toml")
    assert policy.version == "test-minimal-1"


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("not_toml.toml", ("not valid TOML", "line")),
        ("unknown_vocabulary.toml", ("risk.high.changes", "teleport")),
        ("bad_regex.toml", ("risk.high.keywords", "regular expression")),
        ("interval_out_of_range.toml", ("evidence.interval_level", "less than 1")),
        ("high_zero_checkpoints.toml", ("rollout.high", "min_checkpoints")),
        ("missing_section.toml", ("'checkpoints'", "required")),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_bad_policy_file_raises_policy_error_naming_key_and_problem(filename, expected):
    path = POLICIES / filename
    with pytest.raises(PolicyError) as raised:
        load_policy(path)
    message = raised.value.message
    assert str(path) in message
    for part in expected:
        assert part in message


def test_parse_policy_names_the_source_in_the_error():
    text = (POLICIES / "unknown_vocabulary.toml").read_text("utf-8")
    with pytest.raises(PolicyError, match=r"^company policy: key 'risk\.high\.changes'"):
        parse_policy(text, "company policy")


def test_policy_with_unknown_key_is_refused_naming_it():
    text = (POLICIES / "minimal_valid.toml").read_text("utf-8")
    text = text.replace("run_rate_weeks = 4", "run_rate_weeks = 4\ncolour = 'red'")
    with pytest.raises(PolicyError, match=r"evidence\.colour"):
        parse_policy(text, "policy")


def test_missing_policy_file_raises_policy_error(tmp_path):
    with pytest.raises(PolicyError, match="cannot read policy file"):
        load_policy(tmp_path / "nope.toml")


def test_unknown_value_level_high_makes_unknown_values_high():
    text = (POLICIES / "minimal_valid.toml").read_text("utf-8")
    strict = parse_policy(text.replace('unknown_value_level = "medium"', 'unknown_value_level = "high"'))
    relaxed = parse_policy(text)
    workflow = notes_workflow(changes=["teleport"])
    assert classify_workflow(workflow, relaxed).risk == "medium"
    assert classify_workflow(workflow, strict).risk == "high"


def test_classification_records_the_policy_version():
    policy = parse_policy(default_policy_with("test-9.9.9"))
    assert classify_workflow(notes_workflow(), policy).policy_version == "test-9.9.9"


# -- a policy change through the store ---------------------------------------------------------------


def test_policy_change_reclassifies_stored_workflows_with_the_new_version(store, admin):
    apply_policy(store, admin, load_policy())
    save_workflow(store, admin, notes_workflow())
    assert stored_classification(store, "ops-team-notes").risk == "low"

    changed = apply_policy(
        store, admin, parse_policy(default_policy_with("test-2.0", high_changes=("drafts",)))
    )

    assert changed is True
    after = stored_classification(store, "ops-team-notes")
    assert after.risk == "high"
    assert after.policy_version == "test-2.0"
    assert store.query_one(
        "SELECT policy_version, risk FROM classifications WHERE workflow_id = 'ops-team-notes'"
    ) == ("test-2.0", "high")
    assert active_policy_version(store)[0] == "test-2.0"


def test_policy_change_is_audited_with_before_and_after_risk(store, admin):
    first = load_policy()
    apply_policy(store, admin, first)
    save_workflow(store, admin, notes_workflow())

    apply_policy(store, admin, parse_policy(default_policy_with("test-2.0", high_changes=("drafts",))))

    assert {"name": load_policy().name} in audit(store, "policy.applied", "test-2.0")
    changes = audit(store, "classification.changed", "ops-team-notes")
    assert changes and changes[-1]["risk"] == ["low", "high"]
    assert changes[-1]["policy_version"] == [first.version, "test-2.0"]


def test_policy_change_without_effect_on_a_workflow_writes_no_classification_change(store, admin):
    apply_policy(store, admin, load_policy())
    save_workflow(store, admin, notes_workflow())
    apply_policy(store, admin, parse_policy(default_policy_with("test-2.0")))
    assert audit(store, "classification.changed", "ops-team-notes") == []
    assert stored_classification(store, "ops-team-notes").policy_version == "test-2.0"


def test_applying_the_same_version_with_different_text_raises_policy_error(store, admin):
    apply_policy(store, admin, parse_policy(default_policy_with("test-2.0")))
    save_workflow(store, admin, notes_workflow())
    other_rules = parse_policy(default_policy_with("test-2.0", high_changes=("drafts",)))

    with pytest.raises(PolicyError, match="test-2.0"):
        apply_policy(store, admin, other_rules)

    assert stored_classification(store, "ops-team-notes").risk == "low"
    assert store.policy.sha256 != other_rules.sha256


def test_applying_the_active_policy_again_changes_nothing(store, admin):
    policy = load_policy()
    assert apply_policy(store, admin, policy) is True
    count = store.query_one("SELECT count(*) FROM audit_log")[0]
    assert apply_policy(store, admin, load_policy()) is False
    assert store.query_one("SELECT count(*) FROM audit_log")[0] == count


@pytest.mark.parametrize(
    "actor",
    [
        Actor(name="viewer@test", role="viewer"),
        Actor(name="lead@test", role="lead", departments=("Operations",)),
    ],
    ids=["viewer", "lead"],
)
def test_non_admin_cannot_apply_a_policy(store, admin, actor):
    apply_policy(store, admin, load_policy())
    save_workflow(store, admin, notes_workflow())
    active = active_policy_version(store)

    with pytest.raises(PermissionDenied):
        apply_policy(store, actor, parse_policy(default_policy_with("test-2.0", high_changes=("drafts",))))

    assert active_policy_version(store) == active
    assert store.policy.version == active[0]
    assert stored_classification(store, "ops-team-notes").risk == "low"
    assert audit(store, "policy.applied", "test-2.0") == []


# -- aiops classify ----------------------------------------------------------------------------------


@pytest.fixture
def cli(capsys, monkeypatch, tmp_path):
    """Run the CLI with no AIOPS_* settings and no aiops.toml around; return (code, out, err)."""
    monkeypatch.delenv("AIOPS_POLICY", raising=False)
    monkeypatch.delenv("AIOPS_DB", raising=False)
    monkeypatch.chdir(tmp_path)

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


SIGNAL_KEYS = {"level", "field", "reason", "matched", "family", "source"}


def contract(result: dict) -> list[dict]:
    """A JSON result's signals with the data contract's three keys."""
    return [{key: s[key] for key in ("level", "field", "reason")} for s in result["signals"]]


def test_classify_json_has_the_contract_keys(cli):
    code, out, _ = cli("classify", str(DATA / "workflows_valid.csv"), "--json")
    assert code == 0
    results = json.loads(out)
    assert isinstance(results, list) and [r["workflow_id"] for r in results] == ["sup-triage", "fin-refunds"]
    for result in results:
        assert set(result) >= {
            "workflow_id",
            "risk",
            "status",
            "stop_conditions",
            "signals",
            "rollout",
            "policy_version",
        }
        assert result["risk"] in ("low", "medium", "high")
        assert all(isinstance(code, str) for code in result["stop_conditions"])
        # Each signal keeps its explanation: field, phrase matched, family and source.
        assert result["signals"] and all(set(s) == SIGNAL_KEYS for s in result["signals"])
        assert set(result["rollout"]) == set(ROLLOUT_KEYS)
        assert all(result["rollout"].values())
        assert result["policy_version"] == load_policy().version


def test_classify_json_classifies_the_sample_workflows(cli):
    _, out, _ = cli("classify", str(DATA / "workflows_valid.csv"), "--json")
    results = {r["workflow_id"]: r for r in json.loads(out)}
    refunds = results["fin-refunds"]
    assert refunds["risk"] == "high" and refunds["status"] == "paused"
    assert refunds["stop_conditions"] == ["changes_permissions_billing_production"]
    assert {"level": "high", "field": "changes", "reason": "changes includes billing"} in contract(refunds)
    assert results["sup-triage"]["risk"] == "medium" and results["sup-triage"]["stop_conditions"] == []


def test_classify_with_custom_policy_changes_the_result(cli, tmp_path):
    custom = tmp_path / "custom.toml"
    custom.write_text(default_policy_with("test-cli-1", high_changes=("team_workflow",)), "utf-8")

    _, out, _ = cli("classify", str(DATA / "workflows_valid.csv"), "--json")
    code, custom_out, _ = cli(
        "classify", str(DATA / "workflows_valid.csv"), "--json", "--policy", str(custom)
    )

    assert code == 0
    before = {r["workflow_id"]: r for r in json.loads(out)}["sup-triage"]
    after = {r["workflow_id"]: r for r in json.loads(custom_out)}["sup-triage"]
    assert (before["risk"], after["risk"]) == ("medium", "high")
    assert after["policy_version"] == "test-cli-1"
    assert {"level": "high", "field": "changes", "reason": "changes includes team_workflow"} in contract(
        after
    )


def test_classify_with_bad_policy_file_fails_with_one_line_naming_the_key(cli):
    code, out, err = cli(
        "classify",
        str(DATA / "workflows_valid.csv"),
        "--json",
        "--policy",
        str(POLICIES / "unknown_vocabulary.toml"),
    )
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and "risk.high.changes" in err


# A database that recorded version V with other rules refuses to open, so the shipped default
# policy must get a new version whenever its text changes. Change both values together.
SHIPPED_DEFAULT = ("2026.12.2", "aabecd0d74957e5022e752e44c6f70fe9fa5925017218769a05a32c8be82293c")


def test_shipped_default_policy_text_matches_its_version():
    policy = load_policy()
    assert (policy.version, policy.sha256) == SHIPPED_DEFAULT, (
        "default.toml changed: bump its `version` and update SHIPPED_DEFAULT with the new sha256"
    )
