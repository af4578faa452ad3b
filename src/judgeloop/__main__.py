"""Allow ``python -m judgeloop``."""

from judgeloop.cli import main

if __name__ == "__main__":
    main()
