# -*- coding: utf-8 -*-
# Copyright: shardinel.redis developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the redis_exporter role decides on the controller: one exporter per local instance and Sentinel, the problems of
its ports, and which exporters a run restarts."""

from __future__ import annotations

from ansible_collections.shardinel.redis.plugins.module_utils.shardinel.addresses import format_address
from ansible_collections.shardinel.redis.plugins.plugin_utils.redis_server_plan import host_shards


def targets(layout, sentinels, host, settings):
    """{name, what, address, port} of each exporter of ``host``: the shard at position i of the layout gets
    exporter_port + i, the host's j-th Sentinel (by port) sentinel_port + j. ``settings``: ip, scheme, instances,
    sentinels (bools), exporter_port, sentinel_port."""
    out = []
    if settings['instances']:
        held = set(shard['name'] for shard in host_shards(layout, host))
        for index, shard in enumerate(layout):
            if shard['name'] in held:
                out.append(dict(name='shard-' + shard['name'], what='shard ' + shard['name'],
                                address='%s://%s' % (settings['scheme'], format_address((settings['ip'], shard['port']))),
                                port=int(settings['exporter_port']) + index))
    if settings['sentinels']:
        mine = sorted((sentinel for sentinel in sentinels if sentinel['host'] == host), key=lambda sentinel: sentinel['port'])
        for index, sentinel in enumerate(mine):
            out.append(dict(name='sentinel-%s' % sentinel['port'], what='Sentinel %s' % sentinel['port'],
                            address='%s://%s' % (settings['scheme'], format_address((settings['ip'], sentinel['port']))),
                            port=int(settings['sentinel_port']) + index))
    return out


def taken_ports(address_hosts, listen_ip, plaintext_offset=None):
    """Ports the host's Redis instances and Sentinels listen on at the exporters' address (with TLS and plaintext both
    open, the plaintext one too)."""
    out = []
    for address in address_hosts:
        ip, port = address.rsplit(':', 1)
        if ip == listen_ip:
            out.append(int(port))
            if plaintext_offset is not None:
                out.append(int(port) + int(plaintext_offset))
    return out


def port_problems(exporters, taken, listen_ip):
    """Sentences naming the exporters whose port is out of range, shared, or used by a local server."""
    problems = []
    out_of_range = [item['what'] for item in exporters if not 0 < item['port'] <= 65535]
    if out_of_range:
        problems.append('beyond 65535: %s.' % ', '.join(out_of_range))
    ports = [item['port'] for item in exporters]
    if len(set(ports)) != len(ports):
        problems.append('the two ranges overlap.')
    used = [item['what'] for item in exporters if item['port'] in taken]
    if used:
        problems.append('already used by a Redis instance or Sentinel on %s: %s.' % (listen_ip, ', '.join(used)))
    return problems


def restarts(names, shared_changed, changed_targets, started):
    """The exporters to restart: all of them when what they share changed, else those whose own settings changed;
    never one this run has just started."""
    chosen = list(names) if shared_changed else [name for name in names if name in changed_targets]
    return [name for name in chosen if name not in started]
