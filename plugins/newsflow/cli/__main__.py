"""``python -m newsflow.cli``."""

from newsflow.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
