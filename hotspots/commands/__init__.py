"""Sub-commands of the ``hotspots`` command line, one module each.

Each module defines ``register(subparsers)``, which adds its parser and sets ``func`` to a
function ``(args) -> exit status``. :mod:`hotspots.cli` lists the modules in ``COMMANDS``.
Modules import the library lazily inside ``func`` so that ``hotspots --help`` stays fast.
"""
