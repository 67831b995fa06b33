# -*- coding: utf-8 -*-
# Copyright: shardinel.redis developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which systemd units are neither running nor on their way to it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

RUNNING_STATES = ('active', 'activating', 'reloading')


class UnitStateError(Exception):
    """systemctl gave no state for every unit asked (systemd not running, for example)."""


def inactive_units(module, units):
    """The units of ``units`` whose ``systemctl is-active`` state is not active, activating or reloading (a unit that
    restarts after a delay is activating), in their order."""
    if not units:
        return []
    systemctl = module.get_bin_path('systemctl')
    if not systemctl:
        raise UnitStateError('systemctl is not installed, so the state of the units cannot be read')
    output, errors = module.run_command([systemctl, 'is-active'] + list(units))[1:]
    states = output.split()
    if len(states) != len(units):
        raise UnitStateError('systemctl is-active: %s' % (errors.strip() or output.strip()))
    return [unit for unit, state in zip(units, states) if state not in RUNNING_STATES]
