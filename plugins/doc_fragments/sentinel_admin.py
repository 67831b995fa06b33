# -*- coding: utf-8 -*-
# Copyright: shardinel.redis developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """The Sentinel admin user options (module_utils/connection_options.py, sentinel_admin_argument_spec)."""

    DOCUMENTATION = r'''
options:
  sentinel_admin_username:
    description:
      - Sentinel ACL user allowed to run the commands the discovery user may not, such as C(INFO),
        C(SENTINEL CKQUORUM) and C(SENTINEL FAILOVER), as the Sentinel admin user (C(shardinel_sentinel_admin_username)) is.
      - O(sentinel_username) stays the discovery user that the shardinel client uses.
      - When omitted, O(sentinel_username) is used for those commands too.
    type: str
  sentinel_admin_password:
    description:
      - Password of O(sentinel_admin_username).
    type: str
'''
