"""`python -m lamina` runs the CLI."""

from lamina.cli import main

if __name__ == "__main__":
    main()
