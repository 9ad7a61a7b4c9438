"""`python -m bitmapist`: the `bitmapist` command."""

from bitmapist.cli import main

if __name__ == "__main__":
    main()
