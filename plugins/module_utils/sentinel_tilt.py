# -*- coding: utf-8 -*-
# Copyright: shardinel.redis developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A Sentinel's TILT mode, from its INFO sentinel section.

A Sentinel enters TILT when its timer finds the clock jumped or the process stalled (for
example after its host was frozen). For ``tilt-period`` (30 s by default, readable with
SENTINEL DEBUG since Redis 7.0) after the last such event it keeps watching but does not act:
it does not report masters as down to its peers, so it does not help reach a quorum.
"""

from __future__ import annotations

import time

from ansible_collections.shardinel.redis.plugins.module_utils.sentinel_access import ShardinelError

DEFAULT_TILT_PERIOD_MS = 30000


def _pairs(reply):
    if isinstance(reply, dict):
        return reply
    items = list(reply or [])
    return dict(zip(items[0::2], items[1::2]))


def tilt_period_ms(endpoint):
    """The Sentinel's tilt-period (SENTINEL DEBUG, Redis >= 7.0), or the default when it cannot be read."""
    try:
        debug = _pairs(endpoint.sentinel('DEBUG'))
    except ShardinelError:
        return DEFAULT_TILT_PERIOD_MS
    value = debug.get('TILT-PERIOD', debug.get('tilt-period'))
    return int(value) if str(value).isdigit() else DEFAULT_TILT_PERIOD_MS


def read_tilt(endpoint):
    """TILT state of one Sentinel as a dict.

    ``tilt`` (bool), ``tilt_since_seconds`` (int, or None when not in TILT or not reported),
    ``tilt_remaining_seconds`` (int, or None when not in TILT): seconds until TILT ends unless
    it is triggered again. Raises ShardinelError when the user may not run INFO.
    """
    info = endpoint.call('INFO', 'sentinel')
    tilt = str(info.get('sentinel_tilt', '0')) == '1'
    since = info.get('sentinel_tilt_since_seconds')
    since = int(since) if tilt and since is not None and int(since) >= 0 else None
    remaining = None
    if tilt:
        period = tilt_period_ms(endpoint) // 1000
        remaining = max(0, period - since) if since is not None else period
    return dict(tilt=tilt, tilt_since_seconds=since, tilt_remaining_seconds=remaining)


def unknown_tilt(error):
    """The TILT fields when INFO could not be run, with the reason."""
    return dict(tilt=None, tilt_since_seconds=None, tilt_remaining_seconds=None, tilt_error=str(error))


def describe_tilt(address, state, now=None):
    """'Sentinel a:p is in TILT mode since 3 s, until about 10:51:02 UTC' (unless triggered again)."""
    now = time.time() if now is None else now
    since = '' if state['tilt_since_seconds'] is None else ' for %d s' % state['tilt_since_seconds']
    until = time.strftime('%H:%M:%S UTC', time.gmtime(now + (state['tilt_remaining_seconds'] or 0)))
    return 'Sentinel %s is in TILT mode%s, until about %s unless it is triggered again' % (address, since, until)
