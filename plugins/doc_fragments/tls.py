# -*- coding: utf-8 -*-
# Copyright: shardinel.redis developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """TLS options shared by every shardinel.redis module that connects to Redis or Sentinel
    (module_utils/connection_options.py, tls_argument_spec)."""

    DOCUMENTATION = r'''
options:
  tls:
    description:
      - Connect to Sentinels and Redis instances over TLS, with the same settings for both (the Sentinels'
        C(tls-port) and each instance's C(tls-port) are the addresses given or announced).
      - This covers every connection the module makes, including those of a shardinel client it writes through.
    type: bool
    default: false
  tls_ca_file:
    description:
      - CA bundle used to verify the servers' certificates. Requires O(tls=true).
    type: path
  tls_cert_file:
    description:
      - Client certificate for mutual TLS. Requires O(tls=true) and O(tls_key_file).
    type: path
  tls_key_file:
    description:
      - Private key of O(tls_cert_file).
    type: path
  tls_verify:
    description:
      - Verify the servers' certificates against O(tls_ca_file) or the system store.
    type: bool
    default: true
  tls_check_hostname:
    description:
      - Also check that the certificate names the host connected to (its IP address when connecting by address).
      - Requires O(tls_verify=true).
    type: bool
    default: false
'''
