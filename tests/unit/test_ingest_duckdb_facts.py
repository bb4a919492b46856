"""What the reader relies on in the DuckDB it ships with (1.5.5): if an upgrade changes one of
these, this file says which workaround to revisit (see README, Notes for developers)."""

from __future__ import annotations

import duckdb
import pytest

OPTIONS = (
    "delim=',', quote='\"', escape='\"', header=true, auto_detect=false, store_rejects=true, "
    "columns={'id': 'VARCHAR', 'started': 'VARCHAR', 'mins': 'VARCHAR', 'note': 'VARCHAR'}"
)


def _write(tmp_path, text: str, name: str = "f.csv") -> str:
    path = tmp_path / name
    path.write_bytes(text.encode())
    return str(path)


def test_try_cast_over_read_csv_casts_the_column_it_names(tmp_path):
    # DuckDB 2.0.1 pushed a TRY_CAST over read_csv into the scanner and applied it to the wrong
    # column; 1.5.5 does not, so reading, typing and checking in one statement is open to us.
    rows = "".join(f"T{i},2024-01-0{1 + i % 9}T09:00:00Z,{i * 1.5},x{i}\n" for i in range(3000))
    path = _write(tmp_path, "id,started,mins,note\n" + rows + "T-bad,soon,abc,y\n")
    con = duckdb.connect()
    found = con.execute(
        "SELECT count(TRY_CAST(mins AS DOUBLE)), count(TRY_CAST(started AS TIMESTAMPTZ)), count(*), "
        "max(note) FILTER (WHERE TRY_CAST(mins AS DOUBLE) IS NULL) "
        f"FROM read_csv(?, {OPTIONS})",
        [path],
    ).fetchall()
    assert found == [(3000, 3000, 3001, "y")]


def test_a_bare_cr_in_an_unquoted_cell_stops_duckdbs_reader(tmp_path):
    # Why sniff rewrites files with mixed line breaks through Python's csv module.
    path = _write(tmp_path, "id,started,mins,note\nT1,a,1,x\nT2 a\rb,a,2,x\nT3,a,3,x\n")
    with pytest.raises(duckdb.InvalidInputException, match="invalid state"):
        duckdb.connect().execute(f"SELECT count(*) FROM read_csv(?, {OPTIONS})", [path]).fetchall()


def test_a_bare_lf_in_an_unquoted_cell_of_a_crlf_file_is_not_read_as_python_reads_it(tmp_path):
    # Python's csv reads 4 records (the LF ends one); DuckDB, told records end with CRLF, stops
    # or reads none (0 records and no reject, depending on the file): never those 4.
    path = _write(tmp_path, "id,started,mins,note\r\nT1,a,1,x\r\nT2 a\nb,a,2,x\r\nT3,a,3,x\r\n")
    try:
        read = (
            duckdb.connect()
            .execute(
                f"SELECT count(*) FROM read_csv(?, {OPTIONS}, null_padding=false, new_line='\\r\\n')", [path]
            )
            .fetchall()[0][0]
        )
    except duckdb.InvalidInputException:
        read = None
    assert read != 4


def test_a_long_in_list_is_planned_as_a_join_and_list_contains_is_not():
    # The one-pass read keeps the file's order (rowid = record) only without a join in its
    # statement: phase synonyms are looked up with list_contains (timing_sql._phase).
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT i::VARCHAR AS v FROM range(10) r(i)")
    words = "'a', 'b', 'c', 'd', 'e'"
    in_list = con.execute(f"EXPLAIN SELECT v IN ({words}) FROM t").fetchall()[0][1]
    contains = con.execute(f"EXPLAIN SELECT list_contains([{words}], v) FROM t").fetchall()[0][1]
    assert "JOIN" in in_list
    assert "JOIN" not in contains
