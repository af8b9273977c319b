"""Stage 5: the build. `build()` as one readable function (pipeline), the content-addressed cache,
all-or-nothing output, the no-change replay (uptodate), checks before layout (preflight), the
build options and the progress line."""
