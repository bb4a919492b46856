"""Structured input from people is measured before any recursive parser sees it (issue 25):
JSON uploads and TOML files (policy, company settings, roles) deeper or larger than any real one
are refused with one line and exit 1, fast, instead of taking the process down."""

from __future__ import annotations

import io
import json
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aiops import bounded_input
from aiops.auth import load_roles
from aiops.bounded_input import MAX_NESTING, json_nesting, load_toml, toml_nesting
from aiops.errors import AiopsError, IngestError, PolicyError
from aiops.ingest.json_source import json_to_csv
from aiops.policy import parse_policy
from tests.conftest import cli_text


def _deep_json(depth: int, opener: str = '{"a":', closer: str = "}") -> str:
    return "[" + opener * depth + "1" + closer * depth + "]"


def test_the_engineering_notes_case_2kb_nested_1000_deep_is_refused_with_one_line(capsys, tmp_path):
    """47 s on main before it was refused as "not JSON we can read"; now refused before DuckDB."""
    upload = tmp_path / "deep.json"
    upload.write_text(_deep_json(1000, "[", "]") + "\n")
    assert 1_900 <= upload.stat().st_size <= 2_100
    code, out, err = cli_text(capsys, "timings", "import", str(upload), "--db", str(tmp_path / "t.duckdb"))
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and err.startswith("aiops: error: the JSON is nested more than 32 levels")


@pytest.mark.parametrize("depth", [10_000, 100_000])
def test_json_that_crashed_the_process_is_refused(capsys, tmp_path, depth):
    upload = tmp_path / "deeper.json"
    upload.write_text(_deep_json(depth))
    code, _, err = cli_text(capsys, "timings", "import", str(upload), "--db", str(tmp_path / "t.duckdb"))
    assert code == 1 and "nested more than 32 levels" in err and "Traceback" not in err


def test_a_json_upload_above_the_size_limit_is_refused_before_it_is_read(tmp_path):
    upload = tmp_path / "big.json"
    upload.write_text('[{"a": 1}]')
    with (
        mock.patch.object(bounded_input, "MAX_JSON_BYTES", 5),
        pytest.raises(IngestError, match="above the limit"),
    ):
        json_to_csv(upload, tmp_path / "out.csv")


def test_real_export_depth_is_accepted(tmp_path):
    upload = tmp_path / "prs.json"
    upload.write_text(json.dumps([{"number": 1, "author": {"login": "ann"}, "reviews": [{"at": "x"}]}]))
    assert json_to_csv(upload, tmp_path / "out.csv").read_text().startswith("number")


# -- the pre-scan counts what a parser would see, across chunk boundaries ------------------------------
_TEXT = st.text(alphabet=st.sampled_from(list('ab[]{}"\\,: \n')), max_size=8)
_JSON = st.recursive(
    st.none() | st.integers() | _TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
    max_leaves=30,
)


def _depth(value: object) -> int:
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    return 0


@given(_JSON, st.integers(1, 9))
def test_json_nesting_matches_the_parsed_depth_at_any_chunk_size(value, chunk):
    text = json.dumps(value, ensure_ascii=False).encode()
    with mock.patch.object(bounded_input, "_CHUNK", chunk):
        assert json_nesting(io.BytesIO(text)) == _depth(value)


_SHAPES = st.one_of(
    st.builds(lambda d: _deep_json(d, "[", "]"), st.integers(0, 5_000)),
    st.builds(lambda d: _deep_json(d), st.integers(0, 5_000)),
    st.builds(
        lambda d, w: json.dumps([{f"k{i}": [[i]] * w for i in range(w)}] * 2),
        st.integers(0, 40),
        st.integers(0, 300),
    ),
    st.builds(lambda d: "[" + '{"a":[' * d + "]}" * d + "]", st.integers(0, 3_000)),
    st.builds(lambda d: "[" + "[" * d, st.integers(1, 5_000)),  # never closed
)


@pytest.mark.slow
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(_SHAPES)
def test_fuzz_deep_and_wide_json_is_converted_or_refused_with_one_clear_error(tmp_path_factory, text):
    folder = tmp_path_factory.mktemp("fuzz")
    upload = folder / "upload.json"
    upload.write_text(text)
    try:
        json_to_csv(upload, folder / "out.csv")
    except IngestError as e:
        assert "\n" not in str(e)
        if _nesting(text) > MAX_NESTING:
            assert "nested more than" in str(e)


def _nesting(text: str) -> int:
    return json_nesting(io.BytesIO(text.encode()))


# -- TOML ---------------------------------------------------------------------------------------------
DEEP_TOML = {
    "arrays": "x = " + "[" * 100_000 + "]" * 100_000,
    "inline tables": "x = " + "{a=" * 100_000 + "1" + "}" * 100_000,
    "dotted key": ".".join(["a"] * 100_000) + " = 1",
    "dotted digits": ".".join(["1"] * 100_000) + " = 1",
    "mixed key": ".".join(["a1", "2a1"] * 50_000) + " = 1",
    "table name": "[" + ".".join(["a"] * 100_000) + "]\nb = 1",
}


@pytest.mark.parametrize("text", DEEP_TOML.values(), ids=DEEP_TOML.keys())
def test_company_settings_nested_100k_deep_are_refused_with_one_line(capsys, tmp_path, text):
    settings_file = tmp_path / "company.toml"
    settings_file.write_text(text)
    code, out, err = cli_text(
        capsys, "company", "set", str(settings_file), "--db", str(tmp_path / "t.duckdb")
    )
    assert (code, out) == (1, "")
    assert err.count("\n") == 1 and "company settings nests more than 32 levels deep" in err


def test_a_policy_and_a_roles_file_nested_deep_are_refused(tmp_path):
    with pytest.raises(PolicyError, match="nests more than"):
        parse_policy(DEEP_TOML["arrays"], "policy.toml")
    roles = tmp_path / "roles.toml"
    roles.write_text(DEEP_TOML["dotted key"])
    with pytest.raises(AiopsError, match="roles file .* nests more than"):
        load_roles(roles)


def test_an_aiops_toml_nested_deep_is_one_line_not_a_traceback(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "aiops.toml").write_text(DEEP_TOML["arrays"])
    code, _, err = cli_text(capsys, "company", "show", "--db", str(tmp_path / "t.duckdb"))
    assert code == 1 and err == (
        "aiops: error: aiops.toml nests more than 32 levels deep (arrays, inline tables or dotted keys)"
        " (a settings or policy file nests two or three levels)\n"
    )


def test_a_toml_file_above_the_size_limit_is_refused():
    with pytest.raises(PolicyError, match="characters long; the limit is"):
        load_toml("# " + "x" * bounded_input.MAX_TOML_CHARS, "company settings")


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        ('a = "[[[[" # {{{{', 0),
        ("a.b.c = 1.5", 2),
        ("[x.y]\nz = [1.25, -2.5, [3]]", 2),
        ("t = 1979-05-27T07:32:00.999", 0),
        ("m = '''\n[[[[\n'''", 0),
        ('m = """a\\"""[[[["""', 0),
        ("p = {a = {b.c = 1}}", 3),
    ],
)
def test_toml_nesting_ignores_strings_numbers_and_comments(text, depth):
    assert toml_nesting(text) == depth


def test_the_shipped_files_are_within_the_bound():
    from importlib import resources

    for package, name in [("aiops.policies", "default.toml"), ("aiops.ingest", "builtin_presets.toml")]:
        assert toml_nesting(resources.files(package).joinpath(name).read_text("utf-8")) <= 4
