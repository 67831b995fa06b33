# -*- coding: utf-8 -*-
# Copyright: shardinel.redis developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The verify_report filter: the drill report of playbooks/verify.yml as text lines (documented in verify_report.yml)."""

from __future__ import annotations

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

from ansible_collections.shardinel.redis.plugins.module_utils.text_table import render_table

HEADER = ['shard', 'drill', 'old master', 'new master', 'failover', 'write gap', 'writes acked', 'writes lost',
          'canaries', 'canaries lost', 'routing', 'restored']
RESTORED = {True: 'yes', False: 'NO', None: 'n/a'}


def _results(drill_result):
    """The failover_verify results in a registered variable: one result, or one per item of a loop."""
    if not isinstance(drill_result, Mapping):
        raise AnsibleFilterError('verify_report: expected the registered result of failover_verify, got %s'
                                 % type(drill_result).__name__)
    if 'results' in drill_result:
        return [r for r in drill_result['results'] if isinstance(r, Mapping) and not r.get('skipped')]
    return [] if drill_result.get('skipped') else [drill_result]


def _merged_shards(results):
    shards = {}
    for result in results:
        reports = result.get('shards') or {}
        if not isinstance(reports, Mapping):
            raise AnsibleFilterError('verify_report: shards of a failover_verify result must be a dict, got %s'
                                     % type(reports).__name__)
        shards.update(reports)
    return shards


def _ms(value):
    return '%d ms' % value if isinstance(value, int) and not isinstance(value, bool) else None


def _number(value):
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _with_host(address, address_hosts):
    if not address:
        return None
    host = address_hosts.get(address)
    return '%s %s' % (address, host) if host else address


def _row(name, report, shard, drill, address_hosts):
    if not report:
        return [name, '-', _with_host(shard.get('master', {}).get('address'), address_hosts)]
    routing = 'ok' if report.get('routing_verified') else 'FAIL'
    return [name, report.get('drill') or drill, _with_host(report.get('old_master'), address_hosts),
            _with_host(report.get('new_master'), address_hosts), _ms(report.get('failover_ms')),
            _ms(report.get('write_gap_ms')), _number(report.get('writes_acknowledged')), _number(report.get('writes_lost')),
            _number(report.get('canaries_written')), _number(report.get('canaries_lost')), routing,
            RESTORED.get(report.get('restored'), 'n/a')]


def _notes(name, report):
    lines = []
    waited = report.get('ready_waited_for') or []
    if waited:
        lines.append('  %s waited %s before the fault for: %s' % (name, _ms(report.get('ready_wait_ms')) or '-', '; '.join(waited)))
    if report.get('error'):
        lines.append('  %s: %s' % (name, report['error']))
    return lines


def _sentinel_lines(sentinels):
    reachable = [s for s in sentinels if s.get('reachable')]
    tilted = [s for s in reachable if s.get('tilt')]
    lines = ['Sentinels: %d of %d reachable, %d in TILT mode' % (len(reachable), len(sentinels), len(tilted))]
    for sentinel in tilted:
        lines.append('  Sentinel %s is in TILT mode (for %s s, about %s s left); it does not vote until then'
                     % (sentinel.get('address'), _text(sentinel.get('tilt_since_seconds')),
                        _text(sentinel.get('tilt_remaining_seconds'))))
    unknown = [s for s in reachable if s.get('tilt') is None]
    if unknown:
        lines.append('  TILT mode unknown on %s: %s' % (', '.join(s.get('address', '?') for s in unknown),
                                                        unknown[0].get('tilt_error') or 'not reported'))
    return lines


def _text(value):
    return '-' if value is None else str(value)


def _survivability_lines(survivability):
    lines = []
    for problem in survivability.get('problems_now') or []:
        lines.append('Now: %s' % problem)
    for loss in survivability.get('host_losses') or []:
        verdict = 'survivable' if loss.get('survivable') else 'NOT survivable (%s)' % '; '.join(loss.get('problems') or [])
        lines.append('Losing host %s: %s' % (loss.get('host'), verdict))
    if survivability.get('single_host_shards'):
        lines.append('Master and replicas share one host: %s' % ', '.join(survivability['single_host_shards']))
    return lines


def verify_report(drill_result, topology, address_hosts=None, drill='planned'):
    """Lines of the verify playbook's report: a table with one row per shard, notes, Sentinels, survivability, verdict."""
    if not isinstance(topology, Mapping):
        raise AnsibleFilterError('verify_report: topology must be the registered result of topology_info, got %s'
                                 % type(topology).__name__)
    address_hosts = dict(address_hosts or {})
    results = _results(drill_result)
    reports = _merged_shards(results)
    shards = dict(topology.get('shards') or {})
    names = sorted(set(shards) | set(reports))
    rows, notes = [], []
    for name in names:
        report = reports.get(name) or {}
        rows.append(_row(name, report, shards.get(name) or {}, drill, address_hosts))
        notes.extend(_notes(name, report))
    lines = render_table(HEADER, rows) + notes + ['']
    lines += _sentinel_lines(list(topology.get('sentinels') or []))
    lines += _survivability_lines(dict(topology.get('survivability') or {}))
    # the playbook registers with failed_when: false, which clears 'failed' but keeps the module's msg
    failures = [str(r.get('msg') or 'failed') for r in results if r.get('failed') or r.get('msg')]
    if failures:
        lines.append('Drill: ' + '; '.join(failures))
    else:
        lines.append('Drill: passed' if results else 'Drill: not run')
    return lines


class FilterModule:
    """shardinel.redis verify report filter."""

    def filters(self):
        return {'verify_report': verify_report}
