import sys

from rlm_cli import main

sys.exit(main())
