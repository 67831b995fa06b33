# -*- coding: utf-8 -*-
# Copyright: shardinel.redis developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of playbooks/upgrade.yml's decisions (plugin_utils/upgrade_plan.py; documented in the .yml files)."""

from __future__ import annotations

from ansible_collections.shardinel.redis.plugins.plugin_utils import upgrade_plan as plan


def upgrade_versions(lines):
    return plan.versions(lines)


def upgrade_units(layout, sentinels, host):
    return plan.units(layout, sentinels, host)


def upgrade_work(rows, layout, sentinels, host, executables, server_packages):
    return plan.work(rows, layout, sentinels, host, executables, server_packages)


def upgrade_queue(names, host):
    return plan.queue(names, host)


def upgrade_version_rows(hostvars, hosts):
    return plan.version_rows(hostvars, hosts)


def upgrade_pause_rows(switchovers):
    return plan.pause_rows(switchovers)


class FilterModule:
    """shardinel.redis filters of playbooks/upgrade.yml."""

    def filters(self):
        return {
            'upgrade_versions': upgrade_versions,
            'upgrade_units': upgrade_units,
            'upgrade_work': upgrade_work,
            'upgrade_queue': upgrade_queue,
            'upgrade_version_rows': upgrade_version_rows,
            'upgrade_pause_rows': upgrade_pause_rows,
        }
