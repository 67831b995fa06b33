"""The benchmarks' figures: each printed as it is measured, then all of them as one Markdown table."""

from __future__ import annotations

ROWS: list[tuple[str, str, str, str, str]] = []


def row(name: str, ours: str, reference: str, ratio: str, target: str) -> None:
    ROWS.append((name, ours, reference, ratio, target))
    print(f"  {name}: {ours} vs {reference} -> {ratio} ({target})", flush=True)


def print_table(ours_header: str = "shardinel", reference_header: str = "reference") -> None:
    print(f"\n| benchmark | {ours_header} | {reference_header} | ratio | target |\n| --- | --- | --- | --- | --- |")
    for name, ours, reference, ratio, target in ROWS:
        print(f"| {name} | {ours} | {reference} | {ratio} | {target} |")
