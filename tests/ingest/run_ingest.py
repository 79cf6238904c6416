"""Run ingest over drop folders in a child process (for crash and concurrency tests).

Usage: python -m tests.ingest.run_ingest DB_URL FOLDER [FOLDER ...]
"""

import sys
from pathlib import Path

from feeds.ingest import ingest_drop

if __name__ == "__main__":
    url = sys.argv[1]
    for folder in sys.argv[2:]:
        ingest_drop(url, Path(folder))
