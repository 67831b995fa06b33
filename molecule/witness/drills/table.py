"""The drill report as text (printed by the side effect and by the verifier), at most 72 columns wide
so that molecule's console, which indents and wraps at 80, shows it intact."""

from __future__ import annotations

import textwrap
from typing import Any

DETAILS = ("target_shards", "tilted_at_start", "waited_before_s", "tilt_after_resume", "answered_as_master_after_restart",
           "replica_at_crash", "isolated_master_last_write", "isolated_master_refused_from", "client_followed_before_heal",
           "client_switch_seconds", "reference_sentinel_events", "restored_at", "settle_seconds", "error")


def _host(name: str) -> str:
    return name.replace("witness-", "")


def format_report(report: dict[str, Any]) -> str:
    settings = report["settings"]
    lines = [f"Witness drills: down-after {settings['down_after_s']:g} s, failover-timeout {settings['failover_timeout_s']:g} s,",
             f"durable_timeout {settings['durable_timeout_s']:g} s; drills and re-converges took {report.get('seconds', 0):.0f} s.",
             "fo s: fault to new master (reference Sentinel), slowest shard;",
             "gap: longest time (s) between two acknowledged writes;",
             "lost: acknowledged writes missing afterwards; * the shard failed over.", ""]
    header = (f"{'drill':<19} {'host':<5} {'fo s':>4} {'writer':<7} {'shard':<12} {'acked':>5} {'lost':>4} "
              f"{'err':>4} {'gap':>4}")
    lines += [header, "-" * len(header)]
    for drill in report["drills"]:
        rows = drill.get("writers", [])
        failover = drill.get("failover_seconds") or {}
        head = f"{drill['name']:<19} {_host(drill.get('target', '-')):<5} {max(failover.values(), default=0):>4.1f}"
        if not rows:
            lines.append(f"{drill['name']:<19} (no writers)")
        for index, row in enumerate(rows):
            shard = row["shard"] + ("*" if row["failed_over"] else "")
            lines.append(f"{head if index == 0 else ' ' * len(head)} {row['mode']:<7} {shard:<12} {row['acknowledged']:>5} "
                         f"{row['lost']:>4} {row['errors']:>4} {row['longest_gap']:>4.1f}")
    lines.append("")
    for drill in report["drills"]:
        converge = drill.get("converge") or drill.get("apply") or {}
        summary = (f"{drill['name']}: converge changed={converge.get('changed')} failed={converge.get('failed')} "
                   f"in {converge.get('seconds')} s, masters kept: {drill.get('masters_kept_by_converge')}")
        details = "; ".join(f"{key}={drill[key]}" for key in DETAILS if key in drill)
        lines += textwrap.wrap(summary + (f"; {details}" if details else ""), 72, subsequent_indent="    ", break_on_hyphens=False)
    return "\n".join(lines)
