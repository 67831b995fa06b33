# -*- coding: utf-8 -*-
# Copyright: shardinel.redis developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where each shard's backup is taken from: its current master by the Sentinels (the highest config epoch among those
that answer, shardinel.sentinel_answers), and an in-sync replica of it, or the master when asked.

A replica is in sync when the master lists it online with its last acknowledgement at most ``max_lag`` seconds old,
and the replica itself reports that master with its link up and no synchronisation in progress. Among several, the
first by address is taken, so that every host picks the same one. A replica is never taken while it is loading or
resynchronising: it would have nothing consistent to give.
"""

from __future__ import annotations

from ansible_collections.shardinel.redis.plugins.module_utils.redis_wire import AuthError, ReplyError
from ansible_collections.shardinel.redis.plugins.module_utils.shard_watch import parse_info, problem_text, read_reply
from ansible_collections.shardinel.redis.plugins.module_utils.shardinel.addresses import format_address, parse_address
from ansible_collections.shardinel.redis.plugins.module_utils.shardinel.sentinel_answers import (
    current_masters, is_down, parse_states, state_address)

INSTANCE_QUESTIONS = [['INFO', 'replication'], ['INFO', 'server'], ['INFO', 'memory']]


class SourceError(Exception):
    """The Sentinels could not be read at all; the message says why."""


def sentinel_shards(watch):
    """{shard: (its master's "host:port", the master state the newest Sentinel gave)} and the unanswered Sentinels."""
    answers = watch.ask_sentinels([['SENTINEL', 'MASTERS']])
    views, silent = {}, {}
    for sentinel, replies in answers.items():
        reply = read_reply(replies, 0, parse_states)
        if isinstance(reply, Exception):
            silent[sentinel] = problem_text(reply)
        else:
            views[sentinel] = reply
    if not views:
        raise SourceError('no Sentinel answered: %s' % '; '.join('%s: %s' % item for item in sorted(silent.items())))
    return dict((shard, (state_address(state), state)) for shard, state in current_masters(views).items()), silent


def listed_replicas(watch, shards):
    """{shard: sorted replica addresses any answering Sentinel lists for it}."""
    answers = watch.ask_sentinels([['SENTINEL', 'REPLICAS', shard] for shard in shards] or [['PING']])
    listed = dict((shard, set()) for shard in shards)
    for replies in answers.values():
        for index, shard in enumerate(shards):
            states = read_reply(replies, index, parse_states)
            if not isinstance(states, Exception):
                listed[shard].update(state_address(state) for state in states if 'ip' in state and 'port' in state)
    return dict((shard, sorted(addresses)) for shard, addresses in listed.items())


def instance_facts(watch, addresses):
    """{address: {field: value} of INFO replication, server and memory, or the error that stands for it}."""
    facts = {}
    for address, replies in watch.ask_instances(sorted(set(addresses)), INSTANCE_QUESTIONS).items():
        if isinstance(replies, AuthError):
            raise replies
        if isinstance(replies, Exception):
            facts[address] = replies
            continue
        errors = [reply for reply in replies if isinstance(reply, ReplyError)]
        if errors:
            facts[address] = errors[0]
            continue
        merged = {}
        for reply in replies:
            merged.update(parse_info(reply))
        facts[address] = merged
    return facts


def master_replicas(info):
    """{"host:port": {state, lag}} of the replicas a master's INFO replication lists."""
    found = {}
    for key, value in info.items():
        if not key.startswith('slave') or not key[5:].isdigit():
            continue
        fields = dict(part.split('=', 1) for part in value.split(',') if '=' in part)
        try:
            address = format_address((fields['ip'], int(fields['port'])))
            found[address] = dict(state=fields.get('state'), lag=int(fields.get('lag', -1)))
        except (KeyError, ValueError):
            continue
    return found


def replica_problem(address, facts, master, listed_by_master, max_lag):
    """Why ``address`` is not an in-sync replica of ``master`` now, or None when it is."""
    info = facts.get(address)
    if isinstance(info, Exception):
        return '%s does not answer: %s' % (address, problem_text(info))
    if info.get('role') != 'slave':
        return '%s is not a replica (role %s)' % (address, info.get('role'))
    try:
        its_master = format_address((info.get('master_host', ''), int(info.get('master_port', 0))))
    except ValueError:
        its_master = None
    if its_master != master:
        return '%s replicates from %s, not from the master %s' % (address, its_master, master)
    if info.get('master_link_status') != 'up' or info.get('master_sync_in_progress', '0') != '0':
        return '%s has its link to the master %s' % (
            address, 'synchronising' if info.get('master_sync_in_progress', '0') != '0' else 'down')
    if info.get('loading', '0') != '0':
        return '%s is loading its data' % address
    entry = listed_by_master.get(address)
    if entry is None or entry['state'] != 'online':
        return 'the master %s does not list %s as an online replica' % (master, address)
    if entry['lag'] < 0 or entry['lag'] > max_lag:
        return '%s last acknowledged the master %ds ago (max_lag %gs)' % (address, entry['lag'], max_lag)
    return None


def engine_of(info):
    """(engine, version) from an INFO server: Valkey names itself, Redis does not."""
    if info.get('valkey_version') or info.get('server_name') == 'valkey':
        return 'valkey', info.get('valkey_version') or info.get('redis_version')
    return 'redis', info.get('redis_version')


def choose_sources(watch, source, max_lag, shards=None):
    """Per shard (every shard the Sentinels know, or ``shards``): {master, source (address or None), role, lag_s,
    problems, members, engine, engine_version, memory_bytes}; the Sentinels that did not answer; every shard the
    Sentinels monitor."""
    masters, silent = sentinel_shards(watch)
    wanted = sorted(masters) if shards is None else list(shards)
    unknown = [shard for shard in wanted if shard not in masters]
    if unknown:
        raise SourceError('shards: no Sentinel monitors %s (they monitor %s)' % (', '.join(unknown), ', '.join(sorted(masters)) or 'nothing'))
    replicas = listed_replicas(watch, wanted)
    facts = instance_facts(watch, [masters[shard][0] for shard in wanted] + [a for shard in wanted for a in replicas[shard]])
    chosen = {}
    for shard in wanted:
        master, state = masters[shard]
        master_info = facts.get(master)
        entry = dict(master=master, source=None, role=None, lag_s=None, problems=[], members=[master] + replicas[shard],
                     engine=None, engine_version=None, memory_bytes=None)
        if is_down(state):
            entry['problems'].append('the Sentinels see the master %s down (%s)' % (master, ','.join(state['flags'])))
        if isinstance(master_info, Exception):
            entry['problems'].append('the master %s does not answer: %s' % (master, problem_text(master_info)))
            master_info = {}
        elif master_info.get('role') != 'master':
            entry['problems'].append('%s, the master the Sentinels name, reports role %s' % (master, master_info.get('role')))
        if source == 'master':
            if not entry['problems']:
                entry.update(source=master, role='master', lag_s=0)
        elif not entry['problems']:
            listed = master_replicas(master_info)
            why = [replica_problem(address, facts, master, listed, max_lag) for address in replicas[shard]]
            in_sync = [address for address, problem in zip(replicas[shard], why) if problem is None]
            if in_sync:
                entry.update(source=in_sync[0], role='replica', lag_s=listed[in_sync[0]]['lag'])
            else:
                entry['problems'].append('no replica in sync with the master %s: %s'
                                         % (master, '; '.join(problem for problem in why if problem) or 'no replica is listed'))
        if entry['source']:
            info = facts[entry['source']]
            entry['engine'], entry['engine_version'] = engine_of(info)
            entry['memory_bytes'] = int(info.get('used_memory_dataset', info.get('used_memory', 0)) or 0)
        chosen[shard] = entry
    return chosen, silent, sorted(masters)


def runs_on(address, host):
    """The instance at ``address`` ("host:port") listens on ``host``."""
    try:
        return parse_address(address, 'address')[0] == host
    except ValueError:
        return False


def host_shards(chosen, host):
    """The shards a host backs up: those whose source runs on it, and those without a source that have a member on it
    (so that a shard with no healthy source fails the run where it lives)."""
    if host is None:
        return sorted(chosen)
    mine = []
    for shard, entry in sorted(chosen.items()):
        if entry['source'] is not None:
            if runs_on(entry['source'], host):
                mine.append(shard)
        elif any(runs_on(address, host) for address in entry['members']):
            mine.append(shard)
    return mine
