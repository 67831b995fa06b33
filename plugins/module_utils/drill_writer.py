# -*- coding: utf-8 -*-
# Copyright: shardinel.redis developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The writer thread of a failover drill: it keeps writing through the client under test and times each success."""

from __future__ import annotations

import threading
import time

WRITER_INTERVAL = 0.005


class Writer(threading.Thread):
    """Writes key after key (prefix:0, prefix:1, ...) through ``client`` until stopped."""

    def __init__(self, client, prefix, ttl):
        super().__init__(name='shardinel-drill-writer', daemon=True)
        self.client = client
        self.prefix = prefix
        self.ttl = ttl
        self.acknowledged = []
        self.success_times = []
        self.errors = 0
        self.stopping = threading.Event()

    def run(self):
        number = 0
        while not self.stopping.is_set():
            key = '%s:%d' % (self.prefix, number)
            try:
                self.client.set(key, str(number), ex=self.ttl)
            except Exception:  # pylint: disable=broad-exception-caught
                self.errors += 1
            else:
                self.acknowledged.append((key, str(number)))
                self.success_times.append(time.monotonic())
            number += 1
            self.stopping.wait(WRITER_INTERVAL)

    def stop(self):
        self.stopping.set()
        self.join()

    def succeeded_after(self, moment):
        return bool(self.success_times) and self.success_times[-1] > moment

    def longest_gap_ms(self, since):
        """Longest time without a successful write, over the stretch that starts at ``since``."""
        times = [t for t in self.success_times if t < since][-1:] + [t for t in self.success_times if t >= since]
        if len(times) < 2:
            return None
        return int(round(max(b - a for a, b in zip(times, times[1:])) * 1000))
