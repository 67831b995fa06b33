"""Stand-in for ansible-test's pip bootstrap script, for machines that reach PyPI only.

ansible-test fetches get-pip.py from a host outside PyPI; this does the same job
with the interpreter's own ensurepip and then installs the requested packages
(normally the pinned pip) from the configured package index.
"""
import subprocess
import sys

IGNORED = {"--no-setuptools", "--no-wheel"}


def main():
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"],
                          stdout=subprocess.DEVNULL)
    args = [arg for arg in sys.argv[1:] if arg not in IGNORED]
    subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet"] + args)


if __name__ == "__main__":
    main()
