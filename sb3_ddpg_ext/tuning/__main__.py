"""``python -m sb3_ddpg_ext.tuning tune|best ...``: the same commands as ``sb3-ddpg tune|best``."""

import sys

from sb3_ddpg_ext.cli import main

if __name__ == "__main__":
    args = sys.argv[1:]
    if not args or args[0] not in ("tune", "best"):
        print("usage: python -m sb3_ddpg_ext.tuning {tune,best} ...", file=sys.stderr)
        sys.exit(2)
    sys.exit(main(args))
