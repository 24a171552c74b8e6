"""Start haimaker's SCIM provisioning service: `python run.py [serve|token|migrate|audit] …`."""

import sys

from app.cli import main

if __name__ == "__main__":
    sys.exit(main())
