"""A department's own repository: `init` writes one (data, schema, CI, hooks, editor settings, perfdoc
pinned), `doctor` says whether this machine can build it and what to install when it cannot."""
