# -*- coding: utf-8 -*-
# Copyright: shardinel.redis developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every Sentinel's SENTINEL MASTERS, asked at once over redis_wire, and each shard's current master from them."""

from __future__ import annotations

from ansible_collections.shardinel.redis.plugins.module_utils.redis_wire import AuthError, ReplyError, WireError, ask_each
from ansible_collections.shardinel.redis.plugins.module_utils.shardinel.addresses import format_address
from ansible_collections.shardinel.redis.plugins.module_utils.shardinel.sentinel_answers import (
    config_epoch, current_masters, parse_states, state_address)


def read_views(addresses, username, passwords, tls, timeout):
    """({"ip:port": [states]} of the Sentinels that answered, {"ip:port": why not} of the others, {"ip:port": the password
    it accepted}).

    ``passwords`` are tried in turn, the current one first: during a rotation the running Sentinels accept only a
    previous one until the roles apply the new one. A Sentinel that refuses every one raises its AuthError: a wrong
    password must not pass for a Sentinel that is down."""
    views, unanswered, accepted = {}, {}, {}
    pending, refused = list(addresses), None
    for password in passwords or [None]:
        still = []
        for address, outcome in ask_each(pending, [['SENTINEL', 'MASTERS']], username, password, tls, timeout).items():
            label = format_address(address)
            if isinstance(outcome, AuthError):
                still.append(address)
                refused = outcome
            elif isinstance(outcome, (WireError, ReplyError)):
                unanswered[label] = str(outcome)
            elif isinstance(outcome[0], ReplyError):
                unanswered[label] = str(outcome[0])
            else:
                views[label] = parse_states(outcome[0])
                accepted[label] = password
        pending = still
        if not pending:
            break
    if pending:
        raise refused
    return views, unanswered, accepted


def masters_report(views):
    """{shard: {"address", "config_epoch", "sentinels"}}: the newest master of each shard and how many Sentinels know it."""
    chosen = current_masters(views)
    known = {}
    for states in views.values():
        for state in states:
            known[state['name']] = known.get(state['name'], 0) + 1
    return dict((name, dict(address=state_address(state), config_epoch=config_epoch(state), sentinels=known[name]))
                for name, state in chosen.items())
