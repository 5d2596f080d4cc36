"""``python -m skmtl compare ...``: the command line of :mod:`skmtl.compare._cli`."""

from .compare._cli import main

if __name__ == "__main__":
    raise SystemExit(main())
