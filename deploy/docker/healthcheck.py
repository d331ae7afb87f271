"""Container health check: exit 0 when the server's GET /health answers 200, 1 otherwise (503 while loading).

Used by the images' HEALTHCHECK; reads the port from ALETHEIA_PORT (default 8000) and needs only the stdlib,
so the slim runtime images carry no curl.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request


def main() -> int:
    url = f"http://127.0.0.1:{os.environ.get('ALETHEIA_PORT', '8000')}/health"
    try:
        with urllib.request.urlopen(url, timeout=4) as response:
            return 0 if response.status == 200 else 1
    except (urllib.error.URLError, OSError) as exc:
        print(f"{url}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
