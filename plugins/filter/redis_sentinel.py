# -*- coding: utf-8 -*-
# Copyright: shardinel.redis developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the redis_sentinel role's decisions (plugin_utils/redis_sentinel_plan.py; documented in the .yml files)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.shardinel.redis.plugins.plugin_utils import redis_sentinel_plan as plan


def redis_sentinel_layout(settings):
    return plan.layout_items(settings)


def redis_sentinel_restarts(report, ports, host, config_dir, unit):
    return plan.changed_sentinels(report, ports, host, config_dir, unit)


def redis_sentinel_monitors_pending(views, sentinels, shards, current_masters, prune):
    try:
        return plan.monitors_pending(views, sentinels, shards, current_masters, prune)
    except (ValueError, KeyError, TypeError) as error:
        raise AnsibleFilterError('redis_sentinel_monitors_pending: %s' % error)


class FilterModule:
    """shardinel.redis filters of the redis_sentinel role."""

    def filters(self):
        return {'redis_sentinel_layout': redis_sentinel_layout, 'redis_sentinel_restarts': redis_sentinel_restarts,
                'redis_sentinel_monitors_pending': redis_sentinel_monitors_pending}
