# -*- coding: utf-8 -*-
# Copyright: shardinel.redis developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """The Sentinels and their user, shared by every module of the action group shardinel.redis.sentinel
    (module_utils/connection_options.py, sentinel_argument_spec)."""

    DOCUMENTATION = r'''
options:
  sentinels:
    description:
      - Sentinel addresses as V(host:port) strings, for example V(10.0.0.1:26379).
      - The module asks them which shards (Sentinel service names) exist and where their masters are.
    type: list
    elements: str
    required: true
  sentinel_username:
    description:
      - ACL user on the Sentinels.
      - Omit it when the Sentinels only use C(requirepass) or no authentication.
    type: str
  sentinel_password:
    description:
      - Password of O(sentinel_username) (or the Sentinels' C(requirepass)).
    type: str
attributes:
  action_group:
    description: Use C(group/shardinel.redis.sentinel) in C(module_defaults) to set the Sentinel and TLS options once.
    support: full
    membership:
      - shardinel.redis.sentinel
'''
