# -*- coding: utf-8 -*-
# Copyright: shardinel.redis developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the redis_exporter role's decisions (plugin_utils/redis_exporter_plan.py; documented in the .yml files)."""

from __future__ import annotations

from ansible_collections.shardinel.redis.plugins.plugin_utils import redis_exporter_plan as plan


def redis_exporter_targets(layout, sentinels, host, settings):
    return plan.targets(layout, sentinels, host, settings)


def redis_exporter_port_problems(exporters, address_hosts, listen_ip, plaintext_offset=None):
    return plan.port_problems(exporters, plan.taken_ports(address_hosts, listen_ip, plaintext_offset), listen_ip)


def redis_exporter_restarts(names, shared_changed, changed_targets, started):
    return plan.restarts(names, bool(shared_changed), changed_targets, started)


class FilterModule:
    """shardinel.redis filters of the redis_exporter role."""

    def filters(self):
        return {
            'redis_exporter_targets': redis_exporter_targets,
            'redis_exporter_port_problems': redis_exporter_port_problems,
            'redis_exporter_restarts': redis_exporter_restarts,
        }
