"""``python -m skmtl compare ...``: the command line of :mod:`skmtl._cli`."""

from ._cli import main

if __name__ == "__main__":
    raise SystemExit(main())
