"""`perfdoc serve`, the live preview, beside the pipeline (it calls perfdoc.build for the files):
preview.py puts together the watcher (watch.py), the live document and its panels (state.py,
panels.py), the background rebuild (rebuild.py) and the HTTP server (server.py)."""
