import sys

from perfdoc.cli import main

sys.exit(main())
