"""``judgeloop judge-report PROJECT --model NAME``: the LLM judge's calibration report.

Prints the judge's agreement with people per question and rubric dimension beside
people's own (the ceiling), its position bias and its length bias, each with a
bootstrap interval; ``--json`` prints the same report as the API returns it.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from judgeloop.cli.context import console, open_session, reports_errors, state


def _num(est: dict[str, Any] | None, fmt: str = "{:.2f}") -> str:
    """An estimate as ``value [low, high]`` ("-" where it is undefined)."""
    if est is None or est["value"] is None:
        return "-"
    text = fmt.format(est["value"])
    if est["ci_low"] is not None:
        text += f" [{fmt.format(est['ci_low'])}, {fmt.format(est['ci_high'])}]"
    return text


def _pct(est: dict[str, Any] | None) -> str:
    return _num(est, "{:.0%}")


def _agreement_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(title="Agreement with people (judge | people, the ceiling)")
    for name in ("question", "units", "exact", "alpha", "pairwise", "people exact"):
        table.add_column(name)
    for name in ("people alpha", "people pairwise", "pairwise gap", "distance | people"):
        table.add_column(name)
    for row in rows:
        a = row["agreement"]
        name = row["key"] + (f" ({row['variant']})" if row["variant"] else "")
        table.add_row(
            name,
            str(a["n_units"]),
            _pct(a["exact"]),
            _num(a["alpha"]),
            _pct(a["pairwise"]),
            _pct(a["human_exact"]),
            _num(a["human_alpha"]),
            _pct(a["human_pairwise"]),
            _num(a["pairwise_gap"], "{:+.2f}"),
            f"{_num(a['mean_abs_error'])} | {_num(a['human_mean_abs_error'])}",
        )
    return table


def _bias_tables(report: dict[str, Any]) -> list[Table]:
    position = Table(title="Position bias (answers swapped)")
    for name in ("question", "items", "flip rate", "picks the first shown", "decisive"):
        position.add_column(name)
    for row in report["position"]:
        first = row["first_share"]
        decisive = str(row["n_decisive"]) if first is not None else "-"
        position.add_row(
            row["key"], str(row["n_items"]), _pct(row["flip_rate"]), _pct(first), decisive
        )
    length = Table(title="Length bias: decisive preferences for the longer answer")
    for name in ("question", "items", "judge", "people", "difference"):
        length.add_column(name)
    for row in report["length_preference"]:
        judge = f"{_pct(row['judge'])} of {row['n_judge']}"
        people = f"{_pct(row['humans'])} of {row['n_human']}"
        length.add_row(
            row["key"], str(row["n_items"]), judge, people, _num(row["difference"], "{:+.2f}")
        )
    rating = Table(title="Length bias: Spearman correlation of rating with answer length")
    for name in ("rating", "judge", "people"):
        rating.add_column(name)
    for row in report["length_rating"]:
        rating.add_row(row["key"], _num(row["judge"]), _num(row["humans"]))
    return [position, length, rating]


@reports_errors
def judge_report_cli(
    ctx: typer.Context,
    project: Annotated[str, typer.Argument(help="Project slug or id.")],
    model: Annotated[str, typer.Option(help="The judge: a registered model version.")],
    bootstrap: Annotated[int, typer.Option(min=0, help="Resamples per interval.")] = 1000,
    seed: Annotated[int, typer.Option(help="Seeds the bootstrap.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Show how well an LLM judge agrees with people, and its position and length bias.

    Run the judge first (`judgeloop judge`), and again with --swap to measure
    position bias.
    """
    from judgeloop.services.calibration import calibration_report, report_dict
    from judgeloop.services.projects import get_project

    with open_session(state(ctx).settings()) as session:
        report = report_dict(
            calibration_report(
                session,
                project=get_project(session, project),
                judge_model=model,
                seed=seed,
                n_bootstrap=bootstrap,
            )
        )
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    runs = report["runs"]
    console.print(
        f"judge {model} on {report['project_slug']}: {runs['normal_ok']} items judged, "
        f"{runs['swapped_ok']} swapped, {runs['paired_items']} both ways; "
        f"{report['ci']:.0%} intervals from {report['n_bootstrap']} resamples"
    )
    for table in [_agreement_table(report["questions"]), *_bias_tables(report)]:
        if table.row_count:
            console.print(table)
