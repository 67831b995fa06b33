# -*- coding: utf-8 -*-
# Copyright: shardinel.redis developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read the live shard topology from the Sentinels and analyse which host losses it survives."""

from __future__ import annotations

from ansible_collections.shardinel.redis.plugins.module_utils.connection_options import (
    redis_credentials,
    redis_kwargs,
    sentinel_admin_credentials,
    sentinel_credentials,
)
from ansible_collections.shardinel.redis.plugins.module_utils.shardinel.addresses import format_address, parse_address
from ansible_collections.shardinel.redis.plugins.module_utils.sentinel_access import Endpoint, ShardinelError
from ansible_collections.shardinel.redis.plugins.module_utils.shardinel.sentinel_answers import is_down, state_address
from ansible_collections.shardinel.redis.plugins.module_utils.sentinel_tilt import read_tilt, unknown_tilt


def majority(total):
    return total // 2 + 1


def read_topology(params, addresses, shard_filter=None):
    """Ask every Sentinel what it monitors; return (sentinel reachability list, shards dict).

    An unreachable Sentinel is reported, not fatal; refused credentials or missing command
    rights are fatal (ShardinelError), as is having no Sentinel reachable at all.
    """
    kwargs = redis_kwargs(params)
    views = {}
    monitored = set()
    reachability = []
    for host, port in addresses:
        endpoint = Endpoint(host, port, 'Sentinel %s' % format_address((host, port)), kwargs=kwargs, **sentinel_credentials(params))
        try:
            views[endpoint.address], names = _sentinel_view(endpoint, shard_filter)
            monitored.update(names)
            entry = dict(address=endpoint.address, reachable=True, error=None, shards=names)
            entry.update(_tilt(params, host, port, kwargs))
        except ShardinelError as error:
            if ' is unreachable: ' not in str(error):
                raise
            entry = dict(address=endpoint.address, reachable=False, error=str(error), shards=[])
            entry.update(unknown_tilt('not reachable'))
        finally:
            endpoint.close()
        reachability.append(entry)
    if not views:
        raise ShardinelError('no Sentinel is reachable: ' + '; '.join(r['error'] for r in reachability))
    shards = {}
    for name in sorted(set().union(*views.values())):
        shards[name] = _merge_views(name, views)
    missing = sorted(set(shard_filter or ()) - set(shards))
    if missing:
        raise ShardinelError('shards: %s not monitored by any reachable Sentinel (known: %s)'
                             % (', '.join(missing), ', '.join(sorted(monitored)) or 'none'))
    _add_replication_lag(params, shards)
    return reachability, shards


def _tilt(params, host, port, kwargs):
    """TILT state read with the Sentinel admin user (or the discovery user); unknown, with the reason, if INFO is refused."""
    endpoint = Endpoint(host, port, 'Sentinel %s' % format_address((host, port)), kwargs=kwargs, **sentinel_admin_credentials(params))
    try:
        return dict(read_tilt(endpoint), tilt_error=None)
    except ShardinelError as error:
        if 'may not run' not in str(error):
            raise
        return unknown_tilt('%s (give sentinel_admin_username to read TILT)' % error)
    finally:
        endpoint.close()


def tilted_sentinels(reachability):
    """Addresses of the Sentinels in TILT mode."""
    return [entry['address'] for entry in reachability if entry.get('tilt')]


def _sentinel_view(endpoint, shard_filter):
    """({shard: what this Sentinel says about it}, sorted names of every shard it monitors)."""
    view = {}
    masters = endpoint.states('MASTERS')
    for master in masters:
        name = master['name']
        if shard_filter and name not in shard_filter:
            continue
        view[name] = dict(
            master=master,
            replicas=endpoint.states('REPLICAS', name),
            sentinels=endpoint.states('SENTINELS', name),
            ckquorum=_ckquorum(endpoint, name),
        )
    return view, sorted(master['name'] for master in masters)


def _ckquorum(endpoint, name):
    """(ok, message), or None when this user may not run CKQUORUM (the discovery-only user)."""
    try:
        return True, str(endpoint.sentinel('CKQUORUM', name))
    except ShardinelError as error:
        text = str(error)
        if 'may not run' in text:
            return None
        if ' is unreachable: ' in text:
            raise
        return False, text.split('with an error: ', 1)[-1]


def _merge_views(name, views):
    knowing = [address for address, view in views.items() if name in view]
    first = views[knowing[0]][name]
    master_by_sentinel = {address: state_address(views[address][name]['master']) for address in knowing}
    sentinel_addresses = set(knowing)
    for address in knowing:
        sentinel_addresses.update(state_address(s) for s in views[address][name]['sentinels'])
    total = max([len(sentinel_addresses)] + [views[a][name]['master']['num-other-sentinels'] + 1 for a in knowing])
    quorum = first['master']['quorum']
    checks = [views[a][name]['ckquorum'] for a in knowing if views[a][name]['ckquorum'] is not None]
    if checks:
        quorum_ok, quorum_message, quorum_check = checks[0][0], checks[0][1], 'ckquorum'
    else:
        usable = 1 + sum(1 for s in first['sentinels'] if not is_down(s))
        quorum_ok = usable >= quorum and usable >= majority(total)
        quorum_message = '%d usable Sentinels, quorum %d, majority %d' % (usable, quorum, majority(total))
        quorum_check = 'computed'
    master_state = first['master']
    return dict(
        master=dict(host=master_state['ip'], port=int(master_state['port']), address=state_address(master_state),
                    flags=master_state['flags'], down=is_down(master_state)),
        replicas=[_replica(r) for r in first['replicas']],
        sentinels=total,
        sentinel_addresses=sorted(sentinel_addresses),
        sentinels_reporting=len(knowing),
        sentinels_missing=sorted(set(views) - set(knowing)),
        sentinels_agree=len(set(master_by_sentinel.values())) == 1 and len(knowing) == len(views),
        master_by_sentinel=master_by_sentinel,
        quorum=quorum,
        quorum_ok=bool(quorum_ok),
        quorum_check=quorum_check,
        quorum_message=quorum_message,
        majority=majority(total),
        config_epoch=master_state.get('config-epoch'),
        lag_error=None,
    )


def _replica(state):
    return dict(
        host=state['ip'],
        port=int(state['port']),
        address=state_address(state),
        flags=state['flags'],
        down=is_down(state),
        link_status=state.get('master-link-status'),
        link_down_ms=state.get('master-link-down-time'),
        repl_offset=state.get('slave-repl-offset'),
        lag_seconds=None,
        lag_bytes=None,
    )


def _add_replication_lag(params, shards):
    """Fill lag_seconds/lag_bytes from each master's INFO replication when the Redis user may read it."""
    if not params.get('username') and not params.get('password'):
        return
    kwargs = redis_kwargs(params)
    for name, shard in shards.items():
        master = shard['master']
        endpoint = Endpoint(master['host'], master['port'], 'Redis master %s of shard %s' % (master['address'], name),
                            kwargs=kwargs, **redis_credentials(params))
        try:
            info = endpoint.call('INFO', 'replication')
        except ShardinelError as error:
            shard['lag_error'] = str(error)
            continue
        finally:
            endpoint.close()
        offset = int(info.get('master_repl_offset', 0))
        linked = {}
        for key, value in info.items():
            if key.startswith('slave') and isinstance(value, dict):
                linked['%s:%s' % (value.get('ip'), value.get('port'))] = value
        for replica in shard['replicas']:
            entry = linked.get(replica['address'])
            if entry:
                replica['lag_seconds'] = int(entry.get('lag', 0))
                replica['lag_bytes'] = max(0, offset - int(entry.get('offset', 0)))


def analyse_survivability(shards, address_hosts=None, tilted=()):
    """Which single-host losses still let every shard fail over (Sentinel majority and quorum).

    ``address_hosts`` maps "ip:port" of Sentinels and Redis instances to a host name; an
    address missing from it counts as its own IP's host. Sentinels whose address is in
    ``tilted`` (TILT mode) count as unable to vote while they are in it.
    """
    address_hosts = dict(address_hosts or {})
    tilted = set(tilted or ())
    unmapped = set()

    def host_of(address):
        if address in address_hosts:
            return address_hosts[address]
        if address_hosts:
            unmapped.add(address)
        return parse_address(address, 'address_hosts')[0]

    placement = {}
    for name, shard in shards.items():
        members = [shard['master']['address']] + [r['address'] for r in shard['replicas']]
        placement[name] = dict(
            master_host=host_of(shard['master']['address']),
            member_hosts=sorted({host_of(m) for m in members}),
            sentinel_hosts=[host_of(s) for s in shard['sentinel_addresses']],
            tilted_hosts=[host_of(s) for s in shard['sentinel_addresses'] if s in tilted],
            total=max(shard['sentinels'], len(shard['sentinel_addresses'])),
            quorum=shard['quorum'],
        )
    hosts = sorted(set().union(*([set(p['member_hosts']) | set(p['sentinel_hosts']) for p in placement.values()] or [set()])))
    now = []
    for name in sorted(placement):
        now.extend(_loss_problems(name, placement[name], None))
    losses = []
    for host in hosts:
        problems = []
        for name in sorted(placement):
            problems.extend(_loss_problems(name, placement[name], host))
        losses.append(dict(host=host, survivable=not problems, problems=problems))
    return dict(
        hosts=hosts,
        host_losses=losses,
        survivable_host_losses=[loss['host'] for loss in losses if loss['survivable']],
        unsurvivable_host_losses=[loss['host'] for loss in losses if not loss['survivable']],
        every_single_host_loss_survivable=bool(losses) and all(loss['survivable'] for loss in losses),
        single_host_shards=sorted(name for name, p in placement.items() if len(p['member_hosts']) == 1),
        unmapped_addresses=sorted(unmapped),
        sentinels_in_tilt=sorted(tilted),
        problems_now=now,
    )


def _loss_problems(name, placement, host):
    total, quorum = placement['total'], placement['quorum']
    tilted = len([h for h in placement['tilted_hosts'] if h != host])
    left = total - placement['sentinel_hosts'].count(host) - tilted
    in_tilt = ' (%d more in TILT mode cannot vote)' % tilted if tilted else ''
    problems = []
    if left < majority(total):
        problems.append('%s: %d of %d Sentinels left%s, a failover needs a majority of %d'
                        % (name, left, total, in_tilt, majority(total)))
    elif left < quorum:
        problems.append('%s: %d of %d Sentinels left%s, below the quorum of %d' % (name, left, total, in_tilt, quorum))
    if placement['member_hosts'] == [host]:
        problems.append('%s: the master and every replica are on %s' % (name, host))
    return problems
