# -*- coding: utf-8 -*-
# Copyright: shardinel.redis developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the backup and restore playbooks' decisions (plugin_utils/backup_plan.py; documented in the .yml files)."""

from __future__ import annotations

from ansible_collections.shardinel.redis.plugins.plugin_utils import backup_plan as plan


def restore_assignment(plans, wanted, hosts):
    return plan.restore_assignment(plans or {}, list(wanted or []), list(hosts or []))


def restore_rows(results, assignments):
    return plan.restore_rows(results or {}, assignments or {})


def backup_rows(results):
    return plan.backup_rows(results or {})


class FilterModule:
    """shardinel.redis filters of playbooks/backup.yml and playbooks/restore.yml."""

    def filters(self):
        return {
            'backup_rows': backup_rows,
            'restore_assignment': restore_assignment,
            'restore_rows': restore_rows,
        }
