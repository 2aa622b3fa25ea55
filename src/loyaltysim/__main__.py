"""``python -m loyaltysim`` runs the command line."""

from loyaltysim.cli import main

raise SystemExit(main())
