# -*- coding: utf-8 -*-
# Copyright: shardinel.redis developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The topology filter: the layout a run deploys, computed from the inventory, and its problems (topology.yml)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.shardinel.redis.plugins.plugin_utils.topology_plan import plan


def published_settings(variables, settings):
    """What a host publishes (the shardinel role's tasks/publish.yml), or the same read from its inventory variables
    when it is not in the play."""
    published = variables.get('shardinel__published')
    if published:
        return published
    facts = variables.get('ansible_facts') or {}
    return dict(
        announce_ip=variables.get('shardinel_announce_ip') or (facts.get('default_ipv4') or {}).get('address') or '',
        sentinel_count=variables.get('shardinel_sentinel_count', settings.get('sentinel_count', 2)),
        sentinel_port=variables.get('shardinel_sentinel_port', settings.get('sentinel_port', 26379)),
        engine=variables.get('shardinel_engine', settings.get('engine')),
        platform='unknown',
    )


def topology(hostvars, groups, settings):
    """``hostvars | shardinel.redis.topology(groups, settings)``: see topology.yml."""
    if not isinstance(settings, dict):
        raise AnsibleFilterError('topology: settings must be a dict')
    servers = list(groups.get('redis_servers') or [])
    sentinel_hosts = list(groups.get('redis_sentinels') or [])
    hosts = dict((host, published_settings(hostvars[host], settings)) for host in dict.fromkeys(servers + sentinel_hosts))
    return plan(hosts, servers, sentinel_hosts, settings)


class FilterModule:
    """shardinel.redis topology filters."""

    def filters(self):
        return {'topology': topology}
