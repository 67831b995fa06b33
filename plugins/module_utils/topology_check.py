# -*- coding: utf-8 -*-
# Copyright: shardinel.redis developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether every shard can lose one instance now (module shardinel.redis.topology_check): every Sentinel answers, and
each shard has a master every Sentinel names (none seeing it down) that reports ROLE master, and a replica that
reports ROLE slave of it, connected, and that every Sentinel lists as up with its link ok.

One look asks every Sentinel once (SENTINEL MASTER and REPLICAS of every shard in one round trip each), then every
instance named once (ROLE), all at once.
"""

from __future__ import annotations

import time

from ansible_collections.shardinel.redis.plugins.module_utils.redis_wire import AuthError
from ansible_collections.shardinel.redis.plugins.module_utils.shard_watch import (
    is_connected_replica, problem_text, read_reply, replicas_by_address)
from ansible_collections.shardinel.redis.plugins.module_utils.shardinel.sentinel_answers import parse_state

LOOK_INTERVAL = 0.5


def look(watch, shards):
    """The report of one look: {sentinels, sentinels_answering, sentinels_not_answering, shards: {name: {master,
    in_sync_replicas, problems}}, problems, healthy, login_refused}."""
    commands = [['SENTINEL', 'MASTER', shard] for shard in shards] + [['SENTINEL', 'REPLICAS', shard] for shard in shards]
    answers = watch.ask_sentinels(commands or [['PING']], keep_refusals=True)
    silent = dict((sentinel, replies) for sentinel, replies in answers.items() if isinstance(replies, Exception))
    views = []
    named = set()
    for index, shard in enumerate(shards):
        masters = dict((s, read_reply(replies, index, parse_state)) for s, replies in answers.items())
        replicas = dict((s, read_reply(replies, len(shards) + index, replicas_by_address)) for s, replies in answers.items())
        master = watch.agreed_master(masters)
        candidates = sorted(set(address for listed in replicas.values() if not isinstance(listed, Exception) for address in listed))
        views.append((shard, masters, replicas, master, candidates))
        named.update(candidates + ([master] if master else []))
    roles = watch.ask_instances(sorted(named), [['ROLE']], keep_refusals=True) if named else {}

    report_shards = {}
    for shard, masters, replicas, master, candidates in views:
        problems = []
        if master is None:
            problems.append('the Sentinels do not all name the same master, up: %s' % watch.describe(masters))
        else:
            role = read_reply(roles[master], 0, list)
            if isinstance(role, Exception) or role[:1] != ['master']:
                problems.append('%s does not report ROLE master (%s)' % (master, describe_role(role)))
        in_sync = [address for address in candidates
                   if master and is_connected_replica(read_reply(roles[address], 0, list), master)
                   and watch.in_sync_everywhere(replicas, address, master)]
        if not in_sync:
            problems.append('no replica that every Sentinel lists as in sync')
        report_shards[shard] = {'master': master, 'in_sync_replicas': in_sync, 'problems': problems}

    problems = ['Sentinel %s does not answer: %s' % (sentinel, problem_text(error)) for sentinel, error in sorted(silent.items())]
    problems += ['%s: %s' % (shard, problem) for shard, entry in report_shards.items() for problem in entry['problems']]
    return {
        'sentinels': list(watch.sentinels),
        'sentinels_answering': sorted(s for s in watch.sentinels if s not in silent),
        'sentinels_not_answering': sorted(silent),
        'shards': report_shards,
        'problems': problems,
        'healthy': not problems,
        'login_refused': any(isinstance(outcome, AuthError) for outcome in list(answers.values()) + list(roles.values())),
    }


def describe_role(role):
    if isinstance(role, Exception):
        return problem_text(role)
    return 'it reports %s' % ' '.join(str(part) for part in role[:4] if not isinstance(part, list))


def check_until_healthy(watch, shards, timeout):
    """Look again every LOOK_INTERVAL seconds until healthy, a login is refused (waiting cannot mend a password) or
    ``timeout`` seconds have passed; the last report, with ``attempts`` and ``waited_s``."""
    started = time.monotonic()
    attempts = 0
    while True:
        attempts += 1
        report = look(watch, shards)
        if report['healthy'] or report['login_refused'] or time.monotonic() - started >= timeout:
            report.update(attempts=attempts, waited_s=round(time.monotonic() - started, 2))
            return report
        time.sleep(LOOK_INTERVAL)
