# -*- coding: utf-8 -*-
# Copyright: shardinel.redis developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which of a list of packages are not installed on the host (dpkg, else rpm)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def missing_packages(module, packages):
    """The packages of ``packages`` that the host's package database does not list as installed, in their order.

    With neither dpkg-query nor rpm on the host, every package counts as missing.
    """
    if not packages:
        return []
    dpkg_query = module.get_bin_path('dpkg-query')
    rpm = module.get_bin_path('rpm')
    if dpkg_query:
        output = module.run_command([dpkg_query, '--show', '--showformat=${Package} ${db:Status-Status}\\n'] + list(packages))[1]
        installed = set(line.split()[0] for line in output.splitlines() if line.endswith(' installed'))
    elif rpm:
        output = module.run_command([rpm, '--query', '--queryformat', '%{NAME}\\n'] + list(packages))[1]
        installed = set(output.splitlines())
    else:
        installed = set()
    return [package for package in packages if package not in installed]
