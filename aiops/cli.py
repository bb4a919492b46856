"""The command line: `aiops <noun> <verb>`, thin over the domain.

Every subcommand takes `--db`, `--json`, `--policy` and `--actor` after its own name. Exit codes:
0 ok, 1 rejected input (nothing written), 2 usage error. Errors are one line on stderr.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import date, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from aiops.auth import Actor, local_admin
from aiops.errors import AiopsError, MappingError, exit_code_for
from aiops.settings import Settings, load_settings

if TYPE_CHECKING:  # the commands import what they need when they run, to start fast
    import pandas as pd

    from aiops.classifier import Classification
    from aiops.ingest.timings import TimingMapping
    from aiops.period import Period
    from aiops.store import Store

EXIT_OK, EXIT_REJECTED, EXIT_USAGE = 0, 1, 2


class Output:
    """Writes either JSON (and nothing else) or human lines to stdout."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json

    def json(self, payload: Any) -> None:
        if self.as_json:
            print(json.dumps(payload, default=str, ensure_ascii=False, indent=2))

    def line(self, text: str = "") -> None:
        if not self.as_json:
            print(text)


def _common(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("common options")
    group.add_argument(
        "--db",
        help="database file, or postgresql://user@host:port/dbname (password from PGPASSWORD or"
        " ~/.pgpass); default: data/aiops.duckdb; env AIOPS_DB",
    )
    group.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    group.add_argument("--policy", help="policy file to classify with (default: settings / built in)")
    group.add_argument("--actor", help="who is acting, for the audit log (default: the OS user)")


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {"db": args.db} if args.db else {}
    return load_settings(**overrides)


def _actor(args: argparse.Namespace) -> Actor:
    return local_admin(args.actor)


def _open(args: argparse.Namespace) -> Store:
    from aiops.workspace import open_store

    return open_store(_settings(args), args.policy, _actor(args))


# -- commands -----------------------------------------------------------------------------------------


def cmd_demo(args: argparse.Namespace, out: Output) -> int:
    from aiops.demo import AS_OF, build_demo

    path = _settings(args).db
    as_of = args.as_of or AS_OF
    with build_demo(path, as_of) as store:
        counts = dict(
            zip(
                ("workflows", "timing_samples", "batches"),
                store.query_one(
                    "SELECT (SELECT count(*) FROM workflows), (SELECT count(*) FROM committed_samples), "
                    "(SELECT count(*) FROM upload_batches)"
                )
                or (),
                strict=True,
            )
        )
    out.json({"db": store.path, "as_of": as_of, **counts})
    out.line(
        f"Demo database written to {store.path}: {counts['workflows']} workflows, "
        f"{counts['timing_samples']} timing samples in {counts['batches']} uploads."
    )
    return EXIT_OK


def cmd_workflows_import(args: argparse.Namespace, out: Output) -> int:
    from aiops.ingest.mapping import parse_assignments
    from aiops.ingest.workflows import change_lines, clearing_lines, import_workflows, sheet_scope

    with _open(args) as store:
        report = import_workflows(
            store,
            _actor(args),
            args.file,
            parse_assignments(args.map),
            dry_run=args.dry_run,
            skip_invalid=args.skip_invalid,
            clear_empty=args.clear_empty,
        )
    out.json(report.to_json())
    verb = "would import" if args.dry_run else ("imported" if report.committed else "rejected")
    out.line(
        f"{report.file_name} ({report.encoding}, {report.dialect}): {report.rows} rows, "
        f"{report.accepted} accepted, {report.rejected} rejected — {verb}."
    )
    out.line(f"  {sheet_scope(report.mapping)}")
    for line in clearing_lines(report):
        out.line(f"  {line}")
    if report.committed:
        out.line(
            f"  created {len(report.saved.created)}, updated {len(report.saved.updated)}, "
            f"unchanged {len(report.saved.unchanged)}"
        )
    for line in change_lines(report):
        out.line(f"  {line}")
    for note in report.notes:
        out.line(f"  {note}")
    for name, values in report.unknown_values.items():
        shown = ", ".join(f"{v} ({n})" for v, n in list(values.items())[:8])
        out.line(f"  unknown {name} values (treated as at least medium risk): {shown}")
    _print_rejects(out, report.rejects)
    if report.rejected and not report.committed and not args.dry_run:
        out.line("Nothing was written. Fix the rows above, or pass --skip-invalid.")
        return EXIT_REJECTED
    return EXIT_OK


def _print_rejects(
    out: Output, rejects: pd.DataFrame, lines_shown: int = 8, every: str = "--json lists every rejected line"
) -> None:
    """Rejects grouped by column and reason, with the first lines of each group, and where the
    whole list is (``every``)."""
    if rejects.empty:
        return
    for (column, reason), group in rejects.groupby(["column", "reason"], sort=False):
        lines = ", ".join(str(n) for n in group.line.head(lines_shown))
        more = f", … ({len(group) - lines_shown} more)" if len(group) > lines_shown else ""
        out.line(f"  {len(group):>6} rejected — {column}: {reason} — line {lines}{more}")
    out.line(f"  ({every})")


def cmd_workflows_list(args: argparse.Namespace, out: Output) -> int:
    from aiops.identity import identity_key
    from aiops.report.summary import summarize

    with _open(args) as store:
        workflows = summarize(store)["workflows"]
    for key in ("department", "risk", "status"):
        wanted = getattr(args, key)
        if wanted:
            workflows = [w for w in workflows if identity_key(str(w[key])) == identity_key(wanted)]
    out.json(workflows)
    for w in workflows:
        stops = ", ".join(w["stop_conditions"]) or "-"
        out.line(
            f"{w['workflow_id']:<34} {w['department']:<12} {w['risk']:<6} {w['status']:<10} "
            f"{w['evidence']:<12} stops: {stops}"
        )
    out.line(f"{len(workflows)} workflow(s)")
    return EXIT_OK


def cmd_workflows_export(args: argparse.Namespace, out: Output) -> int:
    from aiops.report.export import export_workflows

    with _open(args) as store:
        count = export_workflows(store, Path(args.out))
    out.json({"out": args.out, "workflows": count})
    out.line(f"Exported {count} workflows to {args.out}")
    return EXIT_OK


def cmd_workflows_sign_off(args: argparse.Namespace, out: Output) -> int:
    from aiops.governance import stored_classification
    from aiops.inventory import sign_off

    with _open(args) as store:
        workflow = sign_off(store, _actor(args), args.workflow_id, args.by)
        c = stored_classification(store, workflow.workflow_id)
    out.json(c.to_dict())
    out.line(f"{workflow.workflow_id} signed off by {args.by}: status {c.status} ({c.status_reason})")
    return EXIT_OK


def cmd_workflows_remove_checkpoint(args: argparse.Namespace, out: Output) -> int:
    from aiops.governance import stored_classification
    from aiops.inventory import remove_checkpoint

    with _open(args) as store:
        workflow = remove_checkpoint(store, _actor(args), args.workflow_id, args.checkpoint)
        c = stored_classification(store, workflow.workflow_id)
    out.json(
        {
            "workflow_id": workflow.workflow_id,
            "checkpoints": workflow.checkpoints,
            "status": c.status,
            "next_checkpoint": asdict(c.next_checkpoint),
        }
    )
    out.line(
        f"Removed '{args.checkpoint}' from {workflow.workflow_id}; "
        f"{len(workflow.checkpoints)} checkpoint(s) left. Next: {c.next_checkpoint.reason}"
    )
    return EXIT_OK


def cmd_workflows_incident(args: argparse.Namespace, out: Output) -> int:
    from aiops.inventory import record_incident

    with _open(args) as store:
        record_incident(store, _actor(args), args.workflow_id, args.note)
    out.json({"workflow_id": args.workflow_id, "recorded": True})
    out.line(f"Incident recorded for {args.workflow_id}; the checkpoint ladder waits for fresh evidence.")
    return EXIT_OK


def cmd_classify(args: argparse.Namespace, out: Output) -> int:
    from aiops.classifier import classify_workflows
    from aiops.ingest.mapping import parse_assignments
    from aiops.ingest.workflows import read_workflows
    from aiops.policy import load_policy
    from aiops.store import Store

    policy = load_policy(args.policy or _settings(args).policy)
    with Store(":memory:", policy=policy) as scratch:
        report = read_workflows(scratch, args.file, parse_assignments(args.map))
    results = classify_workflows(report.workflows, policy)
    out.json([_classification_json(c) for c in results])
    for c in results:
        out.line(
            f"{c.workflow_id:<40} {c.risk:<6} {c.status:<10} "
            f"{', '.join(c.stop_codes) or 'no stop conditions'}"
        )
        for s in c.signals if args.explain else c.signals[:3]:
            out.line(f"    {s.level}: {s.reason}")
        if args.explain:
            _explain_precedents(out, c)
        elif c.precedents and c.precedents.outcome == "review":
            out.line("    review: the published precedents lean towards high impact (see --explain)")
    _print_rejects(out, report.rejects)
    return EXIT_REJECTED if report.rejected else EXIT_OK


def _explain_precedents(out: Output, c: Classification) -> None:
    check = c.precedents
    if check is None:
        out.line("    precedents: no second opinion (off in the policy, or no word in common)")
        return
    verdict = {"raised": "raised to high", "review": "flag for a human's review", "unchanged": "no change"}
    out.line(
        f"    precedents ({check.version}): probability of high impact {check.probability:.2f}"
        f" -> {verdict[check.outcome]}; nearest published use cases:"
    )
    for p in check.nearest:
        out.line(f"      {p.similarity:.2f}  {p.label:<16} {p.name} ({p.agency})")


def _classification_json(c: Classification) -> dict[str, Any]:
    return {
        "workflow_id": c.workflow_id,
        "risk": c.risk,
        "status": c.status,
        "stop_conditions": c.stop_codes,
        "signals": [asdict(s) for s in c.signals],
        "rollout": asdict(c.rollout),
        "policy_version": c.policy_version,
        "status_reason": c.status_reason,
        "unanswered_questions": c.unanswered_questions,
        "unknown_values": c.unknown_values,
        "precedents": asdict(c.precedents) if c.precedents else None,
    }


def _timing_answers(args: argparse.Namespace) -> dict[str, object]:
    """The mapping options given on the command line (the rest comes from a preset or the file)."""
    from aiops.ingest.mapping import MEASURE_OPTIONS, TimingMapping

    names = [name for name in TimingMapping.model_fields if name not in MEASURE_OPTIONS]
    fields = {name: getattr(args, name, None) for name in names}
    return {k: v for k, v in fields.items() if v is not None}


def _measure_options(args: argparse.Namespace) -> dict[str, object]:
    """What the upload measures, for any mapping (explicit, preset or canonical)."""
    from aiops.ingest.mapping import MEASURE_OPTIONS

    fields = {name: getattr(args, name, None) for name in MEASURE_OPTIONS}
    return {k: v for k, v in fields.items() if v is not None}


def _timing_mapping(args: argparse.Namespace) -> TimingMapping | None:
    """An explicit mapping from the options; None for a preset or a canonical file."""
    from aiops.ingest.timings import TimingMapping

    given = _timing_answers(args)
    if args.preset or not given:
        return None
    try:
        return TimingMapping(**given, **_measure_options(args))
    except ValidationError as e:
        raise MappingError(
            f"mapping: {e.errors()[0]['msg'].removeprefix('Value error, ')}",
            "see `aiops timings import --help`",
        ) from e


def cmd_timings_import(args: argparse.Namespace, out: Output) -> int:
    from aiops.errors import Conflict, IngestError
    from aiops.ingest.presets import PresetTarget, check_preset_target
    from aiops.ingest.timings import open_timing_import

    target = (
        PresetTarget(args.save_preset, args.preset_scope, args.preset_department, args.replace)
        if args.save_preset
        else None
    )

    with (
        _open(args) as store,
        open_timing_import(
            store,
            args.file,
            _timing_mapping(args),
            preset=args.preset,
            loop=args.loop,
            answers=_timing_answers(args),
            options=_measure_options(args),
            actor=_actor(args),
        ) as upload,
    ):
        report = upload.report
        if args.rejects_out:  # written refused or not: the list is what the lead fixes the file with
            report.write_rejects(args.rejects_out)
        if report.problems:  # refused at preview, dry run or not: nothing is written
            out.json(report.to_json())
            raise IngestError(report.problems[0], "nothing was written")
        if target:
            check_preset_target(store, _actor(args), target)  # refuse a taken name even on a dry run
        if not args.dry_run:
            try:
                upload.commit(_actor(args), save_preset_as=target)
            except Conflict:
                out.json(report.to_json())  # duplicate: true, and what was found
                raise
    out.json(report.to_json())
    out.line(f"{report.file_name} ({report.encoding}, {report.dialect}): {report.mapping.describe()}")
    out.line(
        f"{report.rows} records: {report.accepted} accepted, {report.rejected} rejected"
        + (f" → {report.loops_found} loops" if report.mapping.mode == "events" else "")
    )
    for s in report.summary.itertuples(index=False):  # what the preview's table shows, per phase
        out.line(
            f"  {s.workflow_id} {s.phase}: n {int(s.samples):,}, mean {s.mean_minutes:,.1f} min/loop"
            f" (median {s.median_minutes:,.1f})"
        )
    for note in report.notes:
        out.line(f"  {note}")
    for warning in report.warnings:
        out.line(f"  warning: {warning}")
    for problem in report.problems:
        out.line(f"  problem: {problem}")
    _print_rejects(out, report.rejects, every=_rejects_listed(args.rejects_out))
    if args.dry_run:
        out.line(
            "Dry run: nothing was written."
            + (" The preset is saved with the upload." if args.save_preset else "")
        )
    else:
        saved = f" and saved the mapping as preset '{args.save_preset.strip()}'" if args.save_preset else ""
        out.line(f"Committed as batch {report.batch_id}{saved}.")
    return EXIT_OK


def _rejects_listed(rejects_out: str | None) -> str:
    from aiops.ingest.timing_report import REJECTS_LISTED

    if rejects_out:
        return f"every rejected record is in {rejects_out}"
    return (
        f"--rejects-out FILE writes every rejected record; --json lists the first {REJECTS_LISTED:,}"
        " and the count per column and reason"
    )


def cmd_timings_presets(args: argparse.Namespace, out: Output) -> int:
    from aiops.ingest.presets import all_presets

    with _open(args) as store:
        presets = all_presets(store, _actor(args))
    out.json([p.model_dump() for p in presets])
    for p in presets:
        origin = "built-in" if p.builtin else p.scope
        out.line(f"{p.name:<22} {origin:<10} {p.title}")
        for loop in p.loops:
            out.line(f"{'':<32} loop {loop.name}: {loop.label}")
    return EXIT_OK


def cmd_timings_batches(args: argparse.Namespace, out: Output) -> int:
    from aiops.ingest.batches import list_batches

    with _open(args) as store:
        batches = list_batches(store)
    out.json(batches.to_dict("records"))
    for b in batches.itertuples(index=False):
        state = (
            f"undone {b.undone_at:%Y-%m-%d}"
            if b.undone_at is not None and str(b.undone_at) != "NaT"
            else "active"
        )
        hours = "  business hours" if b.business_hours else ""
        out.line(
            f"{b.batch_id:>5}  {b.uploaded_at:%Y-%m-%d %H:%M}  {b.actor:<30} {b.file_name:<32} "
            f"{b.accepted:>7} accepted {b.rejected:>6} rejected  {state}{hours}"
        )
    return EXIT_OK


def cmd_timings_undo(args: argparse.Namespace, out: Output) -> int:
    from aiops.ingest.batches import undo_batch

    with _open(args) as store:
        removed = undo_batch(store, _actor(args), args.batch_id)
    out.json({"batch_id": args.batch_id, "samples_removed": removed})
    out.line(f"Batch {args.batch_id} undone: {removed} timing samples removed.")
    return EXIT_OK


def cmd_sources_add(args: argparse.Namespace, out: Output) -> int:
    from aiops.sources.model import add_source, spec_from

    fields = ("name", "tool", "base_url", "query", "workflow_id", "loop", "time_kind", "go_live", "token_ref")
    spec = spec_from({f: getattr(args, f) for f in fields if getattr(args, f) is not None})
    with _open(args) as store:
        source = add_source(store, _actor(args), spec)
    out.json(asdict(source))
    out.line(
        f"Source '{source.name}' added: {source.tool} {source.query} → {source.workflow_id}"
        f" ({source.loop}, {source.time_kind}, go-live {source.go_live}; token from {source.token_ref})."
    )
    return EXIT_OK


def cmd_sources_list(args: argparse.Namespace, out: Output) -> int:
    from aiops.sources.model import list_sources

    with _open(args) as store:
        sources = list_sources(store)
    out.json([asdict(s) for s in sources])
    for s in sources:
        pulled = f"last pull {s.last_pull_at:%Y-%m-%d %H:%M}" if s.last_pull_at else "never pulled"
        out.line(f"{s.name:<24} {s.tool:<14} {s.query:<28} → {s.workflow_id:<28} {s.loop:<16} {pulled}")
    return EXIT_OK


def cmd_sources_remove(args: argparse.Namespace, out: Output) -> int:
    from aiops.sources.model import remove_source

    with _open(args) as store:
        source = remove_source(store, _actor(args), args.name)
    out.json({"removed": source.name})
    out.line(
        f"Source '{source.name}' removed; its pulled batches stay (undo them with `aiops timings undo`)."
    )
    return EXIT_OK


def cmd_pull(args: argparse.Namespace, out: Output) -> int:
    from aiops.sources.pull import PullOptions, PullResult, pull_all, pull_source

    if (args.source is None) == (not args.all):
        print("aiops: error: name one SOURCE or pass --all", file=sys.stderr)
        return EXIT_USAGE
    options = PullOptions(progress=lambda line: print(line, file=sys.stderr))
    with _open(args) as store:
        if args.all:
            results = pull_all(store, _actor(args), options)
        else:
            results = [pull_source(store, _actor(args), args.source, options)]
    out.json([r.to_json() for r in results] if args.all else results[0].to_json())

    def line(r: PullResult) -> str:
        wrote = f"batch {r.batch_id}" if r.batch_id is not None else "nothing new written"
        return (
            f"{r.source}: {r.records} records in {r.pages} pages: {r.accepted} accepted, {r.rejected}"
            f" rejected; {r.new_or_changed} new or changed, {r.replaced} replaced → {wrote}."
        )

    for r in results:
        if r.error is None:
            out.line(line(r))
        else:
            print(f"aiops: error: source {r.source}: {r.error}", file=sys.stderr)
    return EXIT_REJECTED if any(r.error for r in results) else EXIT_OK


def cmd_report_summary(args: argparse.Namespace, out: Output) -> int:
    from aiops.report.summary import summarize

    with _open(args) as store:
        summary = summarize(store, _period(args))
    out.json(summary)
    c, period = summary["company"], summary["period"]
    currency = summary["currency"]
    out.line(
        f"Saved Loops — {summary['company_name']} — {period['name']} ({period['label']}"
        f"{'' if period['complete'] else ', to date'}; policy {summary['policy_version']})"
    )
    out.line(_kpi_line("Company", c, currency))
    for d in summary["departments"]:
        out.line(_kpi_line(d["department"], d, currency))
    out.line(
        "Hours and value count workflows with no open stop condition; hours at risk are from paused "
        "workflows, never added in. Intervals are 95%."
    )
    return EXIT_OK


def cmd_report_board(args: argparse.Namespace, out: Output) -> int:
    import time

    from aiops.report.board import pack_format, write_board_pack
    from aiops.report.bounded import print_pdf_bounded

    started = time.perf_counter()
    pack_format(args.out)  # refuse an unknown suffix before touching the database
    with _open(args) as store:  # printed as on the dashboard: a child bounded in time and memory
        printer = partial(print_pdf_bounded, still_wanted=lambda: True)
        path, view = write_board_pack(store, Path(args.out), _period(args), printer=printer)
    seconds, size = round(time.perf_counter() - started, 2), path.stat().st_size
    out.json(
        {"out": str(path), "period": view.period.label, "name": view.name, "bytes": size, "seconds": seconds}
    )
    name = f"{view.name} ({view.period.label})"
    out.line(f"Board pack for {name} written to {path} ({size:,} bytes, {seconds:.1f} s)")
    return EXIT_OK


def _kpi_line(label: str, k: dict[str, Any], currency: str) -> str:
    return (
        f"{label:<12} {k['hours_returned']:>8.1f} h returned "
        f"[{k['hours_returned_low']:.1f}, {k['hours_returned_high']:.1f}]  "
        f"at risk {k['hours_at_risk']:.1f} h  value {k['value']:,.0f} {currency} "
        f"(net {k['net_value']:,.0f})  "
        f"{k['loops_removed']:>8.0f} loops removed  n={k['samples_before']}/{k['samples_after']}  "
        f"evidence: {k['evidence_saving']} saving, {k['evidence_inconclusive']} inconclusive, "
        f"{k['evidence_slower']} slower, {k['evidence_insufficient']} insufficient  "
        f"stops open: {k['open_stop_conditions']}"
    )


def _period(args: argparse.Namespace) -> Period | None:
    """The period asked for; None (the default period: the last complete quarter with data) when
    none is given. ``--period all`` is all time."""
    from aiops.period import Period

    if getattr(args, "period", None):
        if args.period.strip().lower() in {"all", "all-time"}:
            return Period()
        try:
            return Period.parse_quarter(args.period)
        except ValueError as e:
            raise MappingError(str(e), "e.g. --period 2026Q3, or --period all") from e
    start, end = getattr(args, "date_from", None), getattr(args, "date_to", None)
    return Period(start, end) if start or end else None


def cmd_company_set(args: argparse.Namespace, out: Output) -> int:
    from aiops.views import save_company

    try:
        text = Path(args.file).read_text(encoding="utf-8")
    except OSError as e:
        raise AiopsError(f"cannot read {args.file}: {e.strerror}", "pass a TOML file") from e
    with _open(args) as store:
        settings = save_company(store, _actor(args), text)
    out.json(settings.model_dump())
    out.line(
        f"Company settings saved: {settings.name}, {settings.currency}, {settings.hourly_cost:,.0f}/h default"
    )
    return EXIT_OK


def cmd_company_show(args: argparse.Namespace, out: Output) -> int:
    from aiops.views import load_company

    with _open(args) as store:
        settings = load_company(store)
    out.json(settings.model_dump())
    out.line(
        f"{settings.name} · {settings.currency} · default loaded hourly cost {settings.hourly_cost:,.0f}"
    )
    for department, rate in settings.hourly_cost_by_department.items():
        out.line(f"  {department}: {rate:,.0f}/h")
    return EXIT_OK


def cmd_backup(args: argparse.Namespace, out: Output) -> int:
    from aiops.backup import backup

    with _open(args) as store:
        manifest = backup(store, _actor(args), args.out)
    out.json(manifest)
    rows = sum(manifest["tables"].values())
    out.line(f"Backed up {len(manifest['tables'])} tables ({rows:,} rows) to {args.out}")
    return EXIT_OK


def cmd_restore(args: argparse.Namespace, out: Output) -> int:
    from aiops.backup import restore
    from aiops.store.postgres import redact

    manifest = restore(args.backup_dir, _settings(args).db, _actor(args))
    out.json(manifest)
    out.line(f"Restored {redact(_settings(args).db)} from the backup of {manifest['created_at']} (UTC)")
    return EXIT_OK


def cmd_store_copy(args: argparse.Namespace, out: Output) -> int:
    from aiops.store import Store
    from aiops.store.transfer import copy_rows

    actor = _actor(args)
    actor.require_admin("copy the database")
    with Store(args.source) as source, Store(args.target) as target:
        tables = copy_rows(source, target, actor, audit=("store.copied", {"from": source.path}))
        shown = {"from": source.path, "to": target.path, "tables": tables}
    out.json(shown)
    out.line(
        f"Copied {sum(tables.values()):,} rows in {len(tables)} tables from {shown['from']} to {shown['to']};"
        " every table's row count matches."
    )
    return EXIT_OK


def cmd_serve(args: argparse.Namespace, out: Output) -> int:
    from aiops import serve

    env = dict(os.environ)
    if args.db:
        env["AIOPS_DB"] = args.db
    address = args.address or serve.LOOPBACK
    warning = serve.open_warning(address, Path.cwd())
    if warning:
        print(f"aiops: warning: {warning}", file=sys.stderr)
    return serve.run_forwarding_signals(serve.streamlit_command(address, args.port), env)


# -- the parser ------------------------------------------------------------------------------------


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from e


def _go_live(text: str) -> date | datetime:
    from aiops.ingest.mapping import parse_go_live

    try:
        return parse_go_live(text)
    except MappingError as e:
        raise argparse.ArgumentTypeError(f"{e.message} ({e.hint})") from e


def _add(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    handler: Callable[..., Any],
    help_text: str,
) -> argparse.ArgumentParser:
    parser = sub.add_parser(name, help=help_text, description=help_text)
    parser.set_defaults(handler=handler)
    _common(parser)
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aiops", description="Saved Loops: AI workflows, the time they return, the risks open."
    )
    nouns = parser.add_subparsers(dest="noun", required=True, metavar="COMMAND")

    demo = _add(nouns, "demo", cmd_demo, "(re)create the demo database (Northwind Labs)")
    demo.add_argument("--as-of", type=_iso_date, help="the demo's last week (default 2026-11-16)")

    workflows = nouns.add_parser("workflows", help="the workflow inventory")
    verbs = workflows.add_subparsers(dest="verb", required=True, metavar="VERB")
    imp = _add(verbs, "import", cmd_workflows_import, "import (upsert) a workflows CSV")
    imp.add_argument("file")
    imp.add_argument(
        "--map",
        action="append",
        metavar="FIELD=COLUMN",
        help="take FIELD from the file's COLUMN (repeatable)",
    )
    imp.add_argument("--dry-run", action="store_true", help="check only; write nothing")
    imp.add_argument(
        "--clear-empty",
        action="store_true",
        help="let empty cells clear stored answers (without it they keep them; the output lists them)",
    )
    imp.add_argument(
        "--skip-invalid",
        action="store_true",
        help="import the valid rows even when some are rejected (all are reported)",
    )
    lst = _add(verbs, "list", cmd_workflows_list, "list workflows with risk, status and evidence")
    for key in ("department", "risk", "status"):
        lst.add_argument(f"--{key}", help=f"only this {key}")
    exp = _add(verbs, "export", cmd_workflows_export, "export workflows to CSV or JSON")
    exp.add_argument("--out", required=True, help="FILE.csv or FILE.json")
    sign = _add(
        verbs,
        "sign-off",
        cmd_workflows_sign_off,
        "record a named approver's sign-off (clears the permission/billing/production stop "
        "condition when review is approve_each or two_person)",
    )
    sign.add_argument("workflow_id")
    sign.add_argument("--by", required=True, help="the approver's name")
    rem = _add(
        verbs,
        "remove-checkpoint",
        cmd_workflows_remove_checkpoint,
        "remove the one checkpoint the ladder suggests now",
    )
    rem.add_argument("workflow_id")
    rem.add_argument("checkpoint", help="the checkpoint's text, as listed")
    inc = _add(verbs, "incident", cmd_workflows_incident, "record an incident (pauses the ladder)")
    inc.add_argument("workflow_id")
    inc.add_argument("--note", required=True)

    classify = _add(nouns, "classify", cmd_classify, "classify a workflows CSV without storing it")
    classify.add_argument("file")
    classify.add_argument("--map", action="append", metavar="FIELD=COLUMN")
    classify.add_argument(
        "--explain",
        action="store_true",
        help="every signal, and the nearest published precedents with their labels",
    )

    timings = nouns.add_parser("timings", help="before/after loop timings")
    tverbs = timings.add_subparsers(dest="verb", required=True, metavar="VERB")
    timp = _add(
        tverbs,
        "import",
        cmd_timings_import,
        "import a timings export (canonical CSV, or mapped with the options below)",
    )
    timp.add_argument("file")
    _timing_options(timp)
    timp.add_argument(
        "--rejects-out",
        metavar="FILE",
        help="write every rejected record (line, column, reason, value, id, its text) to this CSV file",
    )
    _add(tverbs, "batches", cmd_timings_batches, "list upload batches")
    _add(tverbs, "presets", cmd_timings_presets, "list mapping presets (built-in and saved)")
    undo = _add(tverbs, "undo", cmd_timings_undo, "undo one upload batch as a whole")
    undo.add_argument("batch_id", type=int)

    sources = nouns.add_parser("sources", help="tools whose timings are pulled on a schedule")
    soverbs = sources.add_subparsers(dest="verb", required=True, metavar="VERB")
    sadd = _add(soverbs, "add", cmd_sources_add, "add a source: a tool's API that feeds one workflow")
    sadd.add_argument("name", help="a name for the source (unique)")
    sadd.add_argument("--tool", required=True, help="github_pulls, github_issues, jira or zendesk")
    sadd.add_argument("--base-url", help="the API's address (default: the tool's cloud API)")
    sadd.add_argument(
        "--query", help="owner/repo (GitHub), a JQL filter (Jira), field=value filters (Zendesk)"
    )
    sadd.add_argument("--workflow", dest="workflow_id", required=True, help="the workflow it feeds")
    sadd.add_argument("--loop", help="the loop it measures (default: the tool's first)")
    sadd.add_argument("--time-kind", choices=["hands_on", "elapsed"], help="default: the loop's (elapsed)")
    sadd.add_argument("--go-live", required=True, help="the workflow's go-live (date or ISO date-time)")
    sadd.add_argument(
        "--token-ref", required=True, help="env:VARIABLE or file:/private/path (never the token itself)"
    )
    _add(soverbs, "list", cmd_sources_list, "list sources")
    srem = _add(soverbs, "remove", cmd_sources_remove, "remove a source (its batches stay)")
    srem.add_argument("name")
    pull = _add(nouns, "pull", cmd_pull, "pull new and changed records from a source (or --all) as one batch")
    pull.add_argument("source", nargs="?", help="the source's name")
    pull.add_argument("--all", action="store_true", help="every source")

    report = nouns.add_parser("report", help="summaries and the board pack")
    rverbs = report.add_subparsers(dest="verb", required=True, metavar="VERB")
    summary = _add(rverbs, "summary", cmd_report_summary, "KPIs per department and company")
    _period_options(summary)
    board = _add(rverbs, "board", cmd_report_board, "the board pack: a PDF or a self-contained HTML file")
    board.add_argument("--out", required=True, help="FILE.pdf or FILE.html")
    _period_options(board)

    company = nouns.add_parser("company", help="company name, currency and loaded hourly costs")
    cverbs = company.add_subparsers(dest="verb", required=True, metavar="VERB")
    company_set = _add(cverbs, "set", cmd_company_set, "store company settings from a TOML file (admin)")
    company_set.add_argument(
        "file", help='TOML: name = "Acme", currency = "EUR", hourly_cost = 70, [hourly_cost_by_department]'
    )
    _add(cverbs, "show", cmd_company_show, "the company settings the pack and dashboard use")

    backup = _add(nouns, "backup", cmd_backup, "copy the database (consistent, under the write lock)")
    backup.add_argument("--out", required=True, help="an empty directory for the backup")
    restore = _add(nouns, "restore", cmd_restore, "replace the database with a backup (verified first)")
    restore.add_argument("backup_dir", help="a directory written by `aiops backup`")

    store = nouns.add_parser("store", help="move a company's data between stores")
    sverbs = store.add_subparsers(dest="verb", required=True, metavar="VERB")
    copy = _add(
        sverbs,
        "copy",
        cmd_store_copy,
        "copy every table (workflows, timings, batches, classifications, checkpoint events, audit, presets,"
        " policy versions, company settings) into an empty"
        " store, e.g. a DuckDB file into PostgreSQL; row counts verified",
    )
    copy.add_argument("--from", dest="source", required=True, help="the database to copy (file or URL)")
    copy.add_argument("--to", dest="target", required=True, help="an empty database (file or URL)")

    serve = _add(nouns, "serve", cmd_serve, "run the dashboard")
    serve.add_argument("--port", type=int, default=8501)
    serve.add_argument(
        "--address", help="the interface to listen on (default 127.0.0.1: this machine only; 0.0.0.0: all)"
    )
    return parser


def _period_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--period", help="a quarter, e.g. 2026Q3, or `all` (default: the last complete quarter with data)"
    )
    group.add_argument("--from", dest="date_from", type=_iso_date, help="first day (YYYY-MM-DD)")
    parser.add_argument("--to", dest="date_to", type=_iso_date, help="day after the last (YYYY-MM-DD)")


def _timing_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("mapping (omit for a canonical timings CSV)")
    from aiops.ingest.mapping import TimingMapping, field_choices

    for name, info in TimingMapping.model_fields.items():
        if info.annotation is bool:
            continue  # a flag that only a preset or the form sets (business hours)
        option: dict[str, Any] = {"help": info.description, "choices": field_choices(name), "dest": name}
        if name == "go_live":
            option["type"] = _go_live
        flag = "--phase" if name == "phase_only" else "--" + name.replace("_", "-")
        group.add_argument(flag, **option)
    group.add_argument(
        "--preset",
        help="a saved or built-in mapping, or `auto` to recognise the file (see `aiops timings presets`)",
    )
    group.add_argument("--loop", help="which of the preset's loops to measure (default: its first)")
    group.add_argument("--save-preset", metavar="NAME", help="save this mapping as a named preset")
    group.add_argument(
        "--preset-scope",
        choices=["personal", "department", "company"],
        default="personal",
        help="who the saved preset is for: you (default), a department, or the company (admins)",
    )
    group.add_argument("--preset-department", help="the department of a department preset")
    group.add_argument(
        "--replace", action="store_true", help="save over an existing preset of that name in that scope"
    )
    parser.add_argument("--dry-run", action="store_true", help="check and preview; write nothing")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    out = Output(getattr(args, "json", False))
    try:
        return args.handler(args, out)
    except AiopsError as e:
        print(f"aiops: error: {e}", file=sys.stderr)
        return exit_code_for(e)
    except KeyboardInterrupt:
        print("aiops: interrupted; nothing was written", file=sys.stderr)
        return EXIT_REJECTED
    except BrokenPipeError:
        # The reader (e.g. `| head`) went away: stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


def command() -> int:
    """The ``aiops`` command: ``main``, then the process ends. Freezing every object first skips the
    interpreter's last collection over all of them (pandas, pyarrow, DuckDB: ``bench.read_path``'s
    summary process went from 0.68 to 0.59 s); objects are still freed and files closed as the
    interpreter ends. ``main`` itself stays without it for callers that live on (tests)."""
    code = main()
    gc.freeze()
    return code


if __name__ == "__main__":
    sys.exit(command())
