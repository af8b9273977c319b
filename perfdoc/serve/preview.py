"""`perfdoc serve`: a live preview in the browser that follows the data files as they are saved.

One warm process (the rendering libraries are imported once) puts together the pieces of this
package: the watcher (watch.py) hands each burst of saves, debounced, to the live document
(state.py), which re-validates and renders the same HTML the build writes, and tells the open
pages through server-sent events (server.py); the files in --out are rebuilt in the background
(rebuild.py) whenever anything they are made of changed.
"""

from __future__ import annotations

import signal
import threading

from perfdoc.build.options import BuildOptions
from perfdoc.diagnostics import UserError, display_path, unlocated
from perfdoc.serve.server import PreviewServer
from perfdoc.serve.state import LiveDocument, say
from perfdoc.serve.watch import Debouncer, Watcher


class Preview:
    """The running preview: server, watcher, debouncer and rebuild, started and stopped together."""

    def __init__(self, options: BuildOptions, port: int, *, build_files: bool = True):
        from perfdoc.build.output import refuse_data_dir

        if not options.data_dir.is_dir():
            raise UserError(unlocated(f"数据目录 {display_path(options.data_dir)} 不存在或不是目录（用 --data 指定数据目录）"))
        refuse_data_dir(options.out_dir, options.data_dir)
        self.live = LiveDocument(options, build_files=build_files)
        self.server = PreviewServer(self.live, port)
        self._debouncer = Debouncer(self.live.refresh)
        self.watcher = Watcher(options, self._debouncer.notify, self.live.show_notice)
        self._serving = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1},
                                         name="perfdoc-http", daemon=True)

    def start(self) -> None:
        self.watcher.start()
        self.live.refresh()
        self._serving.start()

    def stop(self) -> None:
        """Close the streams, stop watching and serving, and release the port."""
        self.watcher.stop()
        self.live.close()
        self._debouncer.close()
        if self._serving.ident is not None:  # started (Ctrl-C may come during the first render)
            self.server.shutdown()
        self.server.server_close()


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def run_serve(options: BuildOptions, port: int) -> int:
    """`perfdoc serve`: runs until Ctrl-C (which cli.main turns into exit status 130).

    SIGTERM (a service manager, `kill`) stops it the same clean way. Ctrl-C works even when serve
    was started with SIGINT ignored (under `nohup`, as a background job of a script, by some CI
    runners): a child inherits that, and a preview nobody can stop with Ctrl-C is no use.
    """
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    preview = Preview(options, port)
    try:  # the address first: a page opened before the first render waits in the listen queue
        say(f"预览（preview）: {preview.server.url}   正在监视 {display_path(options.data_dir)} 和 "
            f"{display_path(options.templates_dir)}，保存即更新；PDF、DOCX 和 XLSX 写到 {display_path(options.out_dir)}。"
            "按 Ctrl-C 停止。")
        preview.start()
        threading.Event().wait()  # the main thread only waits for Ctrl-C
    finally:
        preview.stop()
    return 0
