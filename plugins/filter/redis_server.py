# -*- coding: utf-8 -*-
# Copyright: shardinel.redis developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the redis_server role's decisions (plugin_utils/redis_server_plan.py; documented in the .yml files)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.shardinel.redis.plugins.plugin_utils import redis_server_plan as plan


def host_shards(layout, host):
    return plan.host_shards(layout, host)


def redis_server_guards(hostvars, servers, layout, defaults):
    hosts = []
    for host in servers:
        variables = hostvars[host]
        settings = {}
        for name in plan.GUARD_VARIABLES:
            value = variables.get(name, defaults.get(name))
            try:
                settings[name] = int(value)
            except (TypeError, ValueError):
                raise AnsibleFilterError('%s must be a whole number on %s, got %r' % (name, host, value))
        hosts.append(dict(host=host, settings=settings))
    problems, warnings = plan.guard_report(hosts, layout)
    return dict(problems=problems, warnings=warnings)


def redis_server_port_takeovers(instances, found, host):
    return plan.port_takeovers(instances, found, host)


def redis_server_removal_problems(removed, found, published, host, remove_nonempty):
    return plan.removal_problems(removed, found, published or {}, host, bool(remove_nonempty))


def redis_server_layout(settings):
    return plan.layout_items(settings)


def redis_server_restarts(report, instances, host, host_ip, config_dir, unit):
    return plan.changed_instances(report, instances, host, host_ip, config_dir, unit)


def restart_order(queue, shards, layout, host_ips):
    return plan.restart_order(queue, shards or {}, layout, host_ips)


def restart_rows(results):
    return plan.restart_rows(results)


class FilterModule:
    """shardinel.redis filters of the redis_server role."""

    def filters(self):
        return {
            'host_shards': host_shards,
            'redis_server_guards': redis_server_guards,
            'redis_server_port_takeovers': redis_server_port_takeovers,
            'redis_server_removal_problems': redis_server_removal_problems,
            'redis_server_layout': redis_server_layout,
            'redis_server_restarts': redis_server_restarts,
            'restart_order': restart_order,
            'restart_rows': restart_rows,
        }
