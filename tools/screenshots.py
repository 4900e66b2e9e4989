"""Take the README screenshots from the real window (run under Xvfb or offscreen).

    xvfb-run -a -s "-screen 0 1400x900x24" .venv/bin/python tools/screenshots.py

Moments: the demo rig running, paused with measurement cursors, a serial device unplugged,
labelled events on a recording, that recording opened as a file (labels and whole-file
verdicts), and the fine-tune dialog's result.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LINEWATCH_HOME", tempfile.mkdtemp(prefix="lw-shots-"))

from PySide6.QtWidgets import QApplication  # noqa: E402

from desktop.app import model_names, source_from_options, versions  # noqa: E402
from desktop.core.settings import Settings  # noqa: E402
from desktop.sources.serial_port import available_ports  # noqa: E402
from desktop.ui.main_window import MainWindow, WindowServices  # noqa: E402
from tests.support.ptydevice import PtyDevice  # noqa: E402
from tests.support.streams import SensorStream  # noqa: E402

OUT = ROOT / "docs" / "screenshots"


def pump(app: QApplication, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.005)


def shoot(window: MainWindow, name: str) -> None:
    path = OUT / name
    window.grab().scaledToWidth(1100).save(str(path), "PNG", 80)
    print(f"wrote {path} ({path.stat().st_size // 1024} KiB)")


def main() -> None:
    app = QApplication(sys.argv[:1])
    window = MainWindow(Settings(), WindowServices(source_from_options, available_ports,
                                                   versions, model_names))
    window.resize(1280, 800)
    window.show()
    window.connect_source("demo", {})
    pump(app, 6.0)
    shoot(window, "demo-running.png")

    window.span.setValue(0.1)
    pump(app, 1.0)
    window.act_pause.setChecked(True)
    window.act_cursors.setChecked(True)
    window.plot.move_cursors(-0.0751, -0.0452)  # seconds before the newest sample
    pump(app, 0.5)
    shoot(window, "paused-cursors.png")
    window.act_pause.setChecked(False)
    window.act_cursors.setChecked(False)
    window.span.setValue(10.0)
    window.model_panel.model.setCurrentIndex(0)  # a serial sensor: no bearing model

    with tempfile.TemporaryDirectory() as tmp:
        device = PtyDevice(Path(tmp) / "ttyUSB-demo")
        device.plug()
        stream = SensorStream(seed=2)
        window.connect_source(f"serial:{device.link}", {"baud": "115200"})
        pump(app, 0.5)
        device.write(b"\n" + stream.header())
        for _ in range(30):
            device.write(stream.lines(300))
            pump(app, 0.1)
        device.unplug()
        pump(app, 1.5)
        shoot(window, "serial-lost.png")
        window.disconnect_source()

    # Label a recording of the demo rig, then fine-tune on those labels.
    window.model_panel.model.setCurrentIndex(window.model_panel.model.findData("fault-cwru"))
    window.connect_source("demo", {})
    pump(app, 1.0)
    window.toggle_recording()
    pump(app, 20.0)  # healthy (8.8 s), inner race, ball
    t0 = window.acq.recording.first_time
    rig = window.acq.source
    for k in range(8):  # 1 s events, each named after what the rig really played then
        a = t0 + 0.1 + k * 2.4
        label = rig.segment_at(int((a + 0.5) * rig.sample_rate))
        if label == rig.segment_at(int(a * rig.sample_rate)) == rig.segment_at(
                int((a + 1.0) * rig.sample_rate)):
            window.labels.create_label(a, a + 1.0, label, "marked on the demo rig")
    window.span.setValue(20.0)
    window.act_pause.setChecked(True)
    window.act_label_mode.setChecked(True)
    pump(app, 0.6)
    shoot(window, "labels.png")
    window.span.setValue(10.0)
    window.act_pause.setChecked(False)
    window.act_label_mode.setChecked(False)
    window.toggle_recording()
    pump(app, 3.0)
    # The recording opened as a file session: its labels and whole-file verdicts.
    if window.last_recording is not None:
        window.open_file(str(window.last_recording.out))
        pump(app, 8.0)
        shoot(window, "file-session.png")
    dialog = window.open_finetune()
    dialog.resize(1000, 760)
    dialog.mode.setCurrentIndex(dialog.mode.findData("full"))
    dialog.start_training()
    end = time.monotonic() + 120
    while dialog.result is None and time.monotonic() < end:
        pump(app, 0.2)
    pump(app, 0.5)
    path = OUT / "finetune.png"
    dialog.grab().scaledToWidth(900).save(str(path), "PNG", 80)
    print(f"wrote {path}")
    dialog.discard_result()
    dialog.close()
    window.close()


if __name__ == "__main__":
    main()
