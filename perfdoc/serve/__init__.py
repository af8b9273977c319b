"""`perfdoc serve`: the live preview, beside the pipeline (it calls perfdoc.build for the files)."""
